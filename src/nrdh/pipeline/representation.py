"""Stage 1 (node representation learning): features, graphs, GCN autoencoder, g(x)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrdh import features, graph, io, train
from nrdh.artifacts import read_features
from nrdh.config import as_dict, from_mapping
from nrdh.data import load_dataset
from nrdh.errors import NRDHError
from nrdh.models import GCNAutoencoder
from nrdh.pipeline.common import dataset_config, load_section, seed_of


@dataclass(frozen=True)
class NodeRepConfig:
    """Node-representation dump (params.yaml section ``node_reps``)."""

    # Beyond the paper: subtract the training mean from g(x) before it becomes the hash
    # network's target, so sign(g(x)) is balanced. False = the paper.
    center: bool = False


def extract_features_stage(params: dict[str, Any], dataset: str, out: Path) -> None:
    """Stage 1: image features of every item, labels, ids and the split -> features.h5."""
    seed = seed_of(params)
    ds_cfg = dataset_config(params, dataset)
    f_cfg = load_section(params, "features", features.FeatureConfig)
    images = load_dataset(ds_cfg, seed)
    prov = io.provenance(
        {"base.seed": seed, f"datasets.{dataset}": as_dict(ds_cfg), "features": as_dict(f_cfg)}
    )
    features.extract_features(images, f_cfg, out, prov)


def build_graphs_stage(params: dict[str, Any], features_path: Path, out: Path) -> None:
    """Stage 2: M-node graphs over the training split with U' (Eqs. 2-4) -> graphs.h5."""
    seed = seed_of(params)
    cfg = load_section(params, "graph", graph.GraphConfig)
    feats = read_features(features_path)
    train_idx = feats.split["train"]
    x = feats.features[train_idx]
    rng = np.random.default_rng(seed)
    nodes, valid, adj = [], [], []
    for k in range(cfg.partitions):
        order = graph.kmeans_order(x, cfg.M, seed + k) if cfg.batching == "kmeans" else None
        n_k, v_k = graph.partition(len(train_idx), cfg.M, rng, order)
        a_k = torch.cat(
            [
                graph.build_adjacency(torch.from_numpy(x[n_k[s : s + 4096]]), cfg)
                for s in range(0, len(n_k), 4096)
            ]
        )
        nodes.append(n_k)
        valid.append(v_k)
        adj.append(a_k.numpy().astype(np.float32))
    nodes_a, valid_a, adj_a = np.stack(nodes), np.stack(valid), np.stack(adj)
    m = cfg.M
    offdiag = adj_a * (1 - np.eye(m, dtype=np.float32))
    isolated = (offdiag.sum(-1) == 0)[valid_a].mean()
    prov = io.provenance({"base.seed": seed, "graph": as_dict(cfg)}, {"features": features_path})
    with io.create_h5(out, "graphs", prov) as f:
        f.create_dataset("train", data=train_idx.astype(np.int64))
        f.create_dataset("nodes", data=nodes_a)
        f.create_dataset("valid", data=valid_a.astype(np.uint8))
        f.create_dataset("adjacency", data=adj_a)
        f.attrs["M"] = m
        f.attrs["partitions"] = cfg.partitions
        f.attrs["isolated_fraction"] = float(isolated)
        f.attrs["mean_degree"] = float((offdiag > 0).sum(-1)[valid_a].mean())
    print(
        f"graphs: {nodes_a.shape[1]} graphs of {m} nodes x {cfg.partitions} partition(s), "
        f"{isolated:.1%} of nodes without a neighbour above rho"
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
    params: dict[str, Any],
    features_path: Path,
    graphs_path: Path,
    bits: int,
    out: Path,
    history_out: Path,
) -> None:
    """Stage 3: the GCN autoencoder (Table 1, L1 of Eq. 8) -> gcn_<bits>.pt and its loss history."""
    seed = seed_of(params)
    cfg = load_section(params, "gcn", train.GCNConfig)
    train_idx, nodes, valid, adj = _read_graphs(graphs_path)
    x = _train_features(features_path, train_idx)
    inputs = {"features": features_path, "graphs": graphs_path}
    prov = io.provenance({"base.seed": seed, "gcn": as_dict(cfg), "bits": bits}, inputs)
    run_id = train.config_digest(prov)
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
    params: dict[str, Any], features_path: Path, graphs_path: Path, model_path: Path, out: Path
) -> None:
    """Stage 4: g(x) of every training image from the trained encoder -> node_reps_<bits>.h5."""
    cfg = load_section(params, "node_reps", NodeRepConfig)
    ckpt = io.load_torch(model_path, "gcn")
    gcn_cfg = from_mapping(train.GCNConfig, ckpt["config"], f"{model_path}:config")
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
