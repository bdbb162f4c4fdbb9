"""Run diagnostics (taught / learnt / test mAP) and the GCN's plateau stopping rule."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import default_params, tiny_digits_pipeline

from nrdh import codes, diagnostics, metrics, train
from nrdh.codes_file import read_codes
from nrdh.data import DatasetRef
from nrdh.errors import NRDHError
from nrdh.stages.diagnose import RunFiles, diagnose_stage, run_files

# Four training images, two classes (multi-hot), 2 bits. Even positions (0, 2) query the
# odd ones (1, 3): position 0 is class 0, 1 class 0, 2 class 1, 3 class 1.
LABELS = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.uint8)
# sign(g(x)) with Eq. 19's >= 0: [1,1], [1,1] (0.0 counts as +), [0,0], [0,0]
REPS = np.array([[0.3, 0.2], [0.0, 1.5], [-0.1, -2.0], [-0.5, -0.4]], np.float32)
NETWORK = np.array([[1, 1], [1, 0], [0, 0], [1, 1]], np.uint8)


def test_fit_report_by_hand():
    # test split: one query [1,1] of class 0 against [1,1] (class 1), [0,0] and [1,0]
    # (class 0): distances 0, 2, 1, so the relevant items rank 2 and 3: AP = (1/2 + 2/3) / 2
    test = (
        np.array([[1, 1]], np.uint8),
        np.array([[1, 1], [0, 0], [1, 0]], np.uint8),
        np.array([[1, 0]], np.uint8),
        np.array([[0, 1], [1, 0], [1, 0]], np.uint8),
    )
    r = diagnostics.fit_report(REPS, NETWORK, LABELS, ties="index", empty_query="zero", test=test)
    # taught codes: query 0 [1,1] finds position 1 [1,1] (its class) at distance 0, query 2
    # [0,0] finds position 3 [0,0] at 0: both APs 1
    assert r["map_target"] == pytest.approx(1.0)
    # learnt codes: query 0 [1,1] has position 3 [1,1] (other class) at 0 and position 1
    # [1,0] at 1: AP 1/2; query 2 [0,0] has position 1 (other class) at 1, position 3 at 2
    assert r["map_network"] == pytest.approx(0.5)
    assert r["fit_gap"] == pytest.approx(0.5)
    assert r["map_test"] == pytest.approx(7 / 12)
    assert r["generalisation_gap"] == pytest.approx(0.5 - 7 / 12)
    # agreement: position 0 both bits, 1 bit 0 only, 2 both, 3 none: 5 of 8
    assert r["bit_agreement"] == pytest.approx(5 / 8)
    assert r["bit_agreement_per_bit"] == pytest.approx([3 / 4, 2 / 4])
    assert (r["protocol"]["train_queries"], r["protocol"]["train_database"]) == (2, 2)
    assert r["map_test"] == pytest.approx(r["map_target"] - r["fit_gap"] - r["generalisation_gap"])


def test_fit_report_rejects_mismatched_runs():
    with pytest.raises(NRDHError, match="same"):
        diagnostics.fit_report(REPS, NETWORK[:, :1], LABELS, ties="index", empty_query="zero")


def test_half_split_even_queries_odd_database():
    q, b = diagnostics.half_split(5)
    assert q.tolist() == [0, 2, 4] and b.tolist() == [1, 3]
    with pytest.raises(NRDHError, match="at least 2"):
        diagnostics.half_split(1)


def test_regulariser_share_of_last_epoch():
    history = [
        {"epoch": 1, "loss": 1.0, "recon": 0.9, "reg": 50.0},
        {"epoch": 2, "loss": 0.5, "recon": 0.4, "reg": 100.0},
    ]
    share = diagnostics.regulariser_share(history, beta=0.001)
    assert share["epochs_run"] == 2
    assert share["reg_share"] == pytest.approx(0.001 * 100.0 / 0.5)


@pytest.mark.parametrize(
    ("losses", "patience", "min_delta", "expected"),
    [
        ([], 1, 0.0, False),
        ([1.0], 1, 0.0, False),
        # 0.849 is below 0.85 but not by 1%: three epochs without improvement
        ([1.0, 0.9, 0.85, 0.849, 0.8495, 0.849], 3, 0.01, True),
        ([1.0, 0.9, 0.85, 0.849, 0.8495], 3, 0.01, False),
        # without the relative margin 0.849 improves, so only two epochs wait
        ([1.0, 0.9, 0.85, 0.849, 0.8495, 0.849], 3, 0.0, False),
        # an improvement after waiting resets the count
        ([1.0, 1.0, 1.0], 2, 0.0, True),
        ([1.0, 1.0, 1.0, 0.5, 0.5], 2, 0.0, False),
    ],
)
def test_plateau_reached_on_hand_made_losses(losses, patience, min_delta, expected):
    assert train.plateau_reached(losses, patience, min_delta) is expected


def _tiny_gcn(cfg):
    """A GCN trained on 40 random 6-d points in 4 graphs of 10 (identity adjacency)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    nodes = np.arange(40).reshape(1, 4, 10)
    valid = np.ones((1, 4, 10), bool)
    adj = np.broadcast_to(np.eye(10, dtype=np.float32), (1, 4, 10, 10)).copy()
    return train.train_gcn(x, nodes, valid, adj, 4, cfg, seed=0)


