"""Stage build_graphs: M-node graphs with re-weighted adjacency (Eqs. 2-4) -> graphs.h5.

numpy only, so it never imports torch (seconds per process in the default run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nrdh import graph, io, shards
from nrdh.config import as_dict
from nrdh.features_file import check_finite, open_features, read_rows
from nrdh.params import GraphConfig, Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    variant: str  # a key of variants: its overrides of the params
    seed: int  # one of base.seeds
    features: Path  # features.h5
    out: Path  # graphs.h5


def run(p: Params, args: Args) -> None:
    """The stage under params `p` (the variant's) with its flags `args`."""
    build_graphs_stage(features_path=args.features, out=args.out, cfg=p.graph, seed=args.seed)


def build_graphs_stage(*, features_path: Path, out: Path, cfg: GraphConfig, seed: int) -> None:
    """Stage 2: M-node graphs over the training split with U' (Eqs. 2-4) -> graphs.h5.

    Graphs are built and written in blocks of about `shards.BLOCK_BYTES` of node features,
    each reading only its rows (sorted), so memory does not grow with the training set;
    k-means batching needs every training feature at once and loads them.
    """
    m, parts = cfg.M, cfg.partitions
    rng = np.random.default_rng(seed)
    eye = np.eye(m, dtype=np.float32)
    prov = io.provenance({"base.seed": seed, "graph": as_dict(cfg)}, {"features": features_path})
    with open_features(features_path) as feats, io.create_h5(out, "graphs", prov) as f:
        train_idx = feats.split["train"]
        window = shards.block_rows(4 * feats.attrs["z"])
        x_all = (
            _read_checked(features_path, feats.features, train_idx, window)
            if cfg.batching == "kmeans"
            else None
        )
        b = -(-len(train_idx) // m)
        f.create_dataset("train", data=train_idx)
        nodes = f.create_dataset("nodes", shape=(parts, b, m), dtype=np.int64)
        valid = f.create_dataset("valid", shape=(parts, b, m), dtype=np.uint8)
        adj = f.create_dataset("adjacency", shape=(parts, b, m, m), dtype=np.float32)
        isolated = degree = count = 0
        step = max(1, window // m)  # graphs per block
        for k in range(parts):
            order = graph.kmeans_order(x_all, m, seed + k) if x_all is not None else None
            n_k, v_k = graph.partition(len(train_idx), m, rng, order)
            nodes[k] = n_k
            valid[k] = v_k.astype(np.uint8)
            for s in range(0, b, step):
                rows = train_idx[n_k[s : s + step]]  # (G, M) feature rows
                needed = np.unique(rows)
                x = _read_checked(features_path, feats.features, needed, window)
                x = x[np.searchsorted(needed, rows)]  # (G, M, z)
                a_k = adjacency(x, cfg)
                adj[k, s : s + step] = a_k
                offdiag, v = a_k * (1 - eye), v_k[s : s + step]
                isolated += int((offdiag.sum(-1) == 0)[v].sum())
                degree += int((offdiag > 0).sum(-1)[v].sum())
                count += int(v.sum())
        f.attrs["M"] = m
        f.attrs["partitions"] = parts
        f.attrs["isolated_fraction"] = isolated / count
        f.attrs["mean_degree"] = degree / count
    print(
        f"graphs: {b} graphs of {m} nodes x {parts} partition(s), "
        f"{isolated / count:.1%} of nodes without a neighbour above rho"
    )


def adjacency(x: np.ndarray, cfg: GraphConfig) -> np.ndarray:
    """U' (Eqs. 2-4) of graphs of node features x, (B, M, z) -> (B, M, M), as the graph
    section `cfg` sets it (`nrdh.graph.build_adjacency`)."""
    return graph.build_adjacency(
        x,
        rho=cfg.rho,
        p=cfg.p,
        distance=cfg.distance,
        quantile=cfg.rho_quantile if cfg.rho_mode == "quantile" else None,
        self_in_rowsum=cfg.self_in_rowsum,
        isolated_weight=cfg.isolated_weight,
    )


def _read_checked(path: Path, src: Any, rows: np.ndarray, window: int) -> np.ndarray:
    """Feature rows `rows` (sorted) read `window` at a time, rejecting NaN/Inf rows."""
    x = read_rows(src, rows, window)
    check_finite(path, x, rows)
    return x
