"""Stage 1 (node representation learning): features, graphs, GCN autoencoder, g(x)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrdh import features, graph, io, shards, train
from nrdh.artifacts import check_finite, open_features, read_features, read_rows
from nrdh.config import as_dict, from_mapping
from nrdh.data import load_dataset
from nrdh.errors import NRDHError
from nrdh.models import GCNAutoencoder
from nrdh.params import DatasetConfig, FeatureConfig, GCNConfig, GraphConfig, NodeRepConfig


def extract_features_stage(
    *, out: Path, dataset: str, ds_cfg: DatasetConfig, f_cfg: FeatureConfig, seed: int
) -> None:
    """Stage 1 unsharded: features.h5 in one call (one shard, merged: the same bytes as any
    sharded run)."""
    shards.run_unsharded(
        lambda shard: extract_shard_stage(
            out=shard, dataset=dataset, ds_cfg=ds_cfg, f_cfg=f_cfg, seed=seed, shard=0, count=1
        ),
        lambda folder: shards.merge_features(folder, 1, out),
        out,
    )


def extract_shard_stage(
    *,
    out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    f_cfg: FeatureConfig,
    seed: int,
    shard: int,
    count: int,
) -> None:
    """Stage 1: features, labels, ids and split members of shard `shard` of `count`."""
    images = load_dataset(ds_cfg, seed)
    prov = io.provenance(
        {"base.seed": seed, f"datasets.{dataset}": as_dict(ds_cfg), "features": as_dict(f_cfg)}
    )
    features.extract_shard(images, f_cfg, out, prov, shard, count)


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
                a_k = graph.build_adjacency(torch.from_numpy(x), cfg).numpy().astype(np.float32)
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


def _read_checked(path: Path, src: Any, rows: np.ndarray, window: int) -> np.ndarray:
    """Feature rows `rows` (sorted) read `window` at a time, rejecting NaN/Inf rows."""
    x = read_rows(src, rows, window)
    check_finite(path, x, rows)
    return x


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
    out: Path,
    history_out: Path,
    bits: int,
    cfg: GCNConfig,
    seed: int,
) -> None:
    """Stage 3: the GCN autoencoder (Table 1, L1 of Eq. 8) -> gcn_<bits>.pt and its loss history."""
    train_idx, nodes, valid, adj = _read_graphs(graphs_path)
    x = _train_features(features_path, train_idx)
    inputs = {"features": features_path, "graphs": graphs_path}
    prov = io.provenance({"base.seed": seed, "gcn": as_dict(cfg), "bits": bits}, inputs)
    run_id = train.config_digest(prov)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    model, history = train.train_gcn(
        x, nodes, valid, adj, bits, cfg, seed, out.with_name(out.name + ".ckpt"), run_id
    )
    io.save_torch(
        {
            "kind": "gcn",
            "schema_version": io.SCHEMA_VERSION,
            "bits": bits,
            "in_dim": x.shape[1],
            "config": as_dict(cfg),
            "provenance": prov,
            "state_dict": model.state_dict(),
        },
        out,
    )
    io.write_json(history_out, history)


def dump_node_reps_stage(
    *, features_path: Path, graphs_path: Path, model_path: Path, out: Path, cfg: NodeRepConfig
) -> None:
    """Stage 4: g(x) of every training image from the trained encoder -> node_reps_<bits>.h5."""
    ckpt = io.load_torch(model_path, "gcn")
    gcn_cfg = from_mapping(GCNConfig, ckpt["config"], f"{model_path}:config")
    model = GCNAutoencoder(ckpt["in_dim"], ckpt["bits"], gcn_cfg.hidden)
    model.load_state_dict(ckpt["state_dict"])
    train_idx, nodes, valid, adj = _read_graphs(graphs_path)
    x = _train_features(features_path, train_idx)
    reps = train.node_representations(model, x, nodes, valid, adj, gcn_cfg.identity_graph)
    mean = reps.mean(0)
    if cfg.center:
        reps = reps - mean
    balance = (reps >= 0).mean(0)
    prov = io.provenance(
        {"node_reps": as_dict(cfg)},
        {"features": features_path, "graphs": graphs_path, "gcn": model_path},
    )
    with io.create_h5(out, "node_reps", prov) as f:
        f.create_dataset("train", data=train_idx)
        f.create_dataset("reps", data=reps.astype(np.float32))
        f.create_dataset("train_mean", data=mean.astype(np.float32))
        f.attrs["bits"] = ckpt["bits"]
        f.attrs["centered"] = cfg.center
        f.attrs["bit_imbalance"] = float(np.abs(balance - 0.5).mean())
    print(f"node reps: {reps.shape}, mean |P(bit=1) - 0.5| = {np.abs(balance - 0.5).mean():.3f}")
