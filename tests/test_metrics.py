"""Retrieval metrics vs hand-worked cases, per-query stable-argsort references and tie orders."""

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nrdh.codes import pack_codes
from nrdh.errors import NRDHError
from nrdh.metrics import (
    _torch_stats,
    mean_average_precision,
    pr_curve,
    precision_recall_at_k,
    radius_metrics,
    rank_stats,
    retrieval_report,
)

# One query [0, 0] against four items; ranked by (distance, index):
# item 1 (d=0, not relevant), item 0 (d=1, relevant), item 3 (d=1, not relevant),
# item 2 (d=2, relevant).
HAND_BQ = np.array([[0, 0]], np.uint8)
HAND_BB = np.array([[0, 1], [0, 0], [1, 1], [1, 0]], np.uint8)
HAND_YQ = np.array([[1, 0, 0]], np.uint8)
HAND_YB = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]], np.uint8)


def reference_ap(dist: np.ndarray, rel: np.ndarray, topk: int) -> float:
    """AP@topk as the field's reference code computes it, with a stable per-query argsort."""
    hits = rel[np.argsort(dist, kind="stable")][:topk]
    if hits.sum() == 0:
        return 0.0
    ranks = np.flatnonzero(hits) + 1.0
    return float(np.mean(np.arange(1, hits.sum() + 1) / ranks))


def brute(bq, bb, yq, yb):
    """(distances, relevance) matrices (nq, nb) by definition."""
    dist = (bq[:, None, :] != bb[None, :, :]).sum(-1)
    rel = (yq @ yb.T > 0) if yq.ndim == 2 else (yq[:, None] == yb[None, :])
    return dist, rel


def random_case(rng, nq, nb, bits, n_labels, multi_hot=True, density=0.25):
    """Random 0/1 codes with many ties, and multi-hot or class-id labels."""
    bq = rng.integers(0, 2, (nq, bits), dtype=np.uint8)
    bb = rng.integers(0, 2, (nb, bits), dtype=np.uint8)
    if multi_hot:
        yq = (rng.random((nq, n_labels)) < density).astype(np.uint8)
        yb = (rng.random((nb, n_labels)) < density).astype(np.uint8)
    else:
        yq, yb = rng.integers(0, n_labels, nq), rng.integers(0, n_labels, nb)
    return bq, bb, yq, yb


def tie_orders(dist_row: np.ndarray):
    """Every database order consistent with ascending distance (all orders within ties)."""
    groups = [np.flatnonzero(dist_row == d) for d in np.unique(dist_row)]
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield np.concatenate([np.array(p, dtype=np.int64) for p in perms])


def ap_of_order(rel_row: np.ndarray, order: np.ndarray, topk: int) -> float:
    """AP@topk of one fixed ranking."""
    hits = rel_row[order][:topk]
    if hits.sum() == 0:
        return 0.0
    return float(np.mean(np.arange(1, hits.sum() + 1) / (np.flatnonzero(hits) + 1.0)))


# ----------------------------------------------------------------------------- hand-worked


def test_hand_worked_index_ties():
    assert mean_average_precision(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB) == pytest.approx(
        (1 / 2 + 2 / 4) / 2
    )
    assert mean_average_precision(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, topk=3) == pytest.approx(
        1 / 2
    )
    prec, rec = precision_recall_at_k(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, ks=(1, 2, 10))
    assert prec == pytest.approx({1: 0.0, 2: 1 / 2, 10: 2 / 4})
    assert rec == pytest.approx({1: 0.0, 2: 1 / 2, 10: 1.0})


def test_hand_worked_expected_ties():
    # The tie at d=1 puts the relevant item at rank 2 or 3 with probability 1/2 each.
    exp_all = ((1 / 2 + 2 / 4) + (1 / 3 + 2 / 4)) / 2 / 2
    got = mean_average_precision(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, ties="expected")
    assert got == pytest.approx(exp_all, abs=1e-12)
    got_k = mean_average_precision(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, topk=2, ties="expected")
    assert got_k == pytest.approx((1 / 2 + 0) / 2, abs=1e-12)
    prec, rec = precision_recall_at_k(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, ks=(2,), ties="expected")
    assert prec[2] == pytest.approx(1 / 4) and rec[2] == pytest.approx(1 / 4)


def test_hand_worked_radius_and_curve():
    got = radius_metrics(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, radius=1)
    assert got == pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 2 / 5})
    curve = pr_curve(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB)
    np.testing.assert_array_equal(curve["radius"], [0, 1, 2])
    np.testing.assert_allclose(curve["precision"], [0.0, 1 / 3, 1 / 2])  # empty return: 0
    np.testing.assert_allclose(curve["recall"], [0.0, 1 / 2, 1.0])


