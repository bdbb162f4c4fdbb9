"""Hamming k-NN and radius search against brute force and FAISS's binary indexes."""

import faiss
import numpy as np
import pytest

from nrdh.codes import pack_codes
from nrdh.errors import NRDHError
from nrdh.search import knn, radius_search


def random_codes(seed, nq, nb, bits):
    """Packed random codes with many ties (short codes) and the 0/1 distance matrix."""
    rng = np.random.default_rng(seed)
    bq = rng.integers(0, 2, (nq, bits), dtype=np.uint8)
    bb = rng.integers(0, 2, (nb, bits), dtype=np.uint8)
    return pack_codes(bq), pack_codes(bb), (bq[:, None, :] != bb[None, :, :]).sum(-1)


def test_knn_hand_worked_ties_by_index():
    bq = pack_codes(np.array([[0, 0, 0, 0, 0, 0, 0, 0]], np.uint8))
    bb = pack_codes(np.array([[1, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0],
                              [0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0]],
                             np.uint8))  # fmt: skip
    dists, ids = knn(bq, bb, 3)
    np.testing.assert_array_equal(dists, [[0, 1, 1]])
    np.testing.assert_array_equal(ids, [[2, 1, 3]])
    assert dists.dtype == np.int32 and ids.dtype == np.int64


@pytest.mark.parametrize("bits", [16, 64, 96])
def test_knn_equals_stable_argsort_and_faiss_flat(bits):
    pq, pb, dist = random_codes(bits, 30, 700, bits)
    dists, ids = knn(pq, pb, 25)
    order = np.argsort(dist, axis=1, kind="stable")[:, :25]
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_array_equal(dists, np.take_along_axis(dist, order, 1))
    index = faiss.IndexBinaryFlat(bits)
    index.add(pb)
    dists_f, ids_f = index.search(pq, 25)
    np.testing.assert_array_equal(dists, dists_f)  # identical distances
    for i in range(len(pq)):  # ids differ only among items tied at the k-th distance
        inner = dists[i] < dists[i, -1]
        assert set(ids[i][inner]) == set(ids_f[i][inner])
        assert (dist[i, ids_f[i][~inner]] == dists[i, -1]).all()
    dists_k, _ = knn(pq, pb, 25, engine="faiss")
    np.testing.assert_array_equal(dists_k, dists)


def test_knn_uses_only_the_given_bits():
    pq, pb, dist = random_codes(1, 5, 50, 13)
    pq[:, -1] |= 0b111  # padding bits past bit 13 must not count
    dists, _ = knn(pq, pb, 50, bits=13)
    np.testing.assert_array_equal(dists, np.sort(dist, axis=1))


@pytest.mark.parametrize(("bits", "r"), [(16, 0), (16, 3), (64, 2), (64, 20), (8, 8)])
def test_radius_search_equals_brute_force_and_faiss(bits, r):
    pq, pb, dist = random_codes(r, 12, 400, bits)
    lims, dists, ids = radius_search(pq, pb, r)
    for i in range(len(pq)):
        want = np.flatnonzero(dist[i] <= r)
        want = want[np.argsort(dist[i, want], kind="stable")]
        np.testing.assert_array_equal(ids[lims[i] : lims[i + 1]], want)
        np.testing.assert_array_equal(dists[lims[i] : lims[i + 1]], dist[i, want])
    for got, expected in zip(
        radius_search(pq, pb, r, engine="faiss"), (lims, dists, ids), strict=True
    ):
        np.testing.assert_array_equal(got, expected)


def test_bad_arguments_are_named():
    pq, pb, _ = random_codes(0, 2, 5, 16)
    with pytest.raises(NRDHError, match="k: expected"):
        knn(pq, pb, 6)
    with pytest.raises(NRDHError, match="r: expected"):
        radius_search(pq, pb, -1)
    with pytest.raises(NRDHError, match="engine"):
        knn(pq, pb, 1, engine="annoy")
    with pytest.raises(NRDHError, match="bb: expected packed"):
        knn(pq, pb[:, :1], 1)
