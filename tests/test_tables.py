"""The summary tables (nrdh.tables): the metrics files gathered, the summary JSON, CSV and
Markdown the summarize stage writes, the diagnostics and feature-measure sections."""

import dataclasses
import json
import math
import re

import pandas as pd
import pytest
from conftest import make_runs, run_files, sources, write_diag, write_eval

from nrdh import io, tables
from nrdh.errors import NRDHError
from nrdh.stages.summarize import write_report


def numbers_only(node):
    """True when a JSON tree holds only dicts of numbers (what `dvc metrics show` lists)."""
    if isinstance(node, dict):
        return all(numbers_only(v) for v in node.values())
    return isinstance(node, (int, float)) and not isinstance(node, bool) and math.isfinite(node)


def test_summary_files_and_figures(tmp_path):
    make_runs(tmp_path, bits=(16, 32))
    out, reports = tmp_path / "summary.json", tmp_path / "reports"
    agg = write_report(sources(tmp_path), out, reports)
    assert len(agg) == 10
    summary = json.loads(out.read_text())
    assert numbers_only(summary)
    cell = summary["digits"]["a"]["32"]
    assert cell["n"] == 3 and cell["beyond_noise"] == 1
    assert [cell["map_all"], cell["map_all_std"], cell["map_all_diff"]] == pytest.approx(
        [0.62, math.sqrt(0.0007), 0.10]
    )
    assert summary["digits"]["b"]["32"]["beyond_noise"] == 0
    assert "beyond_noise" not in summary["digits"]["c"]["32"]  # one seed: no mark
    csv = pd.read_csv(reports / "summary.csv")
    assert csv.loc[csv.method == "nrdh", "map_all_mean"].round(4).tolist() == [0.504, 0.52]
    md = (reports / "summary.md").read_text()
    assert "| method   | 16 bits mAP@all         | 16 bits mAP@100         | 16 bits P@r<=2" in md
    assert "| a        | **0.6040 ± 0.0265 (3)** | **0.7040 ± 0.0265 (3)** |" in md  # leads
    assert "+0.1000 beyond noise" in md and "+0.0100 within noise" in md
    assert "| 0.4000 (1)              |" in md and "n/a (one seed)" in md
    assert "| P@R 10%" in md and "0.8900 ± 0.0100 (3)" in md  # 0.9 - seed / 100 over seeds
    wide = pd.read_csv(reports / "map_vs_bits.csv")
    assert list(wide.columns) == ["dataset", "method", "bits", "map_all", "map_all_std", "n"]
    for name in ("map_vs_bits", "pr_curves", "loss_curves"):
        for ext in ("png", "svg"):
            assert (reports / f"{name}.{ext}").stat().st_size > 1000
    first = {p.name: p.read_bytes() for p in reports.glob("*.svg")}
    write_report(sources(tmp_path), out, reports)
    assert {p.name: p.read_bytes() for p in reports.glob("*.svg")} == first  # deterministic


def test_files_of_runs_outside_the_params_stay_out_of_the_report(tmp_path):
    """A run of other params (a preset since reverted) leaves its files; the scope drops them."""
    make_runs(tmp_path, bits=(16, 32))
    write_eval(tmp_path, "mnist", "nrdh", 32, 0, 0.3)  # another dataset's leftover
    scope = {"dataset": ["digits"], "method": ["nrdh", "a"], "seed": [0, 1], "bits": [32]}
    out, reports = tmp_path / "summary.json", tmp_path / "reports"
    agg = write_report(dataclasses.replace(sources(tmp_path), scope=scope), out, reports)
    assert sorted(agg["method"]) == ["a", "nrdh"] and set(agg["dataset"]) == {"digits"}
    assert set(agg["bits"]) == {32} and set(agg["n"]) == {2}
    nrdh = agg[agg.method == "nrdh"].iloc[0]
    assert nrdh["map_all_mean"] == pytest.approx(0.51)  # seeds 0 and 1: 0.50, 0.52
    everything = write_report(sources(tmp_path), out, reports)
    assert {"mnist", "digits"} == set(everything["dataset"]) and len(everything) == 11


def test_empty_metrics_folder_is_a_clear_error(tmp_path):
    (tmp_path / "eval").mkdir()
    with pytest.raises(NRDHError, match=re.escape("eval_{bits}.json: no metrics files found")):
        tables.collect(sources(tmp_path).eval)


def test_diagnostics_over_seeds_in_the_summary_and_the_report(tmp_path):
    """taught 0.5, 0.6, 0.7 over three seeds: mean 0.6, sample sd 0.1; learnt 0.55 each:
    fit gaps -0.05, 0.05, 0.15, mean 0.05, sd 0.1."""
    diag_dir = tmp_path / "diag"
    for seed, taught in enumerate((0.5, 0.6, 0.7)):
        write_diag(diag_dir, seed, taught, 0.55, 0.5)
    diag = run_files(tmp_path, "diag", "diag")
    row = tables.diagnostics_table(tables.collect_diagnostics(diag)).iloc[0]
    assert (row["dataset"], row["method"], row["bits"]) == ("digits", "nrdh", 32)
    assert row["taught"] == "0.6000 ± 0.1000 (3)"
    assert row["learnt"] == "0.5500 ± 0.0000 (3)"
    assert row["fit gap"] == "0.0500 ± 0.1000 (3)"
    assert row["generalisation gap"] == "0.0500 ± 0.0000 (3)"
    assert row["GCN beta Lw / L1"] == "0.2000 ± 0.0000 (3)"
    assert tables.collect_diagnostics(run_files(tmp_path, "none", "diag")).empty
    make_runs(tmp_path)
    reports = tmp_path / "reports"
    write_report(sources(tmp_path, diag=diag), tmp_path / "s.json", reports)
    md = (reports / "summary.md").read_text()
    assert "## Where NRDH loses its edge" in md and "0.6000 ± 0.1000 (3)" in md
    assert "0.6000 &#177; 0.1000 (3)" in (reports / "report.html").read_text()


def test_feature_measures_reach_the_summary_and_the_page(tmp_path):
    make_runs(tmp_path)
    measures = {
        "neighbour_in_batch": 0.159,
        "neighbour_global": 0.9915,
        "mean_degree_in_batch": 0.188,
        "edge_label_precision": 0.7447,
        "knn_precision": 0.812,
    }
    protocol = {"M": 10, "rho": 0.4, "k": 10, "seed": 0}
    for ds, backbone in (("digits", "pixels"), ("mnist", "simclr")):
        io.write_json(
            tmp_path / "features" / f"{ds}.json",
            {**measures, "backbone": backbone, "protocol": protocol},
        )
    out, reports = tmp_path / "summary.json", tmp_path / "reports"
    features = f"{tmp_path}/features/{{dataset}}.json"
    write_report(sources(tmp_path, features=features), out, reports)
    md = (reports / "summary.md").read_text()
    assert "## How semantic the features are" in md
    assert "| mnist     | simclr     |  10 |   0.4 |  10 |                      0.159 |" in md
    page = (reports / "report.html").read_text()
    assert "<td>simclr</td>" in page and "<td>0.7447</td>" in page
    write_report(sources(tmp_path), out, reports)  # no measures: the section says so
    assert "No measures under metrics/features" in (reports / "report.html").read_text()
