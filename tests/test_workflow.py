"""DVC and Snakemake run one stage graph: same stage names, inputs and outputs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from conftest import ROOT, make_project, run, tool

from nrdh.workflow import load_rules


def dvc_stages(project: Path) -> dict[str, tuple[set[str], set[str], str]]:
    """DVC's own resolved stages: name -> (file deps, outputs incl. metrics and plots, cmd)."""
    from dvc.repo import Repo

    with Repo(str(project)) as repo:
        return {
            stage.name: (
                {d.def_path for d in stage.deps if type(d).__name__ != "ParamsDependency"},
                {o.def_path for o in stage.outs},
                " ".join(stage.cmd.split()),
            )
            for stage in repo.index.stages
        }


def snakemake_jobs(project: Path) -> dict[str, tuple[set[str], set[str], str]]:
    """The jobs Snakemake plans (dry run, all forced): DVC-style name -> (inputs, outputs, cmd)."""
    out = run([tool("snakemake"), "-n", "-p", "--forceall", "--cores", "1"], project).stdout
    matrix = {
        name: list(stage.get("matrix") or {})
        for name, stage in yaml.safe_load((project / "dvc.yaml").read_text())["stages"].items()
    }
    jobs = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        m = re.match(r"rule (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, flags=re.M))
        wildcards = dict(kv.split("=", 1) for kv in fields.get("wildcards", "").split(", ") if kv)
        name = m.group(1)
        if matrix[name]:
            name += "@" + "-".join(wildcards[k] for k in matrix[name])
        shell = re.search(r"^Shell command: OMP_NUM_THREADS=\d+ (.*) > \S+ 2>&1$", block, re.M)
        jobs[name] = (
            set(fields["input"].split(", ")),
            set(fields["output"].split(", ")),
            shell.group(1),
        )
    return jobs


def test_snakemake_rules_match_dvc_stages(tmp_path):
    project = make_project(tmp_path / "p", ROOT / "params.yaml")
    dvc = dvc_stages(project)
    smk = snakemake_jobs(project)
    assert set(smk) == set(dvc)
    for name, (deps, outs, cmd) in dvc.items():
        inputs, outputs, shell = smk[name]
        assert outputs == outs, name
        assert shell == cmd, name
        # a folder dependency in DVC stands for the outputs Snakemake lists inside it
        folders = {d for d in deps if any(i.startswith(d + "/") for i in inputs)}
        assert {i for i in inputs if not any(i.startswith(f + "/") for f in folders)} == (
            deps - folders
        ), name


def test_rules_follow_the_matrix_values(tmp_path):
    rules = {r.name: r for r in load_rules(ROOT / "dvc.yaml", ROOT / "params.yaml")}
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    gcn = rules["train_gcn"]
    base = params["base"]
    assert gcn.matrix == {
        "dataset": base["datasets"],
        "variant": base["variants"],
        "bits": base["bits"],
    }
    assert gcn.constraints()["bits"] == "|".join(str(b) for b in params["base"]["bits"])
    assert "--bits {bits}" in gcn.cmd and "${" not in gcn.cmd


def test_snakemake_lint_is_clean():
    proc = run([tool("snakemake"), "--lint", "--cores", "1"], ROOT)
    assert "Lints for" not in proc.stdout + proc.stderr
