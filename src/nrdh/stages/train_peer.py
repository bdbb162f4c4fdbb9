"""Stage train_peer: a deep unsupervised peer (SSDH, GreedyHash, BiHalf, DeepBit, CIBHash, and
any a params block adds; docs/PEERS.md): the same hash network, images, split and features as
NRDH, trained with the peer's objective."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh import objectives
from nrdh.config import as_dict
from nrdh.features_file import open_features, read_rows
from nrdh.hash_network import HasherArgs, HasherJob, fit_hash_network
from nrdh.params import Params
from nrdh.peers import Peer, PeerConfig, hasher_config
from nrdh.shards import block_rows


@dataclass(frozen=True)
class Args(HasherArgs):
    """The stage's flags (dvc.yaml's command): the training stages' own, and these."""

    peer: str  # a key of peers
    features: Path  # features.h5: the split, and the similarities some objectives need


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`: hasher with the peer's overrides."""
    peer_cfg = p.peers[args.peer]
    job = HasherJob.of(p, args, hasher_config(p.hasher, peer_cfg))
    train_peer_stage(
        features_path=args.features, job=job, peer=p.registry[args.peer], peer_cfg=peer_cfg
    )


def train_peer_stage(
    *, features_path: Path, job: HasherJob, peer: Peer, peer_cfg: PeerConfig
) -> None:
    """A peer's hash network -> models/<ds>/<peer>/<seed>/hasher_<bits>.pt (the checkpoint
    format of NRDH's, so the same code stages compute its codes). Feature similarities, where
    the objective needs them, come from the training rows of features.h5."""
    with open_features(features_path) as feats:
        train_idx = feats.split["train"]
        x = read_rows(feats.features, train_idx, block_rows(4 * feats.attrs["z"]))
    images = job.data.load()
    fit_hash_network(
        job,
        images,
        train_idx,
        objectives.build_objective(peer, peer_cfg, x, job.bits, train_idx),
        {"features": features_path},
        {f"peers.{peer.name}": as_dict(peer_cfg), "bits": job.bits},
    )