def test_curve_counts_the_queries_that_get_a_return():
    """Query 00 meets the one item 11 only at radius 2; query 11 meets it at radius 0."""
    bq, bb = np.array([[0, 0], [1, 1]], np.uint8), np.array([[1, 1]], np.uint8)
    yq, yb = np.array([[1], [1]], np.uint8), np.array([[1]], np.uint8)
    curve = pr_curve(bq, bb, yq, yb)
    np.testing.assert_allclose(curve["returned"], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(curve["precision"], [0.5, 0.5, 1.0])  # the empty return: 0
    np.testing.assert_allclose(curve["recall"], [0.5, 0.5, 1.0])
    rows = retrieval_report(bq[:1], bb, yq[:1], yb)["pr_curve"]  # query 00 alone
    assert [(r["returned"], r["precision_returned"]) for r in rows] == [
        (0, None),
        (0, None),
        (1, 1),
    ]


def test_query_without_relevant_items_zero_or_skip():
    yq = np.vstack([HAND_YQ, [[0, 0, 0]]])  # second query has no label in common with any item
    bq = np.vstack([HAND_BQ, HAND_BQ])
    one = (1 / 2 + 2 / 4) / 2
    assert mean_average_precision(bq, HAND_BB, yq, HAND_YB) == pytest.approx(one / 2)
    assert mean_average_precision(bq, HAND_BB, yq, HAND_YB, empty_query="skip") == pytest.approx(
        one
    )
    rad = radius_metrics(bq, HAND_BB, yq, HAND_YB, radius=1, empty_query="skip")
    assert rad["recall"] == pytest.approx(1 / 2)
    report = retrieval_report(bq, HAND_BB, yq, HAND_YB, topk=1, ks=(1,), empty_query="skip")
    assert report["map_at_k"] == 0.0  # no query has a relevant item at rank 1: nothing to average
    assert report["protocol"]["queries_without_relevant"] == 1


def test_class_ids_equal_one_hot_labels():
    rng = np.random.default_rng(1)
    bq, bb, yq, yb = random_case(rng, 6, 40, 5, 4, multi_hot=False)
    eye = np.eye(4, dtype=np.uint8)
    for ties in ("index", "expected"):
        a = retrieval_report(bq, bb, yq, yb, topk=7, ks=(3, 9), ties=ties)
        b = retrieval_report(bq, bb, eye[yq], eye[yb], topk=7, ks=(3, 9), ties=ties)
        assert a == b


def test_packed_input_equals_unpacked():
    rng = np.random.default_rng(2)
    bq, bb, yq, yb = random_case(rng, 5, 30, 13, 3)
    a = retrieval_report(bq, bb, yq, yb, topk=5, ks=(4,))
    b = retrieval_report(pack_codes(bq), pack_codes(bb), yq, yb, bits=13, topk=5, ks=(4,))
    assert a == b


def test_report_is_json_ready_and_complete():
    report = retrieval_report(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, topk=2, ks=(1, 2))
    json.dumps(report)
    assert report["protocol"]["nq"] == 1 and report["protocol"]["nb"] == 4
    assert report["protocol"]["bits"] == 2 and report["protocol"]["empty_return_precision"] == 0
    assert [row["radius"] for row in report["pr_curve"]] == [0, 1, 2]
    assert retrieval_report(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB)["map_at_k"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ties": "random"}, "ties"),
        ({"empty_query": "drop"}, "empty_query"),
        ({"topk": 0}, "top-K"),
        ({"radius": -1}, "radius"),
    ],
)
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(NRDHError, match=match):
        retrieval_report(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB, **kwargs)


def test_bad_inputs_are_rejected():
    with pytest.raises(NRDHError, match="bq"):
        mean_average_precision(HAND_BQ + 2, HAND_BB, HAND_YQ, HAND_YB)
    with pytest.raises(NRDHError, match="sizes"):
        mean_average_precision(HAND_BQ, HAND_BB, HAND_YQ, HAND_YB[:3])
    with pytest.raises(NRDHError, match="labels"):
        mean_average_precision(HAND_BQ, HAND_BB, HAND_YQ, np.zeros(4, np.int64))
    with pytest.raises(NRDHError, match="bits"):
        mean_average_precision(HAND_BQ, HAND_BB[:, :1], HAND_YQ, HAND_YB)


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("multi_hot", [True, False])
def test_index_ties_match_per_query_stable_argsort(multi_hot):
    rng = np.random.default_rng(3)
    bq, bb, yq, yb = random_case(rng, 20, 500, 12, 6, multi_hot=multi_hot)
    dist, rel = brute(bq, bb, yq, yb)
    n_rel = np.maximum(rel.sum(1), 1)  # a query without relevant items has recall 0 either way
    ks = (1, 10, 57, 500, 900)
    report = retrieval_report(bq, bb, yq, yb, topk=57, ks=ks)
    for topk, got in ((500, report["map_all"]), (57, report["map_at_k"])):
        want = np.mean([reference_ap(dist[i], rel[i], topk) for i in range(len(bq))])
        assert got == pytest.approx(want, abs=1e-9)
    for k in ks:
        hits = np.array(
            [rel[i][np.argsort(dist[i], kind="stable")][:k].sum() for i in range(len(bq))]
        )
        assert report["precision_at_k"][k] == pytest.approx(np.mean(hits / min(k, 500)), abs=1e-9)
        assert report["recall_at_k"][k] == pytest.approx(np.mean(hits / n_rel), abs=1e-9)
    for row in report["pr_curve"]:
        inside = dist <= row["radius"]
        n_in = inside.sum(1)
        want_p = np.mean(np.where(n_in > 0, (inside & rel).sum(1) / np.maximum(n_in, 1), 0.0))
        assert row["precision"] == pytest.approx(want_p, abs=1e-9)
        assert row["recall"] == pytest.approx(np.mean((inside & rel).sum(1) / n_rel), abs=1e-9)


