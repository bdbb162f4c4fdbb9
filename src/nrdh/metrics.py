"""Hamming-ranking retrieval metrics: mAP@all, mAP@K, precision/recall@K, radius metrics, PR curve.

All metrics come from one pass over the database per query (see ``docs/METRICS.md``):

- distances are popcounts of XOR over packed 64-bit words, relevance ("shares at least one
  label") an AND over packed label words or an equality of class ids;
- each query gets per-distance histograms ``n[d]`` (items at distance ``d``) and ``m[d]``
  (relevant items at distance ``d``), ``d = 0..bits``: radius metrics, the PR curve and every
  ``ties="expected"`` metric are closed forms of these;
- for ``ties="index"`` a second pass gives each item its rank by counting sort
  (``rank = #items closer + #items at the same distance with a smaller index``), which is
  exactly the order of a stable sort by distance, and accumulates AP and top-K counts.

Time is O(nq * nb * bits / 64) with no sort; memory is the codes, labels, one uint16 key per
database item per worker thread and O(nq * bits) histograms: it does not grow with nq * nb.
Torch tensors on a CUDA device take a block-wise torch path (``_torch_stats``) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from nrdh.codes import as_packed, to_words
from nrdh.errors import NRDHError
from nrdh.hamming import hamming_words

TIES = ("index", "expected")
EMPTY_QUERY = ("zero", "skip")
DEFAULT_KS = (100, 500, 1000)
# Recall levels of the paper's Table 3 (precision at recall 10%, ..., 100% of Hamming ranking).
DEFAULT_RECALLS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
# Rows of the hypergeometric grid evaluated at once in the expected top-K AP (memory bound).
_GRID_CELLS = 1 << 20


@dataclass(frozen=True)
class RankStats:
    """Sufficient statistics of the Hamming ranking of every query against the database.

    ``n``, ``m``: (nq, bits+1) items and relevant items at each distance. With
    ``ties="index"``: ``ap_sum`` (nq,) sum over relevant items of precision at their rank,
    ``ap_sum_cut`` and ``rel_cut`` (nq, len(cuts)) the same sum and the relevant count over
    the first ``cuts[c]`` ranks. With ``ties="expected"`` these three are None.
    """

    n: np.ndarray
    m: np.ndarray
    cuts: tuple[int, ...]
    ties: str
    ap_sum: np.ndarray | None = None
    ap_sum_cut: np.ndarray | None = None
    rel_cut: np.ndarray | None = None

    @property
    def nq(self) -> int:
        return self.n.shape[0]

    @property
    def nb(self) -> int:
        return int(self.n[0].sum()) if self.nq else 0

    @property
    def bits(self) -> int:
        return self.n.shape[1] - 1

    @property
    def n_relevant(self) -> np.ndarray:
        """(nq,) relevant items in the database per query."""
        return self.m.sum(axis=1)


# ----------------------------------------------------------------------------- inputs


def _is_torch(x: Any) -> bool:
    """True for a torch tensor, without importing torch."""
    return type(x).__module__.startswith("torch")


def _labels(yq: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Labels as uint64 rows for the kernel: packed multi-hot words, or class ids (flag True)."""
    yq, yb = np.asarray(yq), np.asarray(yb)
    if yq.ndim == 1 and yb.ndim == 1:
        for y, name in ((yq, "yq"), (yb, "yb")):
            if not np.issubdtype(y.dtype, np.integer):
                raise NRDHError(f"{name}: class ids must be integers, got dtype {y.dtype}")
        return (
            yq.astype(np.int64).view(np.uint64)[:, None],
            yb.astype(np.int64).view(np.uint64)[:, None],
            True,
        )
    if yq.ndim == 2 and yb.ndim == 2 and yq.shape[1] == yb.shape[1]:
        return to_words(as_packed(yq, name="yq")[0]), to_words(as_packed(yb, name="yb")[0]), False
    raise NRDHError(
        f"labels: expected both multi-hot (n, C) with the same C or both class ids (n,), "
        f"got yq {yq.shape} and yb {yb.shape}"
    )


