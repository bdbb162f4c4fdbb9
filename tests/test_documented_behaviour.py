"""What the docs state holds in the code: the dataset's mAP cut-off (docs/DATASETS.md), the
ITQ iteration count (baselines._fit_itq) and the labels of the default mosaics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nrdh import baselines, metrics
from nrdh.data import DatasetConfig, load_dataset
from nrdh.features import FeatureConfig, extract_features
from nrdh.io import provenance
from nrdh.pipeline.common import read_codes
from nrdh.pipeline.evaluation import baseline_codes_stage, evaluate_stage

PARAMS = {
    "base": {"seed": 0},
    "datasets": {"digits": {"source": "digits", "query_per_class": 5}},
    "baselines": {"methods": ["lsh"]},
    "evaluate": {"topk": 100, "radius": 2, "ks": [10]},
}


@pytest.fixture(scope="module")
def codes(tmp_path_factory) -> Path:
    """LSH codes of 16 bits for the digits (50 queries, 1,747 database images)."""
    d = tmp_path_factory.mktemp("topk")
    digits = load_dataset(DatasetConfig(source="digits", query_per_class=5), seed=0)
    extract_features(digits, FeatureConfig(), d / "features.h5", provenance({}))
    baseline_codes_stage(PARAMS, "lsh", 16, d / "features.h5", d / "codes_16.h5")
    return d / "codes_16.h5"


def evaluate_with(codes: Path, out: Path, topk: int | None) -> dict:
    ds = {"source": "digits", "query_per_class": 5} | ({} if topk is None else {"topk": topk})
    params = {**PARAMS, "datasets": {"digits": ds}}
    evaluate_stage(params, "digits", 16, codes, out / "eval.json", out / "pr.json")
    return json.loads((out / "eval.json").read_text())


@pytest.mark.parametrize(("topk", "cut"), [(None, 100), (0, None), (7, 7)])
def test_dataset_topk_sets_the_map_cut_off(codes, tmp_path, topk, cut):
    c = read_codes(codes)
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
    ds = load_dataset(DatasetConfig(source="digits_mosaic", n_images=300), seed=0)
    assert ds.pixels is not None and ds.pixels.shape == (300, 16, 16)
    assert ds.labels.sum(axis=1).tolist() == [2] * 300
