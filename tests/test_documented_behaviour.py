"""What the docs state holds in the code: the dataset's mAP cut-off (docs/DATASETS.md), the
ITQ iteration count (baselines._fit_itq) and the labels of the default mosaics."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import default_params

from nrdh import baselines, metrics
from nrdh.codes_file import read_codes
from nrdh.data import DatasetRef, load_dataset
from nrdh.params import DigitsData
from nrdh.stages.baseline_codes import Args as BaselineArgs
from nrdh.stages.baseline_codes import baseline_codes_stage
from nrdh.stages.evaluate import Args as EvaluateArgs
from nrdh.stages.evaluate import evaluate_stage
from nrdh.stages.extract_features_shard import extract_features_stage

P = default_params(evaluate={"topk": 100, "radius": 2, "ks": [10]})
DIGITS = DigitsData(source="digits", query_per_class=5)


@pytest.fixture(scope="module")
def codes(tmp_path_factory) -> Path:
    """LSH codes of 16 bits for the digits (50 queries, 1,747 database images)."""
    d = tmp_path_factory.mktemp("topk")
    extract_features_stage(
        out=d / "features.h5", data=DatasetRef("digits", DIGITS, 0), f_cfg=P.features
    )
    lsh = BaselineArgs("lsh", 0, features=d / "features.h5", out=str(d / "codes" / "{bits}.h5"))
    baseline_codes_stage(lsh, bits=(16,), cfg=P.baselines)
    return d / "codes"


def evaluate_with(codes: Path, out: Path, topk: int | None) -> dict:
    args = EvaluateArgs(
        dataset="digits",
        seed=0,
        codes=str(codes / "{bits}.h5"),
        metrics=str(out / "eval_{bits}.json"),
        pr=str(out / "pr_{bits}.json"),
    )
    evaluate_stage(args, bits=(16,), ds_cfg=replace(DIGITS, topk=topk), cfg=P.evaluate)
    return json.loads((out / "eval_16.json").read_text())


@pytest.mark.parametrize(("topk", "cut"), [(None, 100), (0, None), (7, 7)])
def test_dataset_topk_sets_the_map_cut_off(codes, tmp_path, topk, cut):
    c = read_codes(codes / "16.h5")
    q, db = c["query"], c["database"]
    report = evaluate_with(codes, tmp_path, topk)
    assert report["protocol"]["topk"] == cut
    if cut is None:  # mAP@all only: no cut-off
        assert report["map_at_k"] is None
    else:
        want = metrics.mean_average_precision(
            q["codes"], db["codes"], q["labels"], db["labels"], bits=16, topk=cut
        )
        assert report["map_at_k"] == pytest.approx(want)
        assert report["map_at_k"] != pytest.approx(report["map_all"])


def test_itq_makes_one_initial_svd_and_one_per_iteration(monkeypatch):
    calls = []
    real_svd = np.linalg.svd

    def counted(a, *args, **kwargs):
        calls.append(a.shape)
        return real_svd(a, *args, **kwargs)

    monkeypatch.setattr(baselines.np.linalg, "svd", counted)
    x = np.random.default_rng(0).standard_normal((40, 6))
    state = baselines.fit_baseline("itq", x, 4, seed=0, iterations=50).state()
    # the PCA uses eigh: every SVD is ITQ's, 1 initial + 50 Procrustes updates, all 4 x 4
    assert calls == [(4, 4)] * 51 and state["loss"].shape == (51,)


def test_default_mosaics_have_exactly_two_labels():
    mosaics = default_params().dataset("digits_mosaic")  # params.yaml's entry, fewer images
    ds = load_dataset(replace(mosaics, n_images=300), seed=0)
    assert ds.pixels is not None and ds.pixels.shape == (300, 16, 16)
    assert ds.labels.sum(axis=1).tolist() == [2] * 300


def test_evaluate_logs_degenerate_codes(codes, tmp_path, caplog):
    """docs/METRICS.md: the evaluate stage warns in its log when codes are degenerate; LSH
    codes of the digits are not, the same codes with their first byte zeroed have 8 stuck
    bits, and the chance level is the digits' share of relevant items (about 1/10)."""
    import h5py

    with caplog.at_level("WARNING"):
        report = evaluate_with(codes, tmp_path / "lsh", None)
    assert not caplog.records
    assert report["chance_map"] == pytest.approx(0.1, abs=0.002)
    stuck = tmp_path / "stuck"
    stuck.mkdir()
    shutil.copy(codes / "16.h5", stuck / "16.h5")
    with h5py.File(stuck / "16.h5", "r+") as f:
        f["database/codes"][:, 0] = 0
    with caplog.at_level("WARNING"):
        evaluate_with(stuck, tmp_path / "stuck_eval", None)
    (record,) = caplog.records
    assert "digits lsh 16 bits: degenerate codes (8 of 16 bits stuck" in record.getMessage()