def _check_sizes(bq: Any, bb: Any, yq: Any, yb: Any) -> None:
    """Raise unless codes and labels agree on nq and nb and neither side is empty."""
    if len(bq) != len(yq) or len(bb) != len(yb):
        raise NRDHError(
            f"sizes: {len(bq)} query codes vs {len(yq)} query labels, "
            f"{len(bb)} database codes vs {len(yb)} database labels"
        )
    if len(bq) == 0 or len(bb) == 0:
        raise NRDHError(
            f"sizes: need at least one query and one database item, got nq={len(bq)}, nb={len(bb)}"
        )


def _check_options(ties: str, empty_query: str, cuts: Sequence[int]) -> tuple[int, ...]:
    """Validate the ranking options; return the cut-offs as a tuple of ints >= 1."""
    if ties not in TIES:
        raise NRDHError(f"ties: expected one of {TIES}, got {ties!r}")
    if empty_query not in EMPTY_QUERY:
        raise NRDHError(f"empty_query: expected one of {EMPTY_QUERY}, got {empty_query!r}")
    for k in cuts:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise NRDHError(f"top-K cut-off: expected an integer >= 1, got {k!r}")
    return tuple(int(k) for k in cuts)


# ----------------------------------------------------------------------------- CPU kernel


@njit(inline="always")
def _related(ql: np.ndarray, i: int, bl: np.ndarray, j: int, ids: bool) -> int:
    """1 if query ``i`` and item ``j`` share a label (equal class ids, or any common bit)."""
    if ids:
        return 1 if ql[i, 0] == bl[j, 0] else 0
    common = np.uint64(0)
    for w in range(ql.shape[1]):  # no early exit: branch-free is ~2x faster on random labels
        common |= ql[i, w] & bl[j, w]
    return 1 if common != 0 else 0


@njit(parallel=True, cache=True)
def _rank_stats_kernel(qw, bw, ql, bl, ids, cuts, with_rank, n, m, ap_sum, ap_sum_cut, rel_cut):
    """Fill histograms and (if ``with_rank``) stable-rank AP sums; one query per thread."""
    nb = bw.shape[0]
    nbins = n.shape[1]
    for i in prange(qw.shape[0]):
        key = np.empty(nb, np.uint16)  # 2 * distance + relevant, per database item
        for j in range(nb):
            d = hamming_words(qw, i, bw, j)
            r = _related(ql, i, bl, j, ids)
            key[j] = 2 * d + r
            n[i, d] += 1
            m[i, d] += r
        if not with_rank:
            continue
        before = np.zeros(nbins, np.int64)  # items strictly closer than distance d
        rel_before = np.zeros(nbins, np.int64)
        for d in range(1, nbins):
            before[d] = before[d - 1] + n[i, d - 1]
            rel_before[d] = rel_before[d - 1] + m[i, d - 1]
        last_cut = cuts.max() if cuts.size else 0
        total = 0.0
        for j in range(nb):  # index order: a counting sort, stable by construction
            d = key[j] >> 1
            before[d] += 1
            if key[j] & 1:
                rel_before[d] += 1
                precision = rel_before[d] / before[d]  # hits so far / rank of item j
                total += precision
                if before[d] <= last_cut:
                    for c in range(cuts.size):
                        if before[d] <= cuts[c]:
                            ap_sum_cut[i, c] += precision
                            rel_cut[i, c] += 1
        ap_sum[i] = total


