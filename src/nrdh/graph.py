"""Batch graphs over training nodes (Eqs. 2-4 of the paper).

The training nodes are cut into graphs of M nodes. Inside each graph, pairwise similarity
u_ij (Eq. 2, cosine) is binarised at rho (Eq. 3) and re-weighted (Eq. 4):
U'_ii = p and U'_ij = (1 - p) / sum_{j != i} U_ij for the neighbours (U_ij = 1), 0 elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from nrdh.config import check_range
from nrdh.errors import NRDHError


@dataclass(frozen=True)
class GraphConfig:
    """Graph-building params (params.yaml section ``graph``)."""

    M: int = 10  # nodes per graph; the paper's Table 3 picks 10 among 5, 10, 20, 40
    rho: float = 0.4  # Eq. 3 threshold; the paper's Table 4 peaks at 0.4
    p: float = 0.8  # Eq. 4 self weight; the paper's Table 5 peaks at 0.8
    distance: Literal["cosine", "euclidean"] = "cosine"  # euclidean: the Fig. 3 ablation
    # Eq. 4 ambiguity: does the row sum count the node itself (U_ii = 1)? The paper's
    # "(1-p)/sum_j U_ij" would then give rows summing below 1; we exclude it by default.
    self_in_rowsum: bool = False
    # Eq. 4 ambiguity: self weight of a node with no neighbour above rho. "p" keeps Eq. 4
    # as written; "one" makes every row sum to 1.
    isolated_weight: Literal["p", "one"] = "p"
    # How many independent seeded partitions to store; the GCN cycles through them one per
    # epoch. 1 = one fixed partition (our reading of the paper); >1 = re-drawn batches.
    partitions: int = 1
    # Beyond the paper: "random" (the paper) or "kmeans" (graphs of near neighbours).
    batching: Literal["random", "kmeans"] = "random"
    # Beyond the paper: "fixed" uses rho; "quantile" sets rho per graph to this quantile
    # of its off-diagonal similarities (a data-calibrated threshold).
    rho_mode: Literal["fixed", "quantile"] = "fixed"
    rho_quantile: float = 0.8

    def __post_init__(self) -> None:
        if self.M < 2:
            raise NRDHError(f"graph.M: {self.M} is out of range, expected an integer >= 2")
        check_range("graph.rho", self.rho, -1.0, 1.0)
        check_range("graph.p", self.p, 0.0, 1.0)
        check_range("graph.rho_quantile", self.rho_quantile, 0.0, 1.0)
        if self.partitions < 1:
            raise NRDHError(f"graph.partitions: {self.partitions} is out of range, expected >= 1")


def similarity(x: torch.Tensor, distance: str) -> torch.Tensor:
    """Pairwise similarity inside each graph: (B, M, z) -> (B, M, M).

    cosine: Eq. 2. euclidean: 1 - d_ij / max_kl d_kl per graph, so values lie in [0, 1]
    and the same rho applies (our choice; the paper gives no formula for its ablation).
    """
    if distance == "cosine":
        xn = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return xn @ xn.transpose(1, 2)
    d = torch.cdist(x, x)  # (B, M, M)
    dmax = d.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    return 1.0 - d / dmax


def binarize(u: torch.Tensor, rho: float | torch.Tensor) -> torch.Tensor:
    """Eq. 3: U_ij = 1 where u_ij > rho (strictly), else 0. Shapes (B, M, M)."""
    return (u > rho).to(u.dtype)


def reweight(
    adj: torch.Tensor, p: float, self_in_rowsum: bool = False, isolated_weight: str = "p"
) -> torch.Tensor:
    """Eq. 4: U'_ii = p, U'_ij = (1 - p) / sum_j U_ij where U_ij = 1 (i != j), else 0."""
    m = adj.shape[-1]
    eye = torch.eye(m, dtype=adj.dtype, device=adj.device)
    off = adj * (1.0 - eye)  # neighbours only, (B, M, M)
    rowsum = off.sum(-1, keepdim=True) + (adj * eye).sum(-1, keepdim=True) * self_in_rowsum
    isolated = off.sum(-1) == 0  # (B, M)
    weights = off * (1.0 - p) / rowsum.clamp_min(1.0)
    diag = torch.full(isolated.shape, p, dtype=adj.dtype, device=adj.device)
    if isolated_weight == "one":
        diag = torch.where(isolated, torch.ones_like(diag), diag)
    return weights + torch.diag_embed(diag)


def threshold_for(u: torch.Tensor, cfg: GraphConfig) -> torch.Tensor:
    """The rho used for each graph: the fixed one, or a quantile of its off-diagonal u.

    Built on u's device and dtype, so graphs build wherever the features live.
    """
    if cfg.rho_mode == "fixed":
        return torch.full((u.shape[0], 1, 1), cfg.rho, dtype=u.dtype, device=u.device)
    m = u.shape[-1]
    offdiag = u[:, ~torch.eye(m, dtype=torch.bool, device=u.device)]  # (B, M*(M-1))
    return torch.quantile(offdiag, cfg.rho_quantile, dim=1).view(-1, 1, 1)


def build_adjacency(x: torch.Tensor, cfg: GraphConfig) -> torch.Tensor:
    """Re-weighted correlation matrices U' for graphs of node features x: (B, M, z) -> (B, M, M)."""
    u = similarity(x, cfg.distance)
    adj = binarize(u, threshold_for(u, cfg))
    return reweight(adj, cfg.p, cfg.self_in_rowsum, cfg.isolated_weight)


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
