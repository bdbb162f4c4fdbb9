"""Semantic measures of features on hand-made vectors whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nrdh.data import one_hot
from nrdh.features_file import Features
from nrdh.semantics import batch_edges, feature_stats, has_neighbour, knn_precision

# cos(x0, x1) = 1 / sqrt(1.01) = 0.995; cos(x1, x2) = 0.1 / sqrt(1.01) = 0.0995; x2 and x3
# are orthogonal, x0 and x3 opposite.
X = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [-1.0, 0.0]])


def test_batch_edges_join_distinct_valid_nodes_above_rho() -> None:
    nodes = np.array([[0, 1], [2, 3]])
    edges = batch_edges(X, nodes, np.ones((2, 2), bool), rho=0.4)
    assert edges.tolist() == [[[False, True], [True, False]], [[False, False], [False, False]]]
    # a padded slot (invalid) holding a copy of node 0 is nobody's neighbour
    edges = batch_edges(X, np.array([[0, 2, 0]]), np.array([[True, True, False]]), rho=0.4)
    assert not edges.any()
    # cos(x1, x2) = 0.0995: an edge at rho = 0.09, none at rho = 0.1
    assert batch_edges(X, np.array([[1, 2]]), np.ones((1, 2), bool), 0.09).sum() == 2
    assert batch_edges(X, np.array([[1, 2]]), np.ones((1, 2), bool), 0.1).sum() == 0


def test_has_neighbour_over_all_rows() -> None:
    assert has_neighbour(X, 0.4).tolist() == [True, True, False, False]
    assert has_neighbour(X, 0.09).tolist() == [True, True, True, False]
    assert has_neighbour(X, -1.5).all()  # any other row will do, never the row itself
    assert not has_neighbour(X[:1], -1.5).any()


def test_knn_precision_by_hand() -> None:
    yb = one_hot(np.array([0, 1, 0, 1]), 2)  # database X, labels A B A B
    xq = np.array([[1.0, 0.0], [0.0, -1.0]])
    yq = one_hot(np.array([0, 1]), 2)
    # query 0 ranks x0 (1), x1 (0.995), x2 (0): A B A -> 2/3; query 1 ranks x0 (0) and x3 (0)
    # tied, then x1 (-0.0995): A B B -> 2/3
    assert knn_precision(xq, X, yq, yb, 3) == pytest.approx(2 / 3)
    # the tie of query 1 goes to the lower database index: x0 (A) first -> 0 for label B
    assert knn_precision(xq[1:], X, yq[1:], yb, 1) == 0.0
    # multi-label: relevant when at least one label is shared
    both = np.array([[1, 1]], dtype=np.uint8)
    assert knn_precision(xq[:1], X, both, yb, 4) == 1.0


def test_feature_stats_of_one_batch_equal_the_global_ones() -> None:
    # M = 4 over the 4 training rows: one graph holds them all, so in-batch = global.
    # Only x0 - x1 is an edge above 0.4 (both label A): 2 of 4 nodes, degree 2 / 4 = 0.5.
    labels = one_hot(np.array([0, 0, 1, 1, 0, 1]), 2)
    x = np.vstack([X, [[1.0, 0.0], [0.0, 1.0]]]).astype(np.float32)
    split = {"train": np.arange(4), "database": np.arange(4), "query": np.array([4, 5])}
    feats = Features(x, labels, np.array(list("abcdef")), split, {})
    stats = feature_stats(feats, m=4, rho=0.4, seed=0, k=1)
    assert stats == {
        "neighbour_in_batch": 0.5,
        "neighbour_global": 0.5,
        "mean_degree_in_batch": 0.5,
        "edge_label_precision": 1.0,
        "knn_precision": 1.0,  # query [1, 0] (A) -> x0 (A); query [0, 1] (B) -> x2 (B)
    }
    # M = 2: two graphs of a seeded order; no graph can have more edges than the global ones
    stats = feature_stats(feats, m=2, rho=0.4, seed=0, k=1)
    assert stats["neighbour_in_batch"] in (0.0, 0.5)
    assert stats["neighbour_global"] == 0.5