def _numpy_stats(bq, bb, yq, yb, bits, cuts, ties) -> RankStats:
    """Run the numba kernel on numpy inputs."""
    pq, bits_q = as_packed(bq, bits, "bq")
    pb, bits_b = as_packed(bb, bits, "bb")
    if bits_q != bits_b:
        raise NRDHError(f"codes: bq has {bits_q} bits but bb has {bits_b}")
    ql, bl, ids = _labels(yq, yb)
    nq, nbins = len(pq), bits_q + 1
    if nbins > 1 << 15:
        raise NRDHError(f"bits: at most {(1 << 15) - 1} bits supported, got {bits_q}")
    n = np.zeros((nq, nbins), np.int64)
    m = np.zeros((nq, nbins), np.int64)
    ap_sum = np.zeros(nq)
    ap_sum_cut = np.zeros((nq, len(cuts)))
    rel_cut = np.zeros((nq, len(cuts)), np.int64)
    with_rank = ties == "index"
    _rank_stats_kernel(
        to_words(pq), to_words(pb), ql, bl, ids, np.asarray(cuts, np.int64), with_rank,
        n, m, ap_sum, ap_sum_cut, rel_cut,
    )  # fmt: skip
    if not with_rank:
        return RankStats(n, m, cuts, ties)
    return RankStats(n, m, cuts, ties, ap_sum, ap_sum_cut, rel_cut)


# ----------------------------------------------------------------------------- torch path


def _torch_stats(bq, bb, yq, yb, bits, cuts, ties, block_size) -> RankStats:
    """Same statistics with torch on the tensors' device, ``block_size`` queries at a time.

    Distances come from a float matmul of +-1 codes, ranks from a stable sort per block;
    memory is about ``block_size * nb * 40`` bytes on the device.
    """
    import torch

    dev = bq.device
    bq_, bb_ = bq.to(torch.float32), bb.to(device=dev, dtype=torch.float32)
    if bits is not None and bq_.shape[1] != bits:
        raise NRDHError(
            f"bq: the torch path takes unpacked (n, {bits}) 0/1 codes, got {tuple(bq.shape)}"
        )
    for t, name in ((bq_, "bq"), (bb_, "bb")):
        if ((t != 0) & (t != 1)).any():
            raise NRDHError(f"{name}: expected 0/1 codes")
    nbits = bq_.shape[1]
    sq, sb = 2 * bq_ - 1, 2 * bb_ - 1
    yq_, yb_ = torch.as_tensor(yq, device=dev), torch.as_tensor(yb, device=dev)
    multi_hot = yq_.ndim == 2
    if multi_hot:
        yq_, yb_ = yq_.to(torch.float32), yb_.to(torch.float32)
    nq, nb = len(sq), len(sb)
    cut_t = torch.as_tensor(cuts, device=dev, dtype=torch.int64)
    rank = torch.arange(1, nb + 1, device=dev, dtype=torch.float64)
    n = torch.zeros((nq, nbits + 1), dtype=torch.int64, device=dev)
    m = torch.zeros_like(n)
    ap_sum = torch.zeros(nq, dtype=torch.float64, device=dev)
    ap_sum_cut = torch.zeros((nq, len(cuts)), dtype=torch.float64, device=dev)
    rel_cut = torch.zeros((nq, len(cuts)), dtype=torch.int64, device=dev)
    for s in range(0, nq, block_size):
        blk = slice(s, s + block_size)
        d = ((nbits - sq[blk] @ sb.T) / 2).round().to(torch.int64)  # (B, nb)
        rel = (yq_[blk] @ yb_.T > 0) if multi_hot else (yq_[blk, None] == yb_[None, :])
        n[blk].scatter_add_(1, d, torch.ones_like(d))
        m[blk].scatter_add_(1, d, rel.to(torch.int64))
        if ties != "index":
            continue
        order = torch.sort(d, dim=1, stable=True).indices
        rel_sorted = rel.gather(1, order)
        hits = rel_sorted.cumsum(1, dtype=torch.int64)
        precision = torch.where(rel_sorted, hits / rank, 0.0)  # (B, nb) float64
        ap_sum[blk] = precision.sum(1)
        prefix = precision.cumsum(1)
        idx = (torch.clamp(cut_t, max=nb) - 1).expand(len(precision), -1)
        ap_sum_cut[blk] = prefix.gather(1, idx)
        rel_cut[blk] = hits.gather(1, idx)
    out = [t.cpu().numpy() for t in (n, m, ap_sum, ap_sum_cut, rel_cut)]
    if ties != "index":
        return RankStats(out[0], out[1], cuts, ties)
    return RankStats(out[0], out[1], cuts, ties, *out[2:])


