"""Precision at recall levels (the paper's Table 3) vs a hand-worked case and brute force."""

import math
from fractions import Fraction

import numpy as np
import pytest
from test_metrics import brute, random_case, tie_orders

from nrdh.errors import NRDHError
from nrdh.metrics import DEFAULT_RECALLS, precision_at_recall

# Query 0 = [0, 0], label 0, against five items; by (distance, index):
# item 2 (d=0, relevant), item 1 (d=1, no), item 3 (d=1, relevant), item 0 (d=2, relevant),
# item 4 (d=2, no). R = 3, so levels 0.1, 0.2 need 1 hit, 0.4, 0.6 need 2, 0.8, 1.0 need 3.
# Query 1 has label 2, which no item carries: it has no relevant item.
HAND_BQ = np.array([[0, 0], [0, 0]], np.uint8)
HAND_BB = np.array([[1, 1], [0, 1], [0, 0], [1, 0], [1, 1]], np.uint8)
HAND_YQ = np.array([0, 2])
HAND_YB = np.array([0, 1, 0, 0, 1])
# ties="index": hits at ranks 1, 3, 4 -> precision 1/1, 2/3, 3/4.
HAND_INDEX = [1, 1, 2 / 3, 2 / 3, 3 / 4, 3 / 4]
# ties="expected": the 2nd hit is first or second of the d=1 pair after 1 item: (2/2 + 2/3) / 2;
# the 3rd is first or second of the d=2 pair after 3 items: (3/4 + 3/5) / 2.
HAND_EXPECTED = [1, 1, 5 / 6, 5 / 6, 27 / 40, 27 / 40]


@pytest.mark.parametrize(("ties", "want"), [("index", HAND_INDEX), ("expected", HAND_EXPECTED)])
def test_hand_worked(ties, want):
    skip = precision_at_recall(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, ties=ties, empty_query="skip")
    assert list(skip) == list(DEFAULT_RECALLS)
    assert list(skip.values()) == pytest.approx(want, abs=1e-12)
    zero = precision_at_recall(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, ties=ties)
    assert list(zero.values()) == pytest.approx([w / 2 for w in want], abs=1e-12)


def hits_needed(level: float, n_rel: int) -> int:
    """ceil(level * R) in exact arithmetic."""
    return math.ceil(Fraction(str(level)) * n_rel)


def precision_of_order(rel_row: np.ndarray, order: np.ndarray, k: int) -> float:
    """k / rank of the k-th relevant item of one fixed ranking."""
    return k / (np.flatnonzero(rel_row[order])[k - 1] + 1)


@pytest.mark.parametrize("multi_hot", [True, False])
def test_index_ties_match_stable_argsort(multi_hot):
    rng = np.random.default_rng(7)
    bq, bb, yq, yb = random_case(rng, 9, 40, 6, 4, multi_hot=multi_hot)
    dist, rel = brute(bq, bb, yq, yb)
    levels = (0.1, 0.3, 0.6, 0.7, 1.0)
    want = np.zeros((len(bq), len(levels)))
    for i in range(len(bq)):
        n_rel = int(rel[i].sum())
        for c, level in enumerate(levels):
            if n_rel:
                order = np.argsort(dist[i], kind="stable")
                want[i, c] = precision_of_order(rel[i], order, hits_needed(level, n_rel))
    got = precision_at_recall(bq, bb, yq, yb, levels, block_size=4)
    assert list(got.values()) == pytest.approx(want.mean(0).tolist(), abs=1e-12)


def test_expected_ties_equal_mean_over_every_tie_order():
    rng = np.random.default_rng(12)
    bq, bb, yq, yb = random_case(rng, 4, 7, 3, 3, density=0.5)
    dist, rel = brute(bq, bb, yq, yb)
    want = np.zeros((len(bq), len(DEFAULT_RECALLS)))
    for i in range(len(bq)):
        n_rel = int(rel[i].sum())
        orders = list(tie_orders(dist[i]))
        for c, level in enumerate(DEFAULT_RECALLS):
            if n_rel:
                k = hits_needed(level, n_rel)
                want[i, c] = np.mean([precision_of_order(rel[i], o, k) for o in orders])
    assert ((rel.sum(1) > 0) & (rel.sum(1) < 7)).all()  # every query has hits and misses to order
    got = precision_at_recall(bq, bb, yq, yb, ties="expected")
    assert list(got.values()) == pytest.approx(want.mean(0).tolist(), abs=1e-12)


def test_packed_input_and_bad_levels():
    packed = [np.packbits(b, axis=1) for b in (HAND_BQ, HAND_BB)]
    got = precision_at_recall(*packed, HAND_YQ, HAND_YB, bits=2, empty_query="skip")
    assert list(got.values()) == pytest.approx(HAND_INDEX, abs=1e-12)
    for bad in ((0.0, 0.5), (1.5,), ()):
        with pytest.raises(NRDHError, match="recalls: expected levels in"):
            precision_at_recall(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, bad)


def test_hits_needed_is_exact_ceil():
    # R = 100 relevant items among 101 at one distance, ranked by index (item 55 is the miss):
    # 0.55 * 100 is 55 hits at rank 55, not 56 hits at rank 57 (0.55 * 100 = 55.00000000000001).
    bb, yb = np.zeros((101, 1), np.uint8), np.array([0] * 55 + [1] + [0] * 45)
    got = precision_at_recall(np.zeros((1, 1), np.uint8), bb, np.array([0]), yb, (0.55,))
    assert got == {0.55: pytest.approx(1.0, abs=1e-12)}
