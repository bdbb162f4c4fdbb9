"""The comparison over seeds, its tables, figures and the self-contained HTML report."""

import dataclasses
import json
import math
import re
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nrdh import aggregate, figures, html_report, io, tables
from nrdh.errors import NRDHError
from nrdh.stages.summarize import Sources, summarize_stage, write_report

T_975_2 = 4.302652729749462  # Student t quantile 0.975 with 2 degrees of freedom (tables)


def run_files(root, kind: str, name: str) -> str:
    """The path template of one kind of run file under root, as dvc.yaml's summarize has it."""
    return f"{root}/{kind}/{{dataset}}/{{method}}/seed{{seed}}/{name}_{{bits}}.json"


def sources(root, **more: str) -> Sources:
    """The summary's templates of the files `write_eval` writes under root."""
    return Sources(
        eval=run_files(root, "eval", "eval"),
        pr=run_files(root, "pr", "pr"),
        losses={net: run_files(root, "loss", net) for net in ("gcn", "hasher")},
        **more,
    )


def write_eval(root, dataset, method, bits, seed, map_all, seed_key=True, folder=None):
    """One evaluate-stage metrics file, its PR curve and loss histories, in folder
    seed<seed> unless `folder` names another."""
    folder = folder or f"seed{seed}"
    m = {
        "dataset": dataset,
        "method": method,
        "bits": bits,
        "map_all": map_all,
        "map_at_k": map_all + 0.1,
        "precision_radius": 0.5,
        "recall_radius": 0.25,
        "f1_radius": 1 / 3,
        "precision_at_recall": {"0.1": 0.9 - seed / 100, "0.5": 0.6, "1.0": 0.3},
        "protocol": {"topk": 100, "radius": 2, "ties": "index"},
    }
    if seed_key:
        m["seed"] = seed
    path = root / "eval" / dataset / method / folder / f"eval_{bits}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(m))
    pr = root / "pr" / dataset / method / folder / f"pr_{bits}.json"
    pr.parent.mkdir(parents=True, exist_ok=True)
    pr.write_text(
        json.dumps(
            [
                {"radius": r, "recall": r / 8, "precision_returned": 1 - r / 8, "returned": 1.0}
                for r in range(9)
            ]
        )
    )
    for kind in ("gcn", "hasher"):
        loss = root / "loss" / dataset / method / folder / f"{kind}_{bits}.json"
        loss.parent.mkdir(parents=True, exist_ok=True)
        hist = [{"epoch": e, "loss": (1 + seed / 10) / e} for e in range(1, 6)]
        loss.write_text(json.dumps(hist))


# reference nrdh: 0.50, 0.52, 0.54 (mean 0.52, std 0.02)
# "a": 0.60, 0.61, 0.65 (mean 0.62, std sqrt(0.0007)); d = 0.10, 0.09, 0.11: mean 0.10,
#      sd 0.01, threshold 4.3027 * 0.01 / sqrt 3 = 0.0248 < 0.10: beyond noise
# "b": 0.53, 0.50, 0.56; d = 0.03, -0.02, 0.02: mean 0.01, sd sqrt(0.0007) = 0.02646,
#      threshold 4.3027 * 0.02646 / sqrt 3 = 0.0657 > 0.01: within noise
# "c": seed 0 only (0.40): n/a (one seed); "e": seed 5 only, which nrdh lacks: no shared seed
RUNS = {
    "nrdh": {0: 0.50, 1: 0.52, 2: 0.54},
    "a": {0: 0.60, 1: 0.61, 2: 0.65},
    "b": {0: 0.53, 1: 0.50, 2: 0.56},
    "c": {0: 0.40},
    "e": {5: 0.45},
}


def make_runs(root, bits=(32,)):
    for method, seeds in RUNS.items():
        for seed, value in seeds.items():
            for b in bits:
                write_eval(root, "digits", method, b, seed, value + (b - 32) / 1000)


