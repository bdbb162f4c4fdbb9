"""Batch graphs over training nodes (Eqs. 2-4 of the paper).

The training nodes are cut into graphs of M nodes. Inside each graph, pairwise similarity
u_ij (Eq. 2, cosine) is binarised at rho (Eq. 3) and re-weighted (Eq. 4):
U'_ii = p and U'_ij = (1 - p) / sum_{j != i} U_ij for the neighbours (U_ij = 1), 0 elsewhere.
"""

from __future__ import annotations

import numpy as np

from nrdh.errors import NRDHError


def similarity(x: np.ndarray, distance: str) -> np.ndarray:
    """Pairwise similarity inside each graph: (B, M, z) -> (B, M, M), in x's dtype.

    cosine: Eq. 2. euclidean: 1 - d_ij / max_kl d_kl per graph, so values lie in [0, 1]
    and the same rho applies (our choice; the paper gives no formula for its ablation).
    """
    if distance == "cosine":
        xn = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
        return xn @ xn.swapaxes(-1, -2)
    # One column of distances at a time: memory stays at one (B, M, z) difference.
    d = np.stack([np.linalg.norm(x - x[:, j : j + 1], axis=-1) for j in range(x.shape[1])], axis=-1)
    dmax = np.maximum(d.max(axis=(1, 2), keepdims=True), 1e-12)
    return 1 - d / dmax


def binarize(u: np.ndarray, rho: float | np.ndarray) -> np.ndarray:
    """Eq. 3: U_ij = 1 where u_ij > rho (strictly), else 0. Shapes (B, M, M)."""
    return (u > rho).astype(u.dtype)


def reweight(
    adj: np.ndarray, p: float, self_in_rowsum: bool = False, isolated_weight: str = "p"
) -> np.ndarray:
    """Eq. 4: U'_ii = p, U'_ij = (1 - p) / sum_j U_ij where U_ij = 1 (i != j), else 0.

    self_in_rowsum adds U_ii to that sum; isolated_weight "one" gives a node without
    neighbours U'_ii = 1 (rows stochastic) instead of p.
    """
    m = adj.shape[-1]
    off = adj * (1 - np.eye(m, dtype=adj.dtype))  # neighbours only, (B, M, M)
    rowsum = off.sum(-1, keepdims=True)
    if self_in_rowsum:
        rowsum = rowsum + np.diagonal(adj, axis1=-2, axis2=-1)[..., None]
    out = off * (1.0 - p) / np.maximum(rowsum, 1)
    isolated = off.sum(-1) == 0  # (B, M)
    diag = np.where(isolated & (isolated_weight == "one"), 1, p).astype(adj.dtype)
    out[..., np.arange(m), np.arange(m)] = diag
    return out


def threshold_for(u: np.ndarray, rho: float, quantile: float | None = None) -> np.ndarray:
    """The rho of each graph, (B, 1, 1) in u's dtype: the fixed `rho`, or where `quantile`
    is given, that quantile of the graph's off-diagonal u (linear interpolation between
    order statistics; beyond the paper)."""
    if quantile is None:
        return np.full((u.shape[0], 1, 1), rho, dtype=u.dtype)
    m = u.shape[-1]
    offdiag = u[:, ~np.eye(m, dtype=bool)]  # (B, M*(M-1))
    per_graph = np.quantile(offdiag, quantile, axis=1, method="linear")
    return per_graph.astype(u.dtype).reshape(-1, 1, 1)


def build_adjacency(
    x: np.ndarray,
    *,
    rho: float,
    p: float,
    distance: str = "cosine",
    quantile: float | None = None,
    self_in_rowsum: bool = False,
    isolated_weight: str = "p",
) -> np.ndarray:
    """Re-weighted correlation matrices U' for graphs of node features x: (B, M, z) -> (B, M, M).

    Eq. 2 (`similarity` by `distance`), Eq. 3 at `rho` (or each graph's `quantile`:
    `threshold_for`), Eq. 4 with self weight `p` (`reweight`, with its two readings of the
    equation); the defaults are the paper's."""
    u = similarity(x, distance)
    adj = binarize(u, threshold_for(u, rho, quantile))
    return reweight(adj, p, self_in_rowsum, isolated_weight)


def partition(n: int, m: int, rng: np.random.Generator, order: np.ndarray | None = None):
    """Cut n nodes into ceil(n/m) graphs of m nodes.

    Nodes follow a seeded random order (or `order`, e.g. k-means groups). The last graph is
    filled up with nodes from the start of the order and those padded slots are marked
    invalid, so every graph has exactly m nodes and batches stack into one (B, M, M) tensor.
    Returns (nodes (B, M) int64 positions into 0..n-1, valid (B, M) bool).
    """
    if n < 1:
        raise NRDHError("graph building: the training split is empty")
    perm = rng.permutation(n) if order is None else np.asarray(order, dtype=np.int64)
    b = -(-n // m)
    pad = b * m - n
    nodes = np.concatenate([perm, perm[:pad] if pad <= n else np.resize(perm, pad)])
    valid = np.arange(b * m) < n
    return nodes.reshape(b, m).astype(np.int64), valid.reshape(b, m)


def kmeans_order(x: np.ndarray, m: int, seed: int) -> np.ndarray:
    """Order nodes so that consecutive runs of m are near neighbours (seeded k-means).

    Clusters of about m nodes come from k-means with k = n / m; each cluster is listed in
    turn, so the M-node graphs cut from this order join similar images.
    """
    from sklearn.cluster import KMeans

    k = max(1, x.shape[0] // m)
    km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x)
    return np.lexsort((np.arange(x.shape[0]), km.labels_)).astype(np.int64)