def rank_stats(
    bq: Any,
    bb: Any,
    yq: Any,
    yb: Any,
    bits: int | None = None,
    cuts: Sequence[int] = (),
    ties: str = "index",
    block_size: int = 256,
) -> RankStats:
    """One pass over the database for every query: the statistics all metrics reduce from."""
    cuts = _check_options(ties, "zero", cuts)
    _check_sizes(bq, bb, yq, yb)
    if _is_torch(bq) and bq.device.type != "cpu":
        return _torch_stats(bq, bb, yq, yb, bits, cuts, ties, block_size)
    as_np = [x.cpu().numpy() if _is_torch(x) else x for x in (bq, bb, yq, yb)]
    return _numpy_stats(*as_np, bits, cuts, ties)


# ----------------------------------------------------------------------------- reductions


def _harmonic(n: int) -> np.ndarray:
    """H[k] = 1 + 1/2 + ... + 1/k for k = 0..n (summed in extended precision)."""
    h = np.zeros(n + 1, np.longdouble)
    h[1:] = np.cumsum(1.0 / np.arange(1, n + 1, dtype=np.longdouble))
    return h.astype(np.float64)


def _before(x: np.ndarray) -> np.ndarray:
    """Exclusive prefix sums along distance: items strictly closer than each distance."""
    out = np.zeros_like(x)
    np.cumsum(x[:, :-1], axis=1, out=out[:, 1:])
    return out


def _expected_group_ap(n, m, a, r, h) -> np.ndarray:
    """Expected sum of precision over a tie group's relevant items, its order uniformly random.

    A group of ``n`` items (``m`` relevant) after ``a`` items (``r`` relevant): the item at
    group position t is relevant with probability m/n and then has 1 + t(m-1)/(n-1) hits
    in the group up to it, so the sum is
    (m/n) * sum_t (r + 1 + t c) / (a + 1 + t) = (m/n) [c n + (r + 1 - c (a + 1)) (H[a+n] - H[a])]
    with c = (m-1)/(n-1) (0 when n = 1): McSherry & Najork (ECIR 2008), tie-aware AP.
    """
    n, m, a, r = (np.asarray(v, np.float64) for v in (n, m, a, r))
    safe_n = np.maximum(n, 1)
    c = np.where(n > 1, (m - 1) / np.maximum(n - 1, 1), 0.0)
    idx_hi = (a + n).astype(np.int64)
    harm = h[idx_hi] - h[a.astype(np.int64)]
    return np.where(n > 0, m / safe_n * (c * n + (r + 1 - c * (a + 1)) * harm), 0.0)


