"""The whole DAG on a tiny params file, through DVC and through Snakemake.

A DVC run, a second (no-op) DVC run, and a Snakemake run in a separate clean copy whose
artifacts must be byte-identical to DVC's (same params and seed -> same bytes on CPU);
then, on the DVC copy, `dvc metrics/plots show` and a `dvc exp run -S gcn...` that must
re-run only the GCN stage and those after it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from conftest import make_project, run, tool

ARTIFACT_DIRS = ("data", "models", "codes", "metrics", "plots")


def digests(project: Path) -> dict[str, str]:
    """md5 of every pipeline artifact, keyed by its path in the project."""
    return {
        str(p.relative_to(project)): hashlib.md5(p.read_bytes()).hexdigest()
        for d in ARTIFACT_DIRS
        for p in sorted((project / d).rglob("*"))
        if p.is_file()
    }


def ran_stages(output: str) -> set[str]:
    """Stage names DVC reports as run."""
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory, tiny_params) -> Path:
    """A copy of the project on the tiny params after one full `dvc repro`."""
    project = make_project(tmp_path_factory.mktemp("e2e") / "dvc", tiny_params)
    first = run([tool("dvc"), "repro"], project).stdout
    assert "extract_features_shard@digits_mosaic-1" in ran_stages(first)
    return project


@pytest.mark.slow
def test_dvc_and_snakemake_build_the_same_artifacts(dvc_project, tmp_path, tiny_params):
    for ds in ("digits", "digits_mosaic"):
        for method in ("nrdh", "lsh"):
            path = dvc_project / f"metrics/eval/{ds}/{method}/eval_16.json"
            m = json.loads(path.read_text())
            assert 0.0 <= m["map_all"] <= 1.0
            assert m["protocol"]["ties"] == "index"
    assert (dvc_project / "metrics/summary.json").is_file()
    assert (dvc_project / "reports/map_vs_bits.png").is_file()

    second = run([tool("dvc"), "repro"], dvc_project).stdout
    assert ran_stages(second) == set()

    smk_dir = make_project(tmp_path / "smk", tiny_params)
    run([tool("snakemake"), "--cores", "2", "--profile", "workflow/profiles/local"], smk_dir)
    ours, theirs = digests(dvc_project), digests(smk_dir)
    assert ours.keys() == theirs.keys()
    assert ours == theirs


@pytest.mark.slow
def test_dvc_reads_metrics_and_plots(dvc_project):
    shown = json.loads(run([tool("dvc"), "metrics", "show", "--json"], dvc_project).stdout)
    assert "metrics/eval/digits/nrdh/eval_16.json" in json.dumps(shown)
    run([tool("dvc"), "plots", "show", "-o", "dvc_plots"], dvc_project)
    assert (dvc_project / "dvc_plots" / "index.html").is_file()


@pytest.mark.slow
def test_gcn_param_change_reruns_only_downstream_stages(dvc_project):
    exp = run([tool("dvc"), "exp", "run", "-S", "gcn.epochs=3"], dvc_project).stdout
    stages = {s.split("@")[0] for s in ran_stages(exp)}
    assert {"train_gcn", "dump_node_reps", "train_hasher", "compute_codes"} <= stages
    assert not stages & {
        "extract_features_shard",
        "extract_features",
        "build_graphs",
        "baseline_codes",
    }
