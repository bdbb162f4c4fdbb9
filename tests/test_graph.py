"""Graph building (Eqs. 2-4) on hand-sized cases."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import default_params

from nrdh.errors import NRDHError
from nrdh.graph import (
    binarize,
    build_adjacency,
    kmeans_order,
    partition,
    reweight,
    similarity,
    threshold_for,
)

# v1=(1,0), v2=(1,1), v3=(0,1), v4=(-1,0): cos(1,2)=cos(2,3)=0.707, cos(1,4)=-1, others <= 0.
GRAPH = default_params().graph  # params.yaml's graph section; tests vary one key at a time
X4 = np.array([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]], dtype=np.float32)


def test_cosine_similarity_by_hand():
    r = 2**-0.5
    expected = np.array([[1, r, 0, -1], [r, 1, r, -r], [0, r, 1, 0], [-1, -r, 0, 1]])
    u = similarity(X4, "cosine")
    assert u.dtype == np.float32
    np.testing.assert_allclose(u[0], expected, atol=1e-6)


def test_binarize_is_strict():
    u = np.array([[[1.0, 0.4], [0.41, 1.0]]], dtype=np.float32)
    assert binarize(u, 0.4)[0].tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_reweighted_graph_four_nodes_with_an_isolated_node():
    # Edges above rho=0.4: 1-2 and 2-3; node 4 has no neighbour.
    expected = np.array(
        [
            [0.8, 0.2, 0.0, 0.0],
            [0.1, 0.8, 0.1, 0.0],
            [0.0, 0.2, 0.8, 0.0],
            [0.0, 0.0, 0.0, 0.8],  # Eq. 4 as written: p on the diagonal, nothing else
        ],
        dtype=np.float32,
    )
    a = build_adjacency(X4, rho=0.4, p=0.8)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a[0], expected)


def test_isolated_weight_one_makes_rows_stochastic():
    a = build_adjacency(X4, rho=0.4, p=0.8, isolated_weight="one")[0]
    assert a[3].tolist() == [0.0, 0.0, 0.0, 1.0]
    np.testing.assert_allclose(a.sum(1), np.ones(4), rtol=1e-6)


def test_self_in_rowsum_counts_the_diagonal():
    adj = binarize(similarity(X4, "cosine"), 0.4)
    a = reweight(adj, 0.8, self_in_rowsum=True)[0]
    # row 1: U_11 + U_12 = 2 -> 0.2/2; row 2: 3 ones -> 0.2/3
    assert a[0, 1] == pytest.approx(0.1)
    assert a[1, 0] == pytest.approx(0.2 / 3)
    assert a[1, 2] == pytest.approx(0.2 / 3)


def test_euclidean_similarity_scaled_to_unit_range():
    x = np.array([[[0.0, 0.0], [3.0, 4.0], [0.0, 2.5]]], dtype=np.float32)
    u = similarity(x, "euclidean")[0]
    # distances 5 (1-2), 2.5 (1-3), sqrt(9+2.25) (2-3); max 5
    assert u.dtype == np.float32
    assert u[0, 1] == pytest.approx(0.0)
    assert u[0, 2] == pytest.approx(0.5)
    assert u[1, 2] == pytest.approx(1 - 11.25**0.5 / 5)
    np.testing.assert_array_equal(np.diagonal(u), np.ones(3))
    np.testing.assert_array_equal(u, u.T)


def test_quantile_rho_keeps_the_top_pairs():
    a = build_adjacency(X4, rho=0.4, p=0.8, quantile=0.8)[0]
    # off-diagonal u: 0.707 x4, 0 x4, -0.707 x2, -1 x2; the 0.8-quantile is 0.707, and
    # the strict > keeps none
    assert (a * (1 - np.eye(4))).sum() == 0.0
    a = build_adjacency(X4, rho=0.4, p=0.8, quantile=0.5)[0]
    assert a[0, 1] == pytest.approx(0.2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("quantile", [None, 0.5])
def test_adjacency_keeps_the_input_dtype(dtype, quantile):
    # Edges 1-2 and 2-3 survive both the fixed rho 0.4 and the 0.5-quantile (0.0): the
    # matrix of test_reweighted_graph_four_nodes_with_an_isolated_node, node 4 isolated.
    expected = np.array(
        [[0.8, 0.2, 0, 0], [0.1, 0.8, 0.1, 0], [0, 0.2, 0.8, 0], [0, 0, 0, 0.8]], dtype=dtype
    )
    a = build_adjacency(X4.astype(dtype), rho=0.4, p=0.8, quantile=quantile)
    assert a.dtype == dtype
    np.testing.assert_allclose(a[0], expected, rtol=1e-6)


def test_quantile_rho_interpolates_linearly():
    # Off-diagonal u of X4 sorted: -1, -1, -0.707, -0.707, 0 x4, 0.707 x4 (12 values); the
    # 0.3-quantile sits at rank 0.3 * 11 = 3.3: -0.707 + 0.3 * (0 - -0.707).
    rho = threshold_for(similarity(X4, "cosine"), 0.4, quantile=0.3)
    assert rho.shape == (1, 1, 1) and rho.dtype == np.float32
    assert rho.item() == pytest.approx(-(2**-0.5) * 0.7, abs=1e-6)


def test_partition_pads_the_last_graph_and_marks_it():
    nodes, valid = partition(7, 3, np.random.default_rng(0))
    assert nodes.shape == valid.shape == (3, 3)
    assert sorted(nodes[valid].tolist()) == list(range(7))
    assert valid.sum() == 7 and valid[2].tolist() == [True, False, False]


def test_partition_is_seeded():
    a, _ = partition(20, 5, np.random.default_rng(3))
    b, _ = partition(20, 5, np.random.default_rng(3))
    c, _ = partition(20, 5, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_kmeans_order_groups_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, 0.0]])
    x = np.concatenate([c + rng.normal(size=(5, 2)) for c in centres])[rng.permutation(15)]
    order = kmeans_order(x, 5, seed=0)
    assert sorted(order.tolist()) == list(range(15))
    groups = x[order].reshape(3, 5, 2)
    assert all(np.ptp(g, axis=0).max() < 8 for g in groups)


@pytest.mark.parametrize(("key", "value"), [("M", 1), ("rho", 1.5), ("p", -0.1), ("partitions", 0)])
def test_bad_params_name_the_key(key, value):
    with pytest.raises(NRDHError, match=f"graph.{key}"):
        replace(GRAPH, **{key: value})