def _expected_topk(
    stats: RankStats, k: int, with_ap: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(expected AP@k, expected hits in the top k, whether some order has a hit there) per query.

    Groups wholly inside the top k add their expected sums. A group cut by the k-th rank
    contributes its first s = k - a positions; the relevant count h among them is
    hypergeometric, and given h those positions form a random order of h relevant items
    among s, so E[AP@k] = sum_h P(h) (S + f(h)) / (R + h), an exact expectation of the ratio.
    """
    n, m = stats.n, stats.m
    a, r = _before(n), _before(m)
    h = _harmonic(stats.nb)
    k = min(k, stats.nb)
    full = (a + n <= k) & (n > 0)
    s_full = np.where(full, _expected_group_ap(n, m, a, r, h), 0.0).sum(1)
    r_full = np.where(full, m, 0).sum(1)
    ap = np.divide(s_full, r_full, out=np.zeros(stats.nq), where=r_full > 0)
    cut_q, cut_d = np.nonzero((a < k) & (a + n > k))  # at most one cut group per query
    n_c, m_c, a_c = n[cut_q, cut_d], m[cut_q, cut_d], a[cut_q, cut_d]
    r_c, s = r[cut_q, cut_d], k - a_c
    hits = r_full.astype(np.float64)
    hits[cut_q] = r_c + s * m_c / n_c
    some = r_full > 0
    some[cut_q] = (r_c + np.minimum(m_c, s)) > 0
    if not with_ap:
        return None, hits, some
    rows = max(1, _GRID_CELLS // (k + 1))
    for lo in range(0, len(cut_q), rows):
        c = slice(lo, lo + rows)
        hh = np.arange(int(np.minimum(m_c[c], s[c]).max()) + 1)[None, :]  # (1, H)
        nn, mm, aa, rr, ss = (v[c, None].astype(np.float64) for v in (n_c, m_c, a_c, r_c, s))
        ok = (hh <= mm) & (hh <= ss) & (ss - hh <= nn - mm)
        log_pmf = (
            _log_comb(mm, hh) + _log_comb(nn - mm, ss - hh) - _log_comb(nn, ss)
        )  # hypergeometric P(h)
        pmf = np.where(ok, np.exp(np.where(ok, log_pmf, 0.0)), 0.0)
        ch = np.where(ss > 1, (hh - 1) / np.maximum(ss - 1, 1), 0.0)
        harm = h[(aa + ss).astype(np.int64)] - h[aa.astype(np.int64)]
        f = hh / ss * (ch * ss + (rr + 1 - ch * (aa + 1)) * harm)
        denom = rr + hh
        ratio = np.divide(
            s_full[cut_q[c], None] + f, denom, out=np.zeros(pmf.shape), where=denom > 0
        )
        ap[cut_q[c]] = (pmf * ratio).sum(1)
    return ap, hits, some


def _log_comb(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log of the binomial coefficient C(n, k), for 0 <= k <= n (other cells are masked)."""
    from scipy.special import gammaln  # lazily: 0.2 s per process, only ties="expected" needs it

    k = np.clip(k, 0, n)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _mean(values: np.ndarray, keep: np.ndarray | None) -> float:
    """Mean over the kept queries (all when ``keep`` is None); 0.0 when none is kept."""
    if keep is not None:
        values = values[keep]
    return float(values.mean()) if values.size else 0.0


def _keep(stats: RankStats, empty_query: str) -> np.ndarray | None:
    """Queries that enter the means: all ("zero") or those with a relevant item ("skip")."""
    return None if empty_query == "zero" else stats.n_relevant > 0


def map_from_stats(stats: RankStats, topk: int | None = None, empty_query: str = "zero") -> float:
    """mAP@all (``topk=None``) or mAP@topk from ranking statistics.

    AP@K = (sum of precision at the ranks of the relevant items within the top K) / (number
    of relevant items within the top K); a query with none there has AP 0 ("zero") or is left
    out of the mean ("skip", as HashNet's code does).
    """
    _check_options(stats.ties, empty_query, () if topk is None else (topk,))
    if topk is None or topk >= stats.nb:
        r_tot = stats.n_relevant
        if stats.ties == "index":
            total = stats.ap_sum
        else:
            n, m = stats.n, stats.m
            total = _expected_group_ap(n, m, _before(n), _before(m), _harmonic(stats.nb)).sum(1)
        ap = np.divide(total, r_tot, out=np.zeros(stats.nq), where=r_tot > 0)
        return _mean(ap, _keep(stats, empty_query))
    if stats.ties == "index":
        c = _cut_column(stats, topk)
        hits = stats.rel_cut[:, c]
        ap = np.divide(stats.ap_sum_cut[:, c], hits, out=np.zeros(stats.nq), where=hits > 0)
        some = hits > 0
    else:
        ap, _, some = _expected_topk(stats, topk)
    return _mean(ap, None if empty_query == "zero" else some)


def _cut_column(stats: RankStats, k: int) -> int:
    """Column of ``k`` in the ``ties="index"`` cut statistics, or raise if it was not counted."""
    if k not in stats.cuts:
        raise NRDHError(f"top-K cut-off {k}: not among the cut-offs counted, {stats.cuts}")
    return stats.cuts.index(k)


def precision_recall_at_k_from_stats(
    stats: RankStats, ks: Sequence[int], empty_query: str = "zero"
) -> tuple[dict[int, float], dict[int, float]]:
    """Mean precision@K and recall@K for each K (a list longer than nb is cut to nb)."""
    ks = _check_options(stats.ties, empty_query, ks)
    keep, r_tot = _keep(stats, empty_query), stats.n_relevant
    prec, rec = {}, {}
    for k in ks:
        if stats.ties == "index":
            hits = stats.rel_cut[:, _cut_column(stats, k)].astype(np.float64)
        else:
            hits = _expected_topk(stats, k, with_ap=False)[1]
        prec[k] = _mean(hits / min(k, stats.nb), keep)
        rec[k] = _mean(np.divide(hits, r_tot, out=np.zeros(stats.nq), where=r_tot > 0), keep)
    return prec, rec


def pr_curve_from_stats(stats: RankStats, empty_query: str = "zero") -> dict[str, np.ndarray]:
    """Mean precision and recall of the items within Hamming radius r, for r = 0..bits, and
    the share of queries with a non-empty return ("returned").

    An empty return (no item within r) has precision 0; a query without relevant items has
    recall 0 ("zero") or is left out ("skip"). precision / returned is the mean precision of
    the queries that got a return: a plot of it has no dip to 0 where most returns are empty.
    """
    _check_options(stats.ties, empty_query, ())
    keep, r_tot = _keep(stats, empty_query), stats.n_relevant[:, None]
    retrieved, hits = np.cumsum(stats.n, axis=1), np.cumsum(stats.m, axis=1)
    precision = np.divide(hits, retrieved, out=np.zeros(hits.shape), where=retrieved > 0)
    recall = np.divide(hits, r_tot, out=np.zeros(hits.shape), where=r_tot > 0)
    returned = (retrieved > 0).astype(np.float64)
    if keep is not None:
        precision, recall, returned = precision[keep], recall[keep], returned[keep]
    mean = (lambda x: x.mean(0)) if len(precision) else (lambda x: np.zeros(x.shape[1]))
    return {
        "radius": np.arange(stats.bits + 1),
        "precision": mean(precision),
        "recall": mean(recall),
        "returned": mean(returned),
    }


def radius_from_stats(
    stats: RankStats, radius: int = 2, empty_query: str = "zero"
) -> dict[str, float]:
    """Mean precision and recall within Hamming radius ``radius``, and F1 of those two means."""
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise NRDHError(f"radius: expected an integer >= 0, got {radius!r}")
    curve = pr_curve_from_stats(stats, empty_query)
    r = min(int(radius), stats.bits)
    p, rc = float(curve["precision"][r]), float(curve["recall"][r])
    return {"precision": p, "recall": rc, "f1": 2 * p * rc / (p + rc) if p + rc > 0 else 0.0}


# ----------------------------------------------------------------------------- public API


def mean_average_precision(
    bq: Any,
    bb: Any,
    yq: Any,
    yb: Any,
    topk: int | None = None,
    ties: str = "index",
    bits: int | None = None,
    empty_query: str = "zero",
) -> float:
    """mAP@all (``topk=None``) or mAP@topk of Hamming ranking; ties by index or in expectation."""
    cuts = () if topk is None else (topk,)
    _check_options(ties, empty_query, cuts)
    return map_from_stats(rank_stats(bq, bb, yq, yb, bits, cuts, ties), topk, empty_query)


def precision_recall_at_k(
    bq: Any,
    bb: Any,
    yq: Any,
    yb: Any,
    ks: Sequence[int] = DEFAULT_KS,
    ties: str = "index",
    bits: int | None = None,
    empty_query: str = "zero",
) -> tuple[dict[int, float], dict[int, float]]:
    """Mean precision@K and recall@K of Hamming ranking for each K in ``ks``."""
    stats = rank_stats(bq, bb, yq, yb, bits, ks, ties)
    return precision_recall_at_k_from_stats(stats, ks, empty_query)


def radius_metrics(
    bq: Any,
    bb: Any,
    yq: Any,
    yb: Any,
    radius: int = 2,
    bits: int | None = None,
    empty_query: str = "zero",
) -> dict[str, float]:
    """Precision, recall and F1 of Hamming-radius retrieval (empty return: precision 0)."""
    return radius_from_stats(rank_stats(bq, bb, yq, yb, bits, (), "expected"), radius, empty_query)


def pr_curve(
    bq: Any, bb: Any, yq: Any, yb: Any, bits: int | None = None, empty_query: str = "zero"
) -> dict[str, np.ndarray]:
    """Precision-recall curve of Hamming-radius retrieval over r = 0..bits."""
    return pr_curve_from_stats(rank_stats(bq, bb, yq, yb, bits, (), "expected"), empty_query)


def retrieval_report(
    bq: Any,
    bb: Any,
    yq: Any,
    yb: Any,
    bits: int | None = None,
    topk: int | None = None,
    radius: int = 2,
    ks: Sequence[int] = DEFAULT_KS,
    ties: str = "index",
    empty_query: str = "zero",
    block_size: int = 256,
) -> dict[str, Any]:
    """Every retrieval metric from one pass over the database, as a JSON-ready dict.

    ``block_size`` (queries per block) matters on the torch path only; the CPU kernel's
    memory does not depend on nq.
    """
    cuts = tuple(dict.fromkeys([*ks, *(() if topk is None else (topk,))]))
    _check_options(ties, empty_query, cuts)
    stats = rank_stats(bq, bb, yq, yb, bits, cuts, ties, block_size)
    prec_k, rec_k = precision_recall_at_k_from_stats(stats, ks, empty_query)
    rad = radius_from_stats(stats, radius, empty_query)
    curve = pr_curve_from_stats(stats, empty_query)
    n_rel = stats.n_relevant
    return {
        "map_all": map_from_stats(stats, None, empty_query),
        "map_at_k": None if topk is None else map_from_stats(stats, topk, empty_query),
        "precision_radius": rad["precision"],
        "recall_radius": rad["recall"],
        "f1_radius": rad["f1"],
        "precision_at_k": prec_k,
        "recall_at_k": rec_k,
        "pr_curve": [
            {
                "radius": int(r),
                "precision": float(p),
                "recall": float(rc),
                "returned": float(q),
                # of the queries that got a return (None: no query did): the plotted value
                "precision_returned": float(p / q) if q > 0 else None,
            }
            for r, p, rc, q in zip(
                curve["radius"], curve["precision"], curve["recall"], curve["returned"], strict=True
            )
        ],
        "protocol": {
            "nq": stats.nq,
            "nb": stats.nb,
            "bits": stats.bits,
            "topk": topk,
            "ks": list(ks),
            "radius": radius,
            "ties": ties,
            "relevance": "share >= 1 label",
            "empty_return_precision": 0,
            "empty_query": empty_query,
            "queries_without_relevant": int((n_rel == 0).sum()),
            "f1": "harmonic mean of mean precision and mean recall within the radius",
        },
    }


def precision_at_recall(
    bq: Any,
    bb: Any,
    yq: Any,
    yb: Any,
    recalls: Sequence[float] = DEFAULT_RECALLS,
    ties: str = "index",
    bits: int | None = None,
    empty_query: str = "zero",
    block_size: int = 128,
) -> dict[float, float]:
    """Mean precision of Hamming ranking where recall first reaches each level (paper's Table 3).

    For a query with R relevant database items and a level r in (0, 1], k = ceil(r R) hits
    are needed; its precision is k / rank_k, rank_k the rank of its k-th relevant item, the
    first rank where recall >= r. ``ties="index"``: ranks by (distance, database index), as
    every other metric here. ``ties="expected"``: the exact expectation of k / rank_k over
    uniformly random orders inside each distance group; if the k-th relevant item is the j-th
    relevant one of a group of n items (m relevant) after a closer items, its position t in
    the group is negative-hypergeometric, P(t) = C(t-1, j-1) C(n-t, m-j) / C(n, m). A query
    without relevant items counts 0 ("zero") or is left out ("skip"). Inputs as in
    ``mean_average_precision``; ``block_size`` queries are ranked at a time (numpy, CPU).
    """
    _check_options(ties, empty_query, ())
    _check_sizes(bq, bb, yq, yb)
    levels = tuple(float(r) for r in recalls)
    if not levels or any(not 0 < r <= 1 for r in levels):
        raise NRDHError(f"recalls: expected levels in (0, 1], got {list(recalls)}")
    bq, bb, yq, yb = (x.cpu().numpy() if _is_torch(x) else x for x in (bq, bb, yq, yb))
    pq, nbits = as_packed(bq, bits, "bq")
    pb, bits_b = as_packed(bb, bits, "bb")
    if nbits != bits_b:
        raise NRDHError(f"codes: bq has {nbits} bits but bb has {bits_b}")
    ql, bl, ids = _labels(yq, yb)
    sb = 2 * np.unpackbits(pb, axis=1, count=nbits, bitorder="big").astype(np.float32) - 1
    nq = len(pq)
    prec = np.zeros((nq, len(levels)))  # (nq, L)
    n_rel = np.zeros(nq, np.int64)
    for s in range(0, nq, block_size):
        blk = slice(s, s + block_size)
        sq = 2 * np.unpackbits(pq[blk], axis=1, count=nbits, bitorder="big").astype(np.float32) - 1
        # (B, nb) exact small integers; 16 bits at most, so the stable sort below is numpy's
        # radix sort
        d = np.rint((nbits - sq @ sb.T) / 2).astype(np.uint16)
        if ids:
            rel = ql[blk, :1] == bl[None, :, 0]  # (B, nb)
        else:
            rel = (ql[blk, None, :] & bl[None, :, :]).any(-1)  # (B, nb)
        r_tot = rel.sum(1)  # (B,)
        n_rel[blk] = r_tot
        # hits needed: ceil(r R), rounded first so 0.6 * 5 is 3, not 3.0000000000000004
        k = np.ceil(np.round(np.outer(r_tot, levels), 9)).astype(np.int64)  # (B, L)
        if ties == "index":
            order = np.argsort(d, axis=1, kind="stable")
            hits = np.take_along_axis(rel, order, 1).cumsum(1, dtype=np.int32)
            # (B, L) first rank with k hits, one level at a time (no (B, nb, L) temporary)
            rank_k = np.stack([(hits < k[:, [c]]).sum(1) for c in range(k.shape[1])], 1) + 1
            prec[blk] = np.where(r_tot[:, None] > 0, k / rank_k, 0.0)
        else:
            prec[blk] = _expected_precision_at_hits(d, rel, k, nbits)
    keep = None if empty_query == "zero" else n_rel > 0
    return {r: _mean(prec[:, c], keep) for c, r in enumerate(levels)}


def _expected_precision_at_hits(
    d: np.ndarray, rel: np.ndarray, k: np.ndarray, bits: int
) -> np.ndarray:
    """(B, L) E[k / rank of the k-th relevant item] over random orders within distance ties."""
    nbins = bits + 1
    rows = np.arange(len(d))[:, None] * nbins
    n = np.bincount((rows + d).ravel(), minlength=len(d) * nbins).reshape(-1, nbins)
    m = np.bincount((rows + d).ravel(), rel.ravel(), len(d) * nbins).reshape(-1, nbins)
    m = m.astype(np.int64)
    a, r0, cum_m = _before(n), _before(m), np.cumsum(m, axis=1)
    out = np.zeros(k.shape)
    for i, c in zip(*np.nonzero(k > 0), strict=True):
        kk = k[i, c]
        g = int(np.searchsorted(cum_m[i], kk))  # the group holding the kk-th relevant item
        ng, mg, j = n[i, g], m[i, g], kk - r0[i, g]
        t = np.arange(j, ng - mg + j + 1, dtype=np.float64)  # its possible positions in the group
        log_p = _log_comb(t - 1, j - 1) + _log_comb(ng - t, mg - j) - _log_comb(ng, mg)
        out[i, c] = float((np.exp(log_p) * kk / (a[i, g] + t)).sum())
    return out
