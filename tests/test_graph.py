"""Graph building (Eqs. 2-4) on hand-sized cases."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import default_params

from nrdh.errors import NRDHError
from nrdh.graph import (
    binarize,
    build_adjacency,
    kmeans_order,
    partition,
    reweight,
    similarity,
)

# v1=(1,0), v2=(1,1), v3=(0,1), v4=(-1,0): cos(1,2)=cos(2,3)=0.707, cos(1,4)=-1, others <= 0.
GRAPH = default_params().graph  # params.yaml's graph section; tests vary one key at a time
X4 = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]])


def test_cosine_similarity_by_hand():
    r = 2**-0.5
    expected = torch.tensor(
        [[1, r, 0, -1], [r, 1, r, -r], [0, r, 1, 0], [-1, -r, 0, 1]], dtype=torch.float32
    )
    torch.testing.assert_close(similarity(X4, "cosine")[0], expected)


def test_binarize_is_strict():
    u = torch.tensor([[[1.0, 0.4], [0.41, 1.0]]])
    assert binarize(u, 0.4)[0].tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_reweighted_graph_four_nodes_with_an_isolated_node():
    # Edges above rho=0.4: 1-2 and 2-3; node 4 has no neighbour.
    cfg = replace(GRAPH, M=4, rho=0.4, p=0.8)
    expected = torch.tensor(
        [
            [0.8, 0.2, 0.0, 0.0],
            [0.1, 0.8, 0.1, 0.0],
            [0.0, 0.2, 0.8, 0.0],
            [0.0, 0.0, 0.0, 0.8],  # Eq. 4 as written: p on the diagonal, nothing else
        ]
    )
    torch.testing.assert_close(build_adjacency(X4, cfg)[0], expected)


def test_isolated_weight_one_makes_rows_stochastic():
    cfg = replace(GRAPH, M=4, rho=0.4, p=0.8, isolated_weight="one")
    a = build_adjacency(X4, cfg)[0]
    assert a[3].tolist() == [0.0, 0.0, 0.0, 1.0]
    torch.testing.assert_close(a.sum(1), torch.ones(4))


def test_self_in_rowsum_counts_the_diagonal():
    adj = binarize(similarity(X4, "cosine"), 0.4)
    a = reweight(adj, 0.8, self_in_rowsum=True)[0]
    # row 1: U_11 + U_12 = 2 -> 0.2/2; row 2: 3 ones -> 0.2/3
    assert a[0, 1].item() == pytest.approx(0.1)
    assert a[1, 0].item() == pytest.approx(0.2 / 3)
    assert a[1, 2].item() == pytest.approx(0.2 / 3)


def test_euclidean_similarity_scaled_to_unit_range():
    x = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [0.0, 2.5]]])
    u = similarity(x, "euclidean")[0]
    # distances 5 (1-2), 2.5 (1-3), sqrt(9+2.25) (2-3); max 5
    assert u[0, 1].item() == pytest.approx(0.0)
    assert u[0, 2].item() == pytest.approx(0.5)
    assert u[1, 2].item() == pytest.approx(1 - 11.25**0.5 / 5)
    torch.testing.assert_close(torch.diagonal(u), torch.ones(3))


def test_quantile_rho_keeps_the_top_pairs():
    cfg = replace(GRAPH, M=4, rho_mode="quantile", rho_quantile=0.8)
    a = build_adjacency(X4, cfg)[0]
    # off-diagonal u: 0.707 x4, 0 x4, -0.707 x2, -1 x2; the 0.8-quantile is 0.707, and
    # the strict > keeps none
    assert (a * (1 - torch.eye(4))).sum().item() == 0.0
    cfg = replace(GRAPH, M=4, rho_mode="quantile", rho_quantile=0.5)
    a = build_adjacency(X4, cfg)[0]
    assert a[0, 1].item() == pytest.approx(0.2)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rho_mode", ["fixed", "quantile"])
def test_adjacency_builds_on_the_input_device_and_dtype(device, dtype, rho_mode):
    # Edges 1-2 and 2-3 survive both the fixed rho 0.4 and the 0.5-quantile (0.0): the
    # matrix of test_reweighted_graph_four_nodes_with_an_isolated_node, node 4 isolated.
    cfg = replace(GRAPH, M=4, rho=0.4, p=0.8, rho_mode=rho_mode, rho_quantile=0.5)
    expected = torch.tensor(
        [[0.8, 0.2, 0, 0], [0.1, 0.8, 0.1, 0], [0, 0.2, 0.8, 0], [0, 0, 0, 0.8]], dtype=dtype
    )
    a = build_adjacency(X4.to(device, dtype), cfg)
    assert a.device.type == device and a.dtype == dtype
    torch.testing.assert_close(a[0].cpu(), expected)


def test_fixed_rho_follows_a_non_cpu_device_without_a_gpu():
    # The meta device stands in for CUDA here: a rho built on the CPU fails to compare.
    a = build_adjacency(torch.empty(3, 4, 2, device="meta"), replace(GRAPH, M=4))
    assert a.device.type == "meta" and a.shape == (3, 4, 4)


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
