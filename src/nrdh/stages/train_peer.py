"""Deep unsupervised peers (SSDH, GreedyHash, BiHalf, DeepBit, CIBHash, and any a params block
adds) as a stage: the same hash network, images, split and features as NRDH, trained with the
peer's objective."""

from __future__ import annotations

from pathlib import Path

from nrdh import objectives
from nrdh.artifacts import open_features, read_rows
from nrdh.config import as_dict
from nrdh.data import load_dataset
from nrdh.params import DatasetConfig, HasherConfig
from nrdh.peers import Peer, PeerConfig, hasher_config
from nrdh.pipeline.hashing import fit_hash_network
from nrdh.shards import block_rows


def train_peer_stage(
    *,
    features_path: Path,
    out: Path,
    history_out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    peer: Peer,
    peer_cfg: PeerConfig,
    hasher_cfg: HasherConfig,
    bits: int,
    data_seed: int,
    seed: int,
) -> None:
    """A peer's hash network -> models/<ds>/<peer>/<seed>/hasher_<bits>.pt (the checkpoint
    format of NRDH's, so the same code stages compute its codes). Feature similarities, where
    the objective needs them, come from the training rows of features.h5."""
    cfg = hasher_config(hasher_cfg, peer_cfg)
    with open_features(features_path) as feats:
        train_idx = feats.split["train"]
        x = read_rows(feats.features, train_idx, block_rows(4 * feats.attrs["z"]))
    images = load_dataset(ds_cfg, data_seed)
    fit_hash_network(
        images=images,
        train_idx=train_idx,
        objective=objectives.build_objective(peer, peer_cfg, x, bits, train_idx),
        bits=bits,
        out=out,
        history_out=history_out,
        dataset=dataset,
        ds_cfg=ds_cfg,
        cfg=cfg,
        data_seed=data_seed,
        seed=seed,
        inputs={"features": features_path},
        extra_params={f"peers.{peer.name}": as_dict(peer_cfg), "bits": bits},
    )