def test_seed_aggregation_and_noise_marks(tmp_path):
    make_runs(tmp_path)
    agg = aggregate.aggregate(tables.collect(sources(tmp_path).eval)).set_index("method")
    assert agg.loc["nrdh", ["n", "map_all_mean", "map_all_std"]].tolist() == pytest.approx(
        [3, 0.52, 0.02]
    )
    assert agg.loc["a", ["n", "map_all_mean", "map_all_std"]].tolist() == pytest.approx(
        [3, 0.62, math.sqrt(0.0007)]
    )
    assert agg.loc["a", "map_at_k_mean"] == pytest.approx(0.72)
    assert agg.loc["c", "n"] == 1 and np.isnan(agg.loc["c", "map_all_std"])
    a, b = agg.loc["a"], agg.loc["b"]
    assert [a["diff"], a["diff_sd"], a["pairs"]] == pytest.approx([0.10, 0.01, 3])
    assert a["threshold"] == pytest.approx(T_975_2 * 0.01 / math.sqrt(3))
    assert a["mark"] == "beyond noise"
    assert [b["diff"], b["diff_sd"]] == pytest.approx([0.01, math.sqrt(0.0007)])
    assert b["threshold"] == pytest.approx(T_975_2 * math.sqrt(0.0007) / math.sqrt(3))
    assert b["mark"] == "within noise"
    assert agg.loc["c", "mark"] == "n/a (one seed)" and agg.loc["c", "diff"] == pytest.approx(-0.1)
    assert agg.loc["e", "mark"] == "n/a (no shared seed)"
    assert agg.loc["nrdh", "mark"] == "reference"
    # another reference flips the sign of the difference
    other = aggregate.aggregate(tables.collect(sources(tmp_path).eval), reference="a")
    assert other.set_index("method").loc["nrdh", "diff"] == pytest.approx(-0.10)


def test_seed_comes_from_content_and_defaults_to_zero(tmp_path):
    write_eval(tmp_path, "digits", "nrdh", 16, 0, 0.5, seed_key=False)
    write_eval(tmp_path, "digits", "nrdh", 16, 3, 0.7)
    table = tables.collect(sources(tmp_path).eval)
    assert table["seed"].tolist() == [0, 3]
    assert table[["p_at_r_10", "p_at_r_50", "p_at_r_100"]].iloc[1].tolist() == pytest.approx(
        [0.87, 0.6, 0.3]
    )
    # the same seed twice is an error, not a silent double count
    write_eval(tmp_path, "digits", "nrdh", 16, 3, 0.7, folder="seed9")
    with pytest.raises(NRDHError, match="more than one eval file"):
        aggregate.seed_stats(tables.collect(sources(tmp_path).eval))


def test_cells_without_a_reference_run_are_marked(tmp_path):
    make_runs(tmp_path)
    write_eval(tmp_path, "digits", "a", 64, 0, 0.7)  # no nrdh at 64 bits
    agg = aggregate.aggregate(tables.collect(sources(tmp_path).eval))
    assert agg.loc[agg.bits == 64, "mark"].tolist() == ["n/a (no reference run)"]
    marks = aggregate.aggregate(tables.collect(sources(tmp_path).eval), reference="nrdh_typo")[
        "mark"
    ]
    assert set(marks) == {"n/a (no reference run)"}


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


def test_run_files_are_keyed_by_their_template_fields(tmp_path):
    for name in ("ds/nrdh/seed2/gcn_32.json", "ds/nrdh/seed2/hasher_32.json", "ds/x/gcn_64.json"):
        io.write_json(tmp_path / name, [name])
    with_seed = figures.read_runs(
        f"{tmp_path}/{{dataset}}/{{method}}/seed{{seed}}/gcn_{{bits}}.json"
    )
    assert with_seed == {("ds", "nrdh", 2, 32): ["ds/nrdh/seed2/gcn_32.json"]}
    without = figures.read_runs(f"{tmp_path}/{{dataset}}/{{method}}/gcn_{{bits}}.json")
    assert without == {("ds", "x", 0, 64): ["ds/x/gcn_64.json"]}  # no seed field: seed 0
    with pytest.raises(NRDHError, match=r"needs the fields \['bits'\]"):
        figures.read_runs(f"{tmp_path}/{{dataset}}/{{method}}/gcn.json")


