"""The whole DAG on a tiny params file, through DVC and through Snakemake.

A DVC run, a second (no-op) DVC run, and a Snakemake run in a separate clean copy whose
artifacts must be byte-identical to DVC's (same params and seed -> same bytes on CPU);
then, on copies of the built projects, what each engine reruns after a param change or a
code edit: exactly the stages that read it and everything downstream, in both engines.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import make_project, overlay, project_env, run, snakemake_planned, tool

ARTIFACT_DIRS = ("data", "models", "codes", "metrics", "plots")


def digests(project: Path) -> dict[str, str]:
    """md5 of every pipeline artifact, keyed by its path in the project. Left out: each
    engine's own bookkeeping (DVC's validation stamp and code digests, Snakemake's
    folder-output stamps)."""
    return {
        str(p.relative_to(project)): hashlib.md5(p.read_bytes()).hexdigest()
        for d in ARTIFACT_DIRS
        for p in sorted((project / d).rglob("*"))
        if p.is_file()
        and p.name not in ("params.ok", ".snakemake_timestamp")
        and p.parent.relative_to(project).as_posix() != "data/code"
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


@pytest.fixture(scope="module")
def smk_project(tmp_path_factory, tiny_params) -> Path:
    """A clean copy of the project on the tiny params after one full Snakemake run."""
    project = make_project(tmp_path_factory.mktemp("e2e") / "smk", tiny_params)
    run([tool("snakemake"), "--cores", "2", "--profile", "workflow/profiles/local"], project)
    return project


def copy_of(project: Path, dest: Path) -> Path:
    """A copy of a built project with its files' times kept (Snakemake's mtime checks)."""
    shutil.copytree(project, dest, symlinks=True)
    return dest


# Stage groups downstream of the hash network, for the NRDH method only.
HASH_AND_DOWNSTREAM = {
    "train_hasher",
    "diagnose",
    "compute_codes_shard",
    "compute_codes",
    "evaluate",
    "summarize",
    "retrieval_grid",
}
UPSTREAM_OF_GRAPHS = {
    "train_feature_net",
    "extract_features_shard",
    "extract_features",
    "baseline_codes",
}


def edit_hash_network_code(project: Path) -> None:
    """Change a function body in the hash network's module (a different seed)."""
    path = project / "src/nrdh/hash_network.py"
    text = path.read_text()
    assert text.count("torch.manual_seed(job.seed)") == 1
    path.write_text(text.replace("torch.manual_seed(job.seed)", "torch.manual_seed(job.seed + 1)"))


def groups(names: set[str]) -> set[str]:
    return {n.split("@")[0] for n in names}


@pytest.mark.slow
def test_dvc_and_snakemake_build_the_same_artifacts(dvc_project, smk_project):
    for ds in ("digits", "digits_mosaic"):
        for method in ("nrdh", "lsh"):
            path = dvc_project / f"metrics/eval/{ds}/{method}/seed0/eval_16.json"
            m = json.loads(path.read_text())
            assert 0.0 <= m["map_all"] <= 1.0
            assert m["protocol"]["ties"] == "index"
    assert (dvc_project / "metrics/summary.json").is_file()
    assert (dvc_project / "reports/map_vs_bits.png").is_file()

    second = run([tool("dvc"), "repro"], dvc_project).stdout
    assert ran_stages(second) == set()

    assert snakemake_planned(smk_project) == set()
    ours, theirs = digests(dvc_project), digests(smk_project)
    assert ours.keys() == theirs.keys()
    assert ours == theirs


@pytest.mark.slow
def test_each_snakemake_job_leaves_its_output_and_resource_record(smk_project):
    """Every job's log holds what it printed (extraction's progress bar counts images) and
    a benchmark record (wall seconds, peak RSS) sits beside it for stage_resources.py.
    Snakemake samples memory while a job runs, so a sub-second job may show none; a
    hash network's process, which holds torch, shows over 100 MB."""
    logs = smk_project / "logs"
    for log in logs.glob("*/*.log"):
        record = log.with_suffix(".tsv")
        assert record.is_file(), record
        header, row = (line.split("\t") for line in record.read_text().splitlines())
        values = dict(zip(header, row, strict=True))
        assert float(values["s"]) > 0
        if log.parent.name == "train_hasher":
            assert float(values["max_rss"]) > 100
    extraction = (logs / "extract_features_shard" / "digits-0.log").read_text()
    assert re.search(r"features \(pixels\): 100%\|.*\| (\d+)/\1 ", extraction)


@pytest.mark.slow
def test_a_snakemake_build_is_up_to_date_for_dvc(smk_project, tmp_path):
    """One state for both engines: Snakemake's onsuccess hook committed its build to
    dvc.lock, so DVC finds nothing to do."""
    project = copy_of(smk_project, tmp_path / "p")
    status = run([tool("dvc"), "status", "--json"], project).stdout
    assert json.loads(status) == {}
    assert ran_stages(run([tool("dvc"), "repro"], project).stdout) == set()


@pytest.mark.slow
def test_a_dvc_build_is_up_to_date_for_snakemake(dvc_project, tmp_path):
    project = copy_of(dvc_project, tmp_path / "p")
    assert snakemake_planned(project) == set()


