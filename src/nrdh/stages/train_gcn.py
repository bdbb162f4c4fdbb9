"""Stage train_gcn: a run's GCN autoencoders (Table 1, L1 of Eq. 8), one per code length of
base.bits -> gcn_<bits>.pt, their loss histories, and the node representations g(x) of the
training images from each -> node_reps_<bits>.h5.

One process serves every code length and writes g(x) with the network it just trained: each
GCN trains in one to a few seconds, while a process of its own would pay torch's start-up
(`import torch` and the torch._dynamo that torch.optim imports, about 3 s) again. The hash
networks, minutes each at the paper's scale, stay one job per code length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nrdh import io, paths, train
from nrdh.config import as_dict
from nrdh.errors import NRDHError
from nrdh.features_file import read_features
from nrdh.models import GCNAutoencoder
from nrdh.params import GCNConfig, NodeRepConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command); path templates with field bits (`nrdh.paths`)."""

    variant: str  # a key of variants: its overrides of the params
    seed: int  # one of base.seeds
    features: Path  # features.h5
    graphs: Path  # graphs.h5
    out: str  # the checkpoints
    history: str  # their loss histories (JSON)
    reps: str  # the node_reps files


class GCNFiles(NamedTuple):
    """What one code length's GCN writes: its output width is the code length."""

    bits: int  # the code length, a value of base.bits
    out: Path  # the checkpoint
    history: Path  # its loss history (JSON)
    reps: Path  # g(x) of the training images


def gcn_files(args: Args, bits: Sequence[int]) -> list[GCNFiles]:
    """The files of each code length of `bits` (base.bits), from the flags' templates."""
    templates = (args.out, args.history, args.reps)
    return [GCNFiles(b, *(paths.fill(t, bits=b) for t in templates)) for b in bits]


def run(p: Params, args: Args) -> None:
    """The stage under params `p` (the variant's) with its flags `args`."""
    train_gcn_stage(
        features_path=args.features,
        graphs_path=args.graphs,
        seed=args.seed,
        runs=gcn_files(args, p.base.bits),
        cfg=p.gcn,
        reps_cfg=p.node_reps,
    )


def _read_graphs(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train indices, nodes, valid, adjacency) from graphs.h5."""
    with io.open_h5(path, "graphs") as f:
        return (
            io.require(f, "train", np.int64, 1)[()],
            io.require(f, "nodes", np.int64, 3)[()],
            io.require(f, "valid", np.uint8, 3)[()].astype(bool),
            io.require(f, "adjacency", np.float32, 4)[()],
        )


def _train_features(features_path: Path, train_idx: np.ndarray) -> np.ndarray:
    feats = read_features(features_path)
    if not np.array_equal(feats.split["train"], train_idx):
        raise NRDHError(
            f"{features_path}: its train split differs from the graphs' (re-run build_graphs)"
        )
    return np.ascontiguousarray(feats.features[train_idx], dtype=np.float32)


def train_gcn_stage(
    *,
    features_path: Path,
    graphs_path: Path,
    seed: int,
    runs: Sequence[GCNFiles],
    cfg: GCNConfig,
    reps_cfg: NodeRepConfig,
) -> None:
    """Stages 3 and 4 at each code length of `runs`: the GCN autoencoder (Table 1, L1 of
    Eq. 8) of that many outputs on the training features and graphs, its loss history, and
    g(x) of every training image from it (the run's variant is already applied to `cfg` and
    `reps_cfg`). Each length trains from `seed` alone, so its bytes are those a process of
    its own would write."""
    train_idx, nodes, valid, adj = _read_graphs(graphs_path)
    x = _train_features(features_path, train_idx)
    inputs = {"features": features_path, "graphs": graphs_path}
    # With MKL's CNR branch (nrdh.numerics) 1 and 2 threads give other weights and reps, so
    # the bytes must not follow the machine's cores.
    torch.set_num_threads(cfg.threads)
    for bits, out, history_path, reps_path in runs:
        prov = io.provenance({"base.seed": seed, "gcn": as_dict(cfg), "bits": bits}, inputs)
        torch.manual_seed(seed)
        model, history = train.train_gcn(
            x,
            nodes,
            valid,
            adj,
            bits,
            cfg,
            seed,
            out.with_name(out.name + ".ckpt"),
            train.config_digest(prov),
        )
        io.save_torch(
            {
                "kind": "gcn",
                "schema_version": io.CHECKPOINT_SCHEMA_VERSION,
                "arch": {"in_dim": x.shape[1], "bits": bits, "hidden": list(cfg.hidden)},
                # how g(x) is computed from it: the training's graphs and thread count
                "identity_graph": cfg.identity_graph,
                "threads": cfg.threads,
                "provenance": prov,
                "state_dict": model.state_dict(),
            },
            out,
        )
        io.write_json(history_path, history)
        reps = train.node_representations(model, x, nodes, valid, adj, cfg.identity_graph)
        _write_node_reps(reps, train_idx, bits, reps_cfg, reps_path, {**inputs, "gcn": out})


def load_gcn(path: Path, bits: int) -> tuple[GCNAutoencoder, bool, int]:
    """The trained `bits`-output GCN autoencoder of a checkpoint, rebuilt from its own
    constructor arguments (not the params model, so it loads whatever keys gcn gains),
    with its identity_graph setting and training thread count."""
    ckpt = io.load_torch(path, "gcn")
    io.check_bits(path, ckpt["arch"]["bits"], bits)
    model = GCNAutoencoder(**ckpt["arch"])
    model.load_state_dict(ckpt["state_dict"])
    return model, ckpt["identity_graph"], ckpt["threads"]


def _write_node_reps(
    reps: np.ndarray,
    train_idx: np.ndarray,
    bits: int,
    cfg: NodeRepConfig,
    out: Path,
    inputs: dict[str, Path],
) -> None:
    """node_reps_<bits>.h5: g(x) (n_train, bits) of the training rows `train_idx`, centred
    when `cfg.center`, with the training mean and the bit imbalance; `inputs` the files the
    provenance records (features, graphs, the GCN checkpoint)."""
    mean = reps.mean(0)
    if cfg.center:
        reps = reps - mean
    balance = (reps >= 0).mean(0)
    prov = io.provenance({"node_reps": as_dict(cfg)}, inputs)
    with io.create_h5(out, "node_reps", prov) as f:
        f.create_dataset("train", data=train_idx)
        f.create_dataset("reps", data=reps.astype(np.float32))
        f.create_dataset("train_mean", data=mean.astype(np.float32))
        f.attrs["bits"] = bits
        f.attrs["centered"] = cfg.center
        f.attrs["bit_imbalance"] = float(np.abs(balance - 0.5).mean())
    print(f"node reps: {reps.shape}, mean |P(bit=1) - 0.5| = {np.abs(balance - 0.5).mean():.3f}")