def test_expected_ties_equal_mean_over_every_tie_order():
    rng = np.random.default_rng(4)
    bq, bb, yq, yb = random_case(rng, 3, 8, 3, 3, density=0.4)
    dist, rel = brute(bq, bb, yq, yb)
    for topk in (None, 2, 3, 5):
        k = topk or 8
        want = np.mean(
            [np.mean([ap_of_order(rel[i], o, k) for o in tie_orders(dist[i])]) for i in range(3)]
        )
        got = mean_average_precision(bq, bb, yq, yb, topk=topk, ties="expected")
        assert got == pytest.approx(want, abs=1e-12)


def test_expected_ties_match_mean_over_random_tie_orders():
    rng = np.random.default_rng(5)
    bq, bb, yq, yb = random_case(rng, 4, 200, 6, 5)
    dist, rel = brute(bq, bb, yq, yb)
    for topk in (None, 30):
        k = topk or 200
        samples = []
        for _ in range(2000):  # a random permutation then a stable sort = random order in ties
            perm = rng.permutation(200)
            samples.append(
                np.mean([reference_ap(dist[i, perm], rel[i, perm], k) for i in range(4)])
            )
        got = mean_average_precision(bq, bb, yq, yb, topk=topk, ties="expected")
        assert abs(got - np.mean(samples)) < 4 * np.std(samples) / np.sqrt(len(samples)) + 1e-12


def test_torch_path_matches_kernel():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    for multi_hot in (True, False):
        bq, bb, yq, yb = random_case(rng, 9, 120, 10, 4, multi_hot=multi_hot)
        for ties in ("index", "expected"):
            want = rank_stats(bq, bb, yq, yb, cuts=(5, 50), ties=ties)
            got = _torch_stats(
                torch.from_numpy(bq),
                torch.from_numpy(bb),
                yq,
                yb,
                None,
                (5, 50),
                ties,
                block_size=4,
            )
            for name in ("n", "m", "ap_sum", "ap_sum_cut", "rel_cut"):
                a, b = getattr(want, name), getattr(got, name)
                assert (a is None and b is None) or np.allclose(a, b, rtol=0, atol=1e-9), name


# ----------------------------------------------------------------------------- properties

cases = st.builds(
    random_case,
    st.integers(0, 2**32 - 1).map(np.random.default_rng),
    nq=st.integers(1, 5),
    nb=st.integers(1, 40),
    bits=st.integers(1, 9),
    n_labels=st.integers(1, 4),
    multi_hot=st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(case=cases, topk=st.integers(1, 50), ties=st.sampled_from(["index", "expected"]))
def test_every_metric_lies_in_unit_interval(case, topk, ties):
    report = retrieval_report(*case, topk=topk, ks=(1, 5, 50), ties=ties)
    values = [report["map_all"], report["map_at_k"], report["precision_radius"]]
    values += [report["recall_radius"], report["f1_radius"]]
    values += [*report["precision_at_k"].values(), *report["recall_at_k"].values()]
    values += [v for row in report["pr_curve"] for v in (row["precision"], row["recall"])]
    assert all(-1e-12 <= v <= 1 + 1e-12 for v in values)


@settings(max_examples=40, deadline=None)
@given(case=cases, topk=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_expected_ties_do_not_depend_on_database_order(case, topk, seed):
    bq, bb, yq, yb = case
    perm = np.random.default_rng(seed).permutation(len(bb))
    a = retrieval_report(bq, bb, yq, yb, topk=topk, ks=(3,), ties="expected")
    b = retrieval_report(bq, bb[perm], yq, yb[perm], topk=topk, ks=(3,), ties="expected")
    for key in ("map_all", "map_at_k", "precision_radius", "recall_radius"):
        assert a[key] == pytest.approx(b[key], abs=1e-9)
    assert a["precision_at_k"][3] == pytest.approx(b["precision_at_k"][3], abs=1e-9)
