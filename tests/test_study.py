"""A study's tidy tables: the run files back value for value, and `nrdh compare --study`
rebuilding the report the run files give."""

import json
from pathlib import Path

import pytest
from conftest import make_runs, run_files, sources, write_diag

from nrdh import paths, study
from nrdh.cli import main
from nrdh.errors import NRDHError
from nrdh.stages.summarize import write_report


def read(path: str | Path) -> dict | list:
    return json.loads(Path(path).read_text())


@pytest.fixture
def runs(tmp_path):
    """Five methods' runs on the digits at 32 bits (seeds 0-2, or one), three with a
    diagnose file, and a feature_stats file."""
    make_runs(tmp_path)
    for seed, taught in enumerate((0.5, 0.6, 0.7)):
        write_diag(tmp_path / "diag", seed, taught, 0.55, 0.5)
    features = tmp_path / "features" / "digits.json"
    features.parent.mkdir()
    measures = ("neighbour_in_batch", "neighbour_global", "mean_degree_in_batch")
    measures += ("edge_label_precision", "knn_precision")
    protocol = {"M": 10, "rho": 0.4, "k": 10, "ks": [1, 10], "note": "[a bracket"}
    stats = {"backbone": "pixels", "protocol": protocol, **dict.fromkeys(measures, 0.5)}
    features.write_text(json.dumps({**stats, "empty": {}}))
    return sources(
        tmp_path,
        diag=run_files(tmp_path, "diag", "diag"),
        features=str(tmp_path / "features" / "{dataset}.json"),
    )


def test_tables_give_back_every_run_file(runs, tmp_path):
    study.write_tables(runs, tmp_path / "study")
    table = (tmp_path / "study" / study.RUNS).read_text().splitlines()
    assert table[0].startswith("dataset,method,seed,bits,diag/bit_agreement,")
    assert len(table) == 1 + 3 + 3 + 3 + 1 + 1  # a header, one row per (method, seed)
    back = study.read_tables(tmp_path / "study", tmp_path / "scratch")
    pairs = [(getattr(runs, kind), getattr(back, kind)) for kind in ("eval", "pr", "diag")]
    pairs += [(runs.losses[net], back.losses[net]) for net in ("gcn", "hasher")]
    for template, again in pairs:
        originals = paths.find(template)
        assert len(originals) == len(paths.find(again)) > 0
        for path, key in originals:
            assert read(again.format(**key)) == read(path), again
    written = read(runs.features.format(dataset="digits"))
    assert read(back.features.format(dataset="digits")) == {
        k: v for k, v in written.items() if k != "empty"
    }  # an empty dict has no cell


def test_compare_from_a_study_rebuilds_the_report(runs, tmp_path, capsys):
    reports = tmp_path / "from_files"
    write_report(runs, tmp_path / "s.json", reports)
    study.write_tables(runs, tmp_path / "study")
    (tmp_path / "study" / study.PARAMS).write_text("base: {seed: 0}\n")
    out = tmp_path / "from_tables"
    main(["compare", "--study", str(tmp_path / "study"), "--out", str(out)])
    assert (out / "summary.md").read_text() == (reports / "summary.md").read_text()
    assert (out / "summary.csv").read_bytes() == (reports / "summary.csv").read_bytes()
    assert (out / "report.html").is_file() and "report written to" in capsys.readouterr().out


def test_a_missing_table_is_named(tmp_path):
    with pytest.raises(NRDHError, match=f"{tmp_path / 'runs.csv'}: file not found"):
        study.read_tables(tmp_path, tmp_path / "scratch")