class Links(HTMLParser):
    """Collects headings, tags and every src/href value of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.headings, self._in_h2 = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href")]
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


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


def test_html_report_is_complete_and_self_contained(tmp_path):
    make_runs(tmp_path)
    reports = tmp_path / "reports"
    (reports / "grid").mkdir(parents=True)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.eye(8))
    fig.savefig(reports / "grid" / "digits.png")
    plt.close(fig)
    params = {"summary": {"reference": "a"}, "graph": {"rho": 0.4, "M": 10}}
    summarize_stage(
        sources=sources(tmp_path, diag=run_files(tmp_path, "diag", "diag")),
        summary_out=tmp_path / "s.json",
        headline_out=tmp_path / "headline.json",
        reports_dir=reports,
        reference="a",
        params=params,
    )
    text = (reports / "report.html").read_text()
    page = Links()
    page.feed(text)
    assert page.headings == list(html_report.SECTIONS)
    assert page.urls and all(u.startswith("data:image/") for u in page.urls)
    assert sum(u.startswith("data:image/png") for u in page.urls) == 1  # the grid
    assert sum(u.startswith("data:image/svg+xml") for u in page.urls) == 3  # the figures
    for banned in ("http://", "https://", 'src="//', "url("):
        assert banned not in text
    assert "link" not in page.tags and "script" not in page.tags
    assert "rho: 0.4" in text and "M: 10" in text  # the params block
    assert "Reference method: <b>a</b>" in text  # from the summary section
    assert "-0.1000 beyond noise" in text  # nrdh vs a
    assert text.isascii()


def test_empty_metrics_folder_is_a_clear_error(tmp_path):
    (tmp_path / "eval").mkdir()
    with pytest.raises(NRDHError, match=re.escape("eval_{bits}.json: no metrics files found")):
        tables.collect(sources(tmp_path).eval)


def test_grid_image_places_tiles_and_frames_by_hand() -> None:
    """One query and two results, 8x8 greyscale: tile 8, frame and gap 1, cell 10; the
    query tile at x 0, results after a one-pixel extra gap at x 12 and 23."""
    from PIL import Image

    grey = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 20, 30)]
    canvas = figures.grid_image([(grey[0], [(grey[1], True), (grey[2], False)])])
    assert canvas.shape == (11, 3 * 11 + 1, 3)
    assert canvas[0, 0].tolist() == [255, 255, 255]  # the query's frame: none (white)
    assert canvas[1, 1].tolist() == [10, 10, 10] and canvas[8, 8].tolist() == [10, 10, 10]
    assert canvas[0, 12].tolist() == list(figures.FRAME_RGB[True])
    assert canvas[1, 13].tolist() == [20, 20, 20]
    assert canvas[9, 32].tolist() == list(figures.FRAME_RGB[False])
    assert canvas[5, 28].tolist() == [30, 30, 30]
    assert canvas[10].tolist() == [[255, 255, 255]] * canvas.shape[1]  # the gap row below


def test_grid_caption_explains_only_the_frames_drawn() -> None:
    """An unlabelled query's results get no frame, and the caption names no colour."""
    from PIL import Image

    img = Image.fromarray(np.zeros((8, 8), np.uint8))
    assert figures.frames_caption([(img, [(img, None), (img, None)])]) == "unframed: no labels"
    both = [(img, [(img, True)]), (img, [(img, False)])]
    assert figures.frames_caption(both) == "green: shares a label; red: shares none"


def test_grid_image_shrinks_large_images_into_the_tile() -> None:
    from PIL import Image

    big = Image.fromarray(np.zeros((300, 150, 3), np.uint8))
    canvas = figures.grid_image([(big, [(big, None)])], tile_max=96)
    assert canvas.shape == (96 + 24 + 12, 2 * (96 + 24 + 12) + 12, 3)
    assert canvas[12 + 48, 12 + 48].tolist() == [0, 0, 0]  # the image, centred
    assert canvas[12 + 48, 12 + 5].tolist() == [255, 255, 255]  # 48 px wide: white beside it


def write_diag(root, seed: int, taught: float, learnt: float, test: float) -> None:
    """A diagnose stage's file for nrdh on digits at 32 bits (the fields the summary reads)."""
    d = {
        "dataset": "digits",
        "method": "nrdh",
        "bits": 32,
        "seed": seed,
        "map_target": taught,
        "map_network": learnt,
        "map_test": test,
        "fit_gap": taught - learnt,
        "generalisation_gap": learnt - test,
        "bit_agreement": 0.9,
        "gcn": {"reg_share": 0.2},
    }
    path = root / "digits" / "nrdh" / f"seed{seed}" / "diag_32.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d))


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


def test_pr_files_of_an_older_evaluator_draw_their_recorded_precision(tmp_path):
    """A study's curves from before `returned` (radius, precision, recall only) still draw."""
    from nrdh.figures import plot_pr_curves

    for method in ("a", "b"):
        path = tmp_path / "pr" / "digits" / method / "seed0" / "pr_16.json"
        path.parent.mkdir(parents=True)
        rows = [{"radius": r, "recall": r / 4, "precision": 1 - r / 8} for r in range(5)]
        path.write_text(json.dumps(rows))
    template = str(tmp_path / "pr" / "{dataset}" / "{method}" / "seed{seed}" / "pr_{bits}.json")
    plot_pr_curves(template, tmp_path / "reports")
    assert (tmp_path / "reports" / "pr_curves.svg").stat().st_size > 1000
