"""The comparison over seeds (nrdh.aggregate): per-seed statistics, the paired difference
with the reference method and its noise mark, on run files whose answers are worked out by
hand (conftest's RUNS)."""

import math

import numpy as np
import pytest
from conftest import make_runs, sources, write_eval

from nrdh import aggregate, tables
from nrdh.errors import NRDHError

T_975_2 = 4.302652729749462  # Student t quantile 0.975 with 2 degrees of freedom (tables)


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
