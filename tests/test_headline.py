"""The answer first: leaders and their noise verdict, notes on losses and codes, the
headline metrics file, on hand-made tables whose answers are worked out by hand."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import RUNS, make_runs, sources

from nrdh import aggregate, codes, headline, tables
from nrdh.stages.summarize import write_report


def tidy(runs: dict[str, dict[int, float]], dataset: str = "digits", bits: int = 32):
    """A per-seed table as tables.collect gives it: method -> seed -> mAP@all."""
    rows = [
        {"dataset": dataset, "method": m, "bits": bits, "seed": s, "map_all": v}
        for m, seeds in runs.items()
        for s, v in seeds.items()
    ]
    return pd.DataFrame(rows)


def test_leader_beyond_noise_and_the_reference_rank():
    """RUNS at 32 bits: means a 0.62, b 0.53, nrdh 0.52, e 0.45, c 0.40. a - b over seeds
    0, 1, 2: 0.07, 0.11, 0.09, mean 0.09, sd 0.02, threshold 4.3027 * 0.02 / sqrt 3 = 0.0497
    < 0.09: beyond noise."""
    lead = headline.leaders(tidy(RUNS)).iloc[0]
    assert (lead["leader"], lead["runner_up"], lead["pairs"]) == ("a", "b", 3)
    assert [lead["lead_mean"], lead["runner_mean"], lead["diff"]] == pytest.approx(
        [0.62, 0.53, 0.09]
    )
    assert lead["threshold"] == pytest.approx(4.302652729749462 * 0.02 / np.sqrt(3))
    assert lead["verdict"] == aggregate.BEYOND
    assert headline.headline_sentences(tidy(RUNS), "nrdh") == [
        "digits, 32 bits: a leads (mAP@all 0.620, next b 0.530; beyond noise over 3 seeds); "
        "nrdh 0.520, 3rd of 5."
    ]


def test_leader_within_noise():
    """x 0.50, 0.60, 0.55 (mean 0.55) against y 0.52, 0.50, 0.54 (0.52): d = -0.02, 0.10,
    0.01, mean 0.03, sd sqrt(0.0039) = 0.0624, threshold 4.3027 * 0.0624 / sqrt 3 = 0.155."""
    runs = {"x": {0: 0.50, 1: 0.60, 2: 0.55}, "y": {0: 0.52, 1: 0.50, 2: 0.54}}
    lead = headline.leaders(tidy(runs)).iloc[0]
    assert (lead["leader"], lead["verdict"]) == ("x", aggregate.WITHIN)
    assert lead["diff"] == pytest.approx(0.03)
    assert headline.headline_sentences(tidy(runs), "y") == [
        "digits, 32 bits: x leads (mAP@all 0.550, next y 0.520; within noise over 3 seeds)."
    ]
    assert headline.seed_note(tidy(runs)) is None


def test_one_seed_says_so_once():
    """One seed: the leader stands, with no verdict in the sentence and one note for all."""
    runs = {"itq": {0: 0.560}, "nrdh": {0: 0.387}, "pcah": {0: 0.384}, "lsh": {0: 0.291}}
    table = pd.concat([tidy(runs, bits=16), tidy({"nrdh": {0: 0.5}}, bits=32)])
    leads = headline.leaders(table)
    assert leads["leader"].tolist() == ["itq", "nrdh"]
    assert leads["verdict"].iloc[0] == headline.ONE_SEED
    assert headline.headline_sentences(table, "nrdh") == [
        "digits, 16 bits: itq leads (mAP@all 0.560, next nrdh 0.387).",
        "digits, 32 bits: nrdh leads (mAP@all 0.500; the only method run).",
    ]
    assert headline.seed_note(table).startswith("One training seed per method")


def test_results_table_marks_each_columns_leader_and_drops_noise_columns_for_one_seed():
    table = tidy({"itq": {0: 0.56}, "nrdh": {0: 0.39}}, bits=16)
    table["map_at_k"] = [0.50, 0.60]  # nrdh leads mAP@K, itq mAP@all
    table["topk"], table["radius"] = 1000, 2
    agg = aggregate.aggregate(table, "nrdh", metrics=("map_all", "map_at_k"))
    labels = tables.metric_labels(table, "digits")
    assert labels == {"map_all": "mAP@all", "map_at_k": "mAP@1000", "precision_radius": "P@r<=2"}
    cells, lead = tables.results_table(
        agg, "digits", {"map_all": "mAP@all", "map_at_k": "mAP@1000"}, "nrdh"
    )
    assert list(cells.columns) == [("16 bits", "mAP@all"), ("16 bits", "mAP@1000")]
    assert cells.loc["itq"].tolist() == ["0.5600", "0.5000"]
    assert lead.loc["itq"].tolist() == [True, False] and lead.loc["nrdh"].tolist() == [False, True]


def test_still_falling_loss_and_degenerate_codes():
    """1/epoch over 30 epochs: the last 3 epochs drop by 1 - 27/30 = 10% > 2%."""
    falling = pd.Series({e: 1 / e for e in range(1, 31)})
    assert headline.still_falling(falling) == pytest.approx(0.1)
    flat = pd.Series({e: 1.0 + (e % 2) * 1e-3 for e in range(1, 31)})
    assert headline.still_falling(flat) is None
    curves = {("hasher", "digits", "nrdh", 16): [falling, falling * 2]}
    assert headline.loss_notes(curves, {"hasher": "hash loss"}) == [
        "digits, nrdh, 16 bits: hash loss still falling, 10% in its last 3 of 30 epochs "
        "(not converged)."
    ]
    table = pd.DataFrame(
        [
            {
                "dataset": "d",
                "method": "m",
                "bits": 8,
                "seed": 0,
                "distinct": 4,
                "stuck_bits": 2,
                "nb": 100,
                "map_all": 0.5,
                "chance_map": 0.1,
            },
            {
                "dataset": "d",
                "method": "k",
                "bits": 8,
                "seed": 0,
                "distinct": 90,
                "stuck_bits": 0,
                "nb": 100,
                "map_all": 0.5,
                "chance_map": 0.1,
            },
            {  # 0.105 <= 1.1 x 0.1: no better than ranking the database at random
                "dataset": "d",
                "method": "r",
                "bits": 8,
                "seed": 0,
                "distinct": 90,
                "stuck_bits": 0,
                "nb": 100,
                "map_all": 0.105,
                "chance_map": 0.1,
            },
        ]
    )
    assert headline.code_notes(table) == [
        "d, m, 8 bits, seed 0: degenerate codes (2 of 8 bits stuck, "
        "4 distinct codes for 100 items).",
        "d, r, 8 bits, seed 0: degenerate codes (mAP@all 0.105 at chance level "
        "(0.100 for a random ranking)).",
    ]


def test_chance_map_is_the_mean_share_of_relevant_items():
    """Queries of class 0 and of classes {0, 1} against a database of 4 items labelled 0, 1,
    2, {1, 2}: shares 1/4 and 3/4, mean 0.5."""
    yq = np.array([[1, 0, 0], [1, 1, 0]], np.uint8)
    yb = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1]], np.uint8)
    assert codes.chance_map(yq, yb, block=1) == pytest.approx(0.5)


def test_code_stats_count_distinct_codes_and_stuck_bits():
    """Rows 0011, 0011, 0110: two distinct codes; bit 0 is always 0 and bit 2 always 1."""
    b = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 1, 0]], np.uint8)
    assert codes.code_stats(codes.pack_codes(b), 4) == {"distinct": 2, "stuck_bits": 2}


def test_headline_metrics_file(tmp_path):
    """Two numbers per (dataset, method, bits), the seed means: make_runs writes map_at_k =
    map_all + 0.1, so a (0.60, 0.61, 0.65) gives 0.62 and 0.72."""
    make_runs(tmp_path, bits=(16, 32))
    out = tmp_path / "headline.json"
    write_report(sources(tmp_path), tmp_path / "s.json", tmp_path / "r", headline_out=out)
    got = json.loads(out.read_text())
    assert got["digits"]["a"]["32"] == {"map_all": 0.62, "map_at_k": 0.72}
    # c's one seed at 16 bits: 0.40 + (16 - 32) / 1000 (make_runs)
    assert got["digits"]["c"]["16"] == {"map_all": 0.384, "map_at_k": 0.484}
    leaves = [v for m in got["digits"].values() for cell in m.values() for v in cell.values()]
    assert len(leaves) == 5 * 2 * 2  # methods x code lengths x numbers
    page = (tmp_path / "r" / "report.html").read_text()
    assert (
        "digits, 32 bits: a leads (mAP@all 0.620, next b 0.530; beyond noise over 3 seeds)" in page
    )
    assert '<td class="lead">0.6200 &#177; 0.0265 (3)</td>' in page