def test_gcn_plateau_stops_early_on_the_same_trajectory():
    base = dataclasses.replace(default_params().gcn, epochs=60, hidden=(8,), graphs_per_step=2)
    full_model, full = _tiny_gcn(base)
    plateau = dataclasses.replace(base, stop="plateau", patience=2, min_delta=0.05)
    model, early = _tiny_gcn(plateau)
    losses = [h["loss"] for h in full]
    stop_at = next(k for k in range(1, 61) if train.plateau_reached(losses[:k], 2, 0.05))
    assert stop_at < 60
    assert len(early) == stop_at
    assert early == full[:stop_at]  # stopping does not change the epochs that ran
    # stop: epochs with an unreachable plateau trains the same weights as stop: epochs
    never = dataclasses.replace(plateau, patience=1000)
    same, _ = _tiny_gcn(never)
    for a, b in zip(full_model.state_dict().values(), same.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    early_weights = zip(model.state_dict().values(), same.state_dict().values(), strict=True)
    assert not all(torch.equal(a, b) for a, b in early_weights)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"stop": "loss"}, "gcn.stop"),
        ({"patience": 0}, "gcn.patience"),
        ({"min_delta": -0.1}, "gcn.min_delta"),
    ],
)
def test_gcn_stop_params_are_checked(change, key):
    with pytest.raises(NRDHError, match=key):
        default_params(gcn=change)


def test_diagnose_run_on_tiny_digits(tmp_path):
    """On digits the database is the training set, so the codes file's database codes are
    the network's codes of the training images: the report must agree with them."""
    p = tiny_digits_pipeline(tmp_path)
    out = tmp_path / "diag" / "diag_16.json"
    files = ("reps.h5", "hasher.pt", "codes.h5", "gcn.json")
    common = {
        "features_path": tmp_path / "features.h5",
        "data": DatasetRef.of(p, "digits"),
        "codes_cfg": p.codes,
        "eval_cfg": p.evaluate,
        "gcn_cfg": p.gcn,
    }
    diagnose_stage(runs=[RunFiles(16, *(tmp_path / f for f in files), out)], **common)
    report = json.loads(out.read_text())
    c = read_codes(tmp_path / "codes.h5")
    db_bits = codes.unpack_codes(c["database"]["codes"], 16)
    with h5py.File(tmp_path / "reps.h5") as f:
        train_idx, reps = f["train"][()], f["reps"][()]
    assert np.array_equal(c["database"]["index"], train_idx)
    labels = c["database"]["labels"]
    assert report["map_network"] == pytest.approx(
        diagnostics.half_split_map(db_bits, labels, "index", "zero")
    )
    assert report["map_target"] == pytest.approx(
        diagnostics.half_split_map(codes.sign_to_bits(reps), labels, "index", "zero")
    )
    assert report["bit_agreement"] == pytest.approx((codes.sign_to_bits(reps) == db_bits).mean())
    assert report["map_test"] == pytest.approx(
        metrics.mean_average_precision(
            c["query"]["codes"], c["database"]["codes"], c["query"]["labels"], labels, bits=16
        )
    )
    assert report["gcn"]["epochs_run"] == p.gcn.epochs
    assert report["bits"] == 16 and report["method"] == "nrdh"
    assert report["seed"] == p.base.seed  # the training seed the hash network recorded
    # the code length comes from params: a run of another one is refused, naming the file
    with pytest.raises(NRDHError, match=r"reps.h5: holds 16-bit .* expected 32 bits"):
        diagnose_stage(runs=[RunFiles(32, *(tmp_path / f for f in files), out)], **common)


def test_run_files_fill_the_templates_at_each_code_length() -> None:
    names = ("r{bits}.h5", "m/h{bits}.pt", "c/{bits}.h5", "l/g{bits}.json", "d/x{bits}.json")
    runs = run_files(*names, (16, 64))
    assert runs[1] == RunFiles(
        64,
        Path("r64.h5"),
        Path("m/h64.pt"),
        Path("c/64.h5"),
        Path("l/g64.json"),
        Path("d/x64.json"),
    )
    assert [r.out.name for r in runs] == ["x16.json", "x64.json"]
    with pytest.raises(NRDHError, match="fields"):
        run_files("reps.h5", *names[1:], (16, 64))  # one file for every code length
