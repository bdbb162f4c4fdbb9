"""The comparison table and figures from metrics files."""

import json
import re

import pandas as pd
import pytest

from nrdh import report
from nrdh.errors import NRDHError


def write_eval(root, dataset, method, bits, map_all):
    path = root / "eval" / dataset / method / f"eval_{bits}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "dataset": dataset,
                "method": method,
                "bits": bits,
                "map_all": map_all,
                "map_at_k": map_all + 0.1,
                "precision_radius": 0.5,
                "recall_radius": 0.25,
                "f1_radius": 1 / 3,
                "protocol": {"topk": 100, "radius": 2, "ties": "index"},
            }
        )
    )
    pr = root / "pr" / dataset / method / f"pr_{bits}.json"
    pr.parent.mkdir(parents=True, exist_ok=True)
    pr.write_text(
        json.dumps([{"radius": r, "precision": 1 - r / 8, "recall": r / 8} for r in range(9)])
    )


def test_table_summary_and_figures(tmp_path):
    for bits, (a, b) in {16: (0.3, 0.5), 32: (0.4, 0.6)}.items():
        write_eval(tmp_path, "digits", "lsh", bits, a)
        write_eval(tmp_path, "digits", "nrdh", bits, b)
    table = report.collect(tmp_path / "eval")
    assert list(table[["method", "bits"]].itertuples(index=False, name=None)) == [
        ("lsh", 16),
        ("lsh", 32),
        ("nrdh", 16),
        ("nrdh", 32),
    ]
    report.write_summary(table, tmp_path / "summary.json", tmp_path / "reports")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["digits"]["nrdh"]["32"]["map_all"] == 0.6
    csv = pd.read_csv(tmp_path / "reports" / "summary.csv")
    assert csv.loc[csv.method == "lsh", "map_at_k"].round(4).tolist() == [0.4, 0.5]
    md = (tmp_path / "reports" / "summary.md").read_text()
    assert "mAP@all 16 bits" in md and "0.6000" in md
    report.plot_map_vs_bits(table, tmp_path / "reports")
    report.plot_pr_curves(tmp_path / "pr", tmp_path / "reports")
    for name in ("map_vs_bits", "pr_curves"):
        for ext in ("png", "svg"):
            assert (tmp_path / "reports" / f"{name}.{ext}").stat().st_size > 1000


def test_empty_metrics_folder_is_a_clear_error(tmp_path):
    (tmp_path / "eval").mkdir()
    with pytest.raises(NRDHError, match=re.escape("no eval_<bits>.json files found")):
        report.collect(tmp_path / "eval")