def lock_check(project: Path) -> subprocess.CompletedProcess:
    """`nrdh lock-check` in a project (the check .ci/run makes on the committed lock)."""
    return subprocess.run(
        [tool("nrdh"), "lock-check"],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_lock_check_passes_on_a_fresh_lock_and_names_what_went_stale(dvc_project, tmp_path):
    project = copy_of(dvc_project, tmp_path / "p")
    for built in ("data", "models", "codes"):  # as in a fresh clone: no artifact, no cache
        shutil.rmtree(project / built)
    shutil.rmtree(project / ".dvc" / "cache", ignore_errors=True)
    assert lock_check(project).returncode == 0
    edit_hash_network_code(project)
    stale = lock_check(project)
    assert stale.returncode == 2
    assert "train_hasher@digits-nrdh-0-16: data/code/train_hasher.json: modified" in stale.stdout
    assert stale.stderr.startswith("error: dvc.lock: ") and stale.stderr.count("\n") == 1


@pytest.mark.slow
def test_dvc_reads_metrics_and_plots(dvc_project):
    """DVC's metrics are the headline file alone (the eval JSONs are plain outputs)."""
    shown = json.loads(run([tool("dvc"), "metrics", "show", "--json"], dvc_project).stdout)
    (files,) = [v["data"] for v in shown.values()]  # the workspace's
    assert list(files) == ["metrics/headline.json"]
    cell = files["metrics/headline.json"]["data"]["digits"]["nrdh"]["16"]
    assert set(cell) == {"map_all", "map_at_k"}
    run([tool("dvc"), "plots", "show", "-o", "dvc_plots"], dvc_project)
    assert (dvc_project / "dvc_plots" / "index.html").is_file()


@pytest.mark.slow
def test_gcn_param_change_reruns_only_downstream_stages(dvc_project):
    exp = run([tool("dvc"), "exp", "run", "-S", "gcn.epochs=3"], dvc_project).stdout
    stages = {s.split("@")[0] for s in ran_stages(exp)}
    assert {"train_gcn", "train_hasher", "compute_codes"} <= stages
    assert not stages & {
        "train_feature_net",
        "extract_features_shard",
        "extract_features",
        "build_graphs",
        "baseline_codes",
    }


@pytest.mark.slow
def test_dvc_code_edit_reruns_hash_stages_and_downstream(dvc_project, tmp_path):
    project = copy_of(dvc_project, tmp_path / "p")
    edit_hash_network_code(project)
    status = json.loads(run([tool("dvc"), "status", "--json"], project).stdout)
    assert set(status) == {"code_digests"}  # which stages the edit touches, its digests tell
    run([tool("dvc"), "repro", "code_digests"], project)
    status = json.loads(run([tool("dvc"), "status", "--json"], project).stdout)
    # the stages whose own code changed
    assert groups(set(status)) == {"train_hasher", "compute_codes_shard", "diagnose"}
    ran = ran_stages(run([tool("dvc"), "repro"], project).stdout)
    assert groups(ran) == HASH_AND_DOWNSTREAM
    assert {n for n in ran if n.startswith("evaluate@")} == {
        "evaluate@digits-nrdh-0",
        "evaluate@digits_mosaic-nrdh-0",
    }


@pytest.mark.slow
def test_snakemake_param_change_reruns_graphs_and_downstream(smk_project, tmp_path):
    project = copy_of(smk_project, tmp_path / "p")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("rho: 0.4", "rho: 0.7"))
    planned = snakemake_planned(project)
    # feature_stats measures neighbours above rho: it reruns too, the features do not
    assert groups(planned) == {"build_graphs", "train_gcn", "feature_stats"} | HASH_AND_DOWNSTREAM
    assert not groups(planned) & UPSTREAM_OF_GRAPHS
    assert "evaluate@digits-lsh-0" not in planned


@pytest.mark.slow
def test_snakemake_code_edit_reruns_hash_stages_and_downstream(smk_project, tmp_path):
    project = copy_of(smk_project, tmp_path / "p")
    edit_hash_network_code(project)
    planned = snakemake_planned(project)
    assert groups(planned) == HASH_AND_DOWNSTREAM
    assert "evaluate@digits-lsh-0" not in planned


# The learned backbone by params only: a tiny SimCLR network on the digits, up to the
# feature measures, in both engines.
SIMCLR = {
    "base": {"datasets": ["digits"]},
    "features": {"backbone": "simclr", "device": "cpu"},
    "feature_net": {"epochs": 1, "batch_size": 256, "width": 4, "dim": 8, "proj_dim": 4},
}
SIMCLR_TARGET = "metrics/features/digits.json"


@pytest.mark.slow
def test_learned_backbone_through_both_engines(tmp_path, tiny_params):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(overlay(SIMCLR, tiny_params), sort_keys=False))
    dvc = make_project(tmp_path / "dvc", params)
    ran = ran_stages(run([tool("dvc"), "repro", "feature_stats"], dvc).stdout)
    assert groups(ran) == {
        "code_digests",
        "check_params",
        "train_feature_net",
        "extract_features_shard",
        "extract_features",
        "feature_stats",
    }
    smk = make_project(tmp_path / "smk", params)
    profile = ("--profile", "workflow/profiles/local")
    run([tool("snakemake"), "--cores", "2", *profile, SIMCLR_TARGET], smk)
    ours, theirs = digests(dvc), digests(smk)
    assert ours == theirs  # the network, its history, the shards, features.h5, the measures
    assert {"models/digits/feature_net/encoder.pt", "data/digits/features.h5"} <= set(ours)
    stats = json.loads((dvc / SIMCLR_TARGET).read_text())
    assert stats["backbone"] == "simclr" and 0.0 <= stats["knn_precision"] <= 1.0
    assert "- path: metrics/features/digits.json" in (dvc / "dvc.lock").read_text()  # recorded
