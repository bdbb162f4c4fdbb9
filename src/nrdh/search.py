"""Hamming k-NN and radius search over packed binary codes, with results as FAISS returns them.

Inputs are packed codes (``nrdh.codes.pack_codes``: (n, ceil(bits/8)) uint8, big bit order).
Two engines:

- ``"kernel"`` (default): an exact scan with popcount over 64-bit words and a counting sort
  on the distance; ids are ordered by (distance, database index), so results are the same on
  every machine and agree with ``nrdh.metrics`` ``ties="index"``.
- ``"faiss"``: FAISS binary indexes, ``IndexBinaryFlat`` for k-NN and, for radius search,
  ``IndexBinaryMultiHash`` with ``radius + 1`` disjoint substrings (exact by pigeonhole:
  a code within the radius equals the query on at least one substring), falling back to
  ``IndexBinaryFlat.range_search`` when the code is too short for that. Which of several
  tied items FAISS keeps at the k-th place is FAISS's choice; returned rows are then put in
  (distance, index) order.

``knn`` returns FAISS's ``(D, I)``: (nq, k) int32 distances and int64 ids. ``radius_search``
returns FAISS's range-search layout ``(lims, D, I)``: the results of query i are
``D[lims[i]:lims[i+1]]`` and ``I[lims[i]:lims[i+1]]``, every item within Hamming distance r.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from nrdh.codes import clear_padding, n_bytes, to_words
from nrdh.errors import NRDHError
from nrdh.hamming import hamming_words

ENGINES = ("kernel", "faiss")


def _prepare(
    bq: np.ndarray, bb: np.ndarray, bits: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate packed codes; return them with padding bits cleared, and the code length."""
    pq, pb = np.asarray(bq), np.asarray(bb)
    width = pq.shape[-1]
    bits = 8 * width if bits is None else bits
    for x, name in ((pq, "bq"), (pb, "bb")):
        if x.ndim != 2 or x.dtype != np.uint8 or x.shape[1] != n_bytes(bits):
            raise NRDHError(
                f"{name}: expected packed uint8 codes (n, {n_bytes(bits)}) of {bits} bits, "
                f"got {x.dtype} {x.shape}"
            )
    if len(pb) == 0:
        raise NRDHError("bb: the database is empty")
    clean = (np.ascontiguousarray(clear_padding(x, bits)) for x in (pq, pb))
    return *clean, bits


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise NRDHError(f"engine: expected one of {ENGINES}, got {engine!r}")


@njit(inline="always")
def _distances(qw, i, bw, dist, count):
    """Fill ``dist`` with the distances of query ``i`` to every item, ``count`` per distance."""
    for j in range(bw.shape[0]):
        d = hamming_words(qw, i, bw, j)
        dist[j] = d
        count[d] += 1


@njit(parallel=True, cache=True)
def _knn_kernel(qw, bw, nbins, dists, ids):
    """k smallest distances per query, ties by index, by one scan and a counting sort."""
    k = dists.shape[1]
    for i in prange(qw.shape[0]):
        dist = np.empty(bw.shape[0], np.uint16)
        count = np.zeros(nbins, np.int64)
        _distances(qw, i, bw, dist, count)
        slot = np.zeros(nbins, np.int64)  # next output position for each distance
        total = 0
        for d in range(nbins):
            slot[d] = total
            total += count[d]
        for j in range(bw.shape[0]):
            d = dist[j]
            if slot[d] < k:
                dists[i, slot[d]] = d
                ids[i, slot[d]] = j
            slot[d] += 1


@njit(parallel=True, cache=True)
def _radius_count_kernel(qw, bw, r, counts):
    """Number of database items within distance ``r`` of each query."""
    for i in prange(qw.shape[0]):
        c = 0
        for j in range(bw.shape[0]):
            if hamming_words(qw, i, bw, j) <= r:
                c += 1
        counts[i] = c


@njit(parallel=True, cache=True)
def _radius_fill_kernel(qw, bw, r, lims, dists, ids):
    """Write each query's items within ``r`` in (distance, index) order at ``lims[i]``."""
    for i in prange(qw.shape[0]):
        dist = np.empty(bw.shape[0], np.uint16)
        count = np.zeros(r + 2, np.int64)
        for j in range(bw.shape[0]):
            d = min(hamming_words(qw, i, bw, j), r + 1)
            dist[j] = d
            count[d] += 1
        slot = np.zeros(r + 1, np.int64)
        total = lims[i]
        for d in range(r + 1):
            slot[d] = total
            total += count[d]
        for j in range(bw.shape[0]):
            d = dist[j]
            if d <= r:
                dists[slot[d]] = d
                ids[slot[d]] = j
                slot[d] += 1


def _by_distance_then_id(dists: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder each row of FAISS results by (distance, id)."""
    order = np.lexsort((ids, dists), axis=-1)
    return np.take_along_axis(dists, order, -1), np.take_along_axis(ids, order, -1)


def knn(
    bq: np.ndarray, bb: np.ndarray, k: int, bits: int | None = None, engine: str = "kernel"
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest database codes of each query in Hamming distance: (D int32, I int64)."""
    _check_engine(engine)
    pq, pb, bits = _prepare(bq, bb, bits)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(pb):
        raise NRDHError(f"k: expected an integer in [1, nb={len(pb)}], got {k!r}")
    if engine == "faiss":
        import faiss

        index = faiss.IndexBinaryFlat(8 * pq.shape[1])
        index.add(pb)
        dists, ids = index.search(pq, int(k))
        return _by_distance_then_id(dists.astype(np.int32), ids.astype(np.int64))
    dists = np.empty((len(pq), k), np.int32)
    ids = np.empty((len(pq), k), np.int64)
    _knn_kernel(to_words(pq), to_words(pb), bits + 1, dists, ids)
    return dists, ids


def radius_search(
    bq: np.ndarray, bb: np.ndarray, r: int, bits: int | None = None, engine: str = "kernel"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every database code within Hamming distance r of each query: FAISS's (lims, D, I)."""
    _check_engine(engine)
    pq, pb, bits = _prepare(bq, bb, bits)
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0:
        raise NRDHError(f"r: expected an integer >= 0, got {r!r}")
    r = min(int(r), bits)
    if engine == "faiss":
        return _faiss_radius(pq, pb, r)
    qw, bw = to_words(pq), to_words(pb)
    counts = np.empty(len(pq), np.int64)
    _radius_count_kernel(qw, bw, r, counts)
    lims = np.zeros(len(pq) + 1, np.int64)
    np.cumsum(counts, out=lims[1:])
    dists = np.empty(lims[-1], np.int32)
    ids = np.empty(lims[-1], np.int64)
    _radius_fill_kernel(qw, bw, r, lims, dists, ids)
    return lims, dists, ids


def _faiss_radius(
    pq: np.ndarray, pb: np.ndarray, r: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FAISS range search (multi-hash when exact, else flat), rows in (distance, id) order."""
    import faiss

    d = 8 * pq.shape[1]
    sub_bits = min(d // (r + 1), 64)
    if sub_bits >= 1:
        index = faiss.IndexBinaryMultiHash(d, r + 1, sub_bits)
    else:
        index = faiss.IndexBinaryFlat(d)
    index.add(pb)
    # FAISS's binary range search keeps distances strictly below its radius argument.
    lims, dists, ids = index.range_search(pq, r + 1)
    dists, ids = dists.astype(np.int32), ids.astype(np.int64)
    for i in range(len(pq)):
        s = slice(lims[i], lims[i + 1])
        dists[s], ids[s] = _by_distance_then_id(dists[s], ids[s])
    return lims.astype(np.int64), dists, ids
