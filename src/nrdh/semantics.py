"""Semantic measures of features: does a node find a neighbour above rho, and do the
features' nearest neighbours share its label?

Pure numpy on feature matrices (no torch). NRDH's graphs (Eqs. 2-3) join two nodes of an
M-node batch when their cosine similarity exceeds rho; with features where few pairs do,
the graphs are nearly empty and the GCN is close to the identity. Labels are read only by
the label measures, never to build anything.
"""

from __future__ import annotations

import numpy as np

from nrdh import graph
from nrdh.features_file import Features

BLOCK = 1024  # query rows scored at once: memory (BLOCK, n) floats


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64; zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def batch_edges(x: np.ndarray, nodes: np.ndarray, valid: np.ndarray, rho: float) -> np.ndarray:
    """Eq. 3 inside each graph: (B, M, M) bool, True where two distinct valid nodes have
    cosine similarity > rho. `nodes` (B, M) index the rows of x (n, z); `valid` (B, M)."""
    assert nodes.shape == valid.shape and nodes.ndim == 2
    xn = unit_rows(x)[nodes]  # (B, M, z)
    u = xn @ xn.swapaxes(1, 2)  # (B, M, M)
    m = nodes.shape[1]
    pair = valid[:, :, None] & valid[:, None, :] & ~np.eye(m, dtype=bool)
    return (u > rho) & pair


def has_neighbour(x: np.ndarray, rho: float) -> np.ndarray:
    """(n,) bool: whether each row of x has another row with cosine similarity > rho."""
    xn = unit_rows(x)
    out = np.zeros(len(xn), dtype=bool)
    for s in range(0, len(xn), BLOCK):
        u = xn[s : s + BLOCK] @ xn.T  # (b, n)
        u[np.arange(len(u)), s + np.arange(len(u))] = -np.inf  # not its own neighbour
        out[s : s + BLOCK] = (u > rho).any(1)
    return out


def knn_precision(xq: np.ndarray, xb: np.ndarray, yq: np.ndarray, yb: np.ndarray, k: int) -> float:
    """Mean over queries of the share of the k most cosine-similar database items that
    share a label with the query; equal similarities are ordered by database index."""
    assert xq.shape[1] == xb.shape[1] and len(xq) == len(yq) and len(xb) == len(yb)
    assert 1 <= k <= len(xb)
    qn, bn = unit_rows(xq), unit_rows(xb)
    yq, yb = yq.astype(bool), yb.astype(bool)
    hits = []
    for s in range(0, len(qn), BLOCK):
        top = np.argsort(-(qn[s : s + BLOCK] @ bn.T), axis=1, kind="stable")[:, :k]  # (b, k)
        hits.append((yq[s : s + BLOCK, None, :] & yb[top]).any(-1).mean(1))
    return float(np.concatenate(hits).mean())


def feature_stats(feats: Features, m: int, rho: float, seed: int, k: int) -> dict[str, float]:
    """The measures of a features file over its training nodes, in build_graphs' random
    M-node batches of `seed` (its first partition) and over the whole training set, and the
    kNN@k label precision of its queries against its database."""
    train = feats.split["train"]
    xt, yt = feats.features[train], feats.labels[train].astype(bool)
    nodes, valid = graph.partition(len(train), m, np.random.default_rng(seed))
    edges = batch_edges(xt, nodes, valid, rho)  # (B, M, M)
    yn = yt[nodes]  # (B, M, C)
    same = (yn[:, :, None, :] & yn[:, None, :, :]).any(-1)  # (B, M, M)
    q, b = feats.split["query"], feats.split["database"]
    return {
        "neighbour_in_batch": float(edges.any(-1)[valid].mean()),
        "neighbour_global": float(has_neighbour(xt, rho).mean()),
        "mean_degree_in_batch": float(edges.sum(-1)[valid].mean()),
        # share of the in-batch edges above rho that join two images with a common label
        "edge_label_precision": float(same[edges].mean()) if edges.any() else 0.0,
        "knn_precision": knn_precision(
            feats.features[q], feats.features[b], feats.labels[q], feats.labels[b], k
        ),
    }
