"""DVC and Snakemake run one stage graph: same stage names, inputs and outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_project, run, tool
from packaging.specifiers import SpecifierSet

from nrdh.engines.code import code_file, script_sources, stage_script
from nrdh.engines.dvc import check_version, resolve, supported
from nrdh.engines.rules import load_rules
from nrdh.errors import NRDHError
from nrdh.sources import LINK_DIR, snapshot_path


def dvc_stages(project: Path) -> dict[str, tuple[set[str], set[str], str, dict]]:
    """DVC's own resolved stages: name -> (file deps, outputs incl. metrics and plots, cmd,
    tracked param values)."""
    from dvc.repo import Repo

    stages = {}
    with Repo(str(project)) as repo:
        for stage in repo.index.stages:
            params = {}
            for d in stage.deps:
                if type(d).__name__ == "ParamsDependency":
                    params.update({f"{d.def_path}:{k}": v for k, v in d.read_params().items()})
            stages[stage.name] = (
                {d.def_path for d in stage.deps if type(d).__name__ != "ParamsDependency"},
                {o.def_path for o in stage.outs},
                " ".join(stage.cmd.split()),
                params,
            )
    return stages


def snakemake_jobs(project: Path) -> dict[str, tuple[set[str], set[str], str, dict]]:
    """The jobs Snakemake plans (dry run, all forced): DVC-style name -> (inputs, outputs, cmd,
    the param values the job carries for Snakemake's params trigger)."""
    out = run([tool("snakemake"), "-n", "-p", "--forceall", "--cores", "1"], project).stdout
    rules = {r.name: r for r in load_rules(project)}
    jobs = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        m = re.match(r"rule (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, flags=re.M))
        wildcards = dict(kv.split("=", 1) for kv in fields.get("wildcards", "").split(", ") if kv)
        rule = rules[m.group(1)]
        name = rule.name + ("@" + rule.key(wildcards) if rule.wildcards else "")
        shell = re.search(
            r"^Shell command: OMP_NUM_THREADS=(\d+) MKL_NUM_THREADS=\1 NUMBA_NUM_THREADS=\1 "
            r"(.*) 2>&1 \| tee \S+$",
            block,
            re.M,
        )
        jobs[name] = (
            set(fields["input"].split(", ")),
            set(fields["output"].split(", ")),
            shell.group(2),
            json.loads(rule.job_params(wildcards)),
        )
    return jobs


def test_snakemake_rules_match_dvc_stages(tmp_path):
    project = make_project(tmp_path / "p", ROOT / "params.yaml")
    dvc = dvc_stages(project)
    smk = snakemake_jobs(project)
    # DVC's validation stage is Snakemake's DAG-time check, and its code stage Snakemake's
    # inputs of the modules themselves; every other stage is a job
    assert set(smk) == set(dvc) - {"check_params", "code_digests"}
    for name, (deps, outs, cmd, params) in dvc.items():
        if name in ("check_params", "code_digests"):
            continue
        assert "data/params.ok" in deps, name  # every DVC stage waits for the validation
        code = code_file(cmd)
        assert code in deps, name
        # a dataset's data links are one snapshot file to Snakemake (nrdh.sources)
        links = {d for d in deps if d.startswith(LINK_DIR + "/")}
        deps = (
            deps - {"data/params.ok", code} - links
            | set(script_sources(project / stage_script(cmd), project))
            | set(filter(None, map(snapshot_path, links)))
        )
        inputs, outputs, shell, values = smk[name]
        assert outputs == outs, name
        assert shell == cmd, name
        assert values == params, name
        # a folder dependency in DVC stands for the outputs Snakemake lists inside it, and
        # a file inside another job's folder output for that folder
        folders = {d for d in deps if any(i.startswith(d + "/") for i in inputs)}
        holders = {i for i in inputs if any(d.startswith(i + "/") for d in deps)}
        held = {d for d in deps if any(d.startswith(h + "/") for h in holders)}
        assert {i for i in inputs if not any(i.startswith(f + "/") for f in folders)} == (
            deps - folders - held | holders
        ), name


def test_rules_follow_the_matrix_values():
    rules = {r.name: r for r in load_rules(ROOT)}
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    hasher, gcn = rules["train_hasher"], rules["train_gcn"]
    base = params["base"]
    runs = len(base["datasets"]) * len(base["variants"]) * len(base["seeds"])
    assert hasher.wildcards == ["dataset", "variant", "seed", "bits"]
    assert len(hasher.jobs) == runs * len(base["bits"])
    assert hasher.constraints()["bits"] == "|".join(sorted(str(b) for b in base["bits"]))
    job = hasher.job(
        {"dataset": "digits", "variant": "nrdh", "seed": "0", "bits": str(base["bits"][0])}
    )
    assert f"--bits {base['bits'][0]}" in job.cmd and "${" not in job.cmd
    assert job.params["params.yaml:hasher"] == params["hasher"]
    # one GCN job per run writes every code length: its flags are {bits} templates
    assert gcn.wildcards == ["dataset", "variant", "seed"] and len(gcn.jobs) == runs
    job = gcn.job({"dataset": "digits", "variant": "nrdh", "seed": "0"})
    assert "gcn_{bits}.pt" in job.cmd and "${" not in job.cmd
    assert job.params["params.yaml:base.bits"] == base["bits"]


def test_unsupported_dvc_construct_is_refused(tmp_path):
    """A stage group Snakemake cannot express fails loudly instead of being misread."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    spec["stages"]["evaluate"]["foreach"] = spec["stages"]["evaluate"].pop("matrix")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec))
    for name in ("params.yaml", "stages", "src"):
        (tmp_path / name).symlink_to(ROOT / name)
    run([tool("dvc"), "init", "--no-scm", "-q"], tmp_path)
    with pytest.raises(NRDHError, match="foreach"):
        load_rules(tmp_path)


def test_the_dvc_bridge_refuses_a_version_outside_its_tested_range():
    """The range comes from the package's own requirement; the installed DVC is inside it."""
    declared = re.search(r'^\s*"dvc([<>=][^"]*)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert SpecifierSet(supported()) == SpecifierSet(declared[1]) == SpecifierSet(">=3.50,<3.68")
    check_version()
    for version in ("3.68.0", "4.0.0", "3.49.0"):
        with pytest.raises(NRDHError, match=rf"dvc {re.escape(version)} is installed.*pip install"):
            check_version(version)


def slurm_gpus(project: Path) -> dict[str, set[int]]:
    """rule -> the gpu values its jobs ask for in a dry run with the SLURM profile."""
    out = run(
        [tool("snakemake"), "--profile", "workflow/profiles/slurm", "-n", "--forceall"], project
    ).stdout
    gpus: dict[str, set[int]] = {}
    for rule, res in re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+resources: (.*)$", out, re.M):
        match = re.search(r"\bgpu=(\d+)", res)
        gpus.setdefault(rule, set()).add(int(match[1]) if match else 0)
    return gpus


def test_slurm_asks_a_gpu_only_where_a_stage_computes_on_one(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["base"].update(datasets=["digits"], bits=[16])
    params["grid"]["bits"] = 16
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    project = make_project(tmp_path / "p", tmp_path / "params.yaml")
    gpus = slurm_gpus(project)
    # pixel features run no model; the GCN and every numpy stage compute on the CPU
    # the hash network runs where hasher.device (training) or codes.device (codes, diagnosis)
    on_gpu = {"train_hasher", "compute_codes_shard", "diagnose"}
    assert {r for r, g in gpus.items() if g == {1}} == on_gpu
    assert all(g == {0} for r, g in gpus.items() if r not in on_gpu)

    params["features"]["backbone"] = "resnet18"
    params["hasher"]["device"] = "cpu"
    params["codes"]["device"] = "cpu"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    gpus = slurm_gpus(project)
    assert {r for r, g in gpus.items() if g == {1}} == {"extract_features_shard"}

    # the learned backbone trains and runs its encoder where features.device says
    params["features"]["backbone"] = "simclr"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    gpus = slurm_gpus(project)
    assert {r for r, g in gpus.items() if g == {1}} == {
        "train_feature_net",
        "extract_features_shard",
    }
    # a dataset's own backbone decides for its jobs, over the features section's
    params["features"]["backbone"] = "pixels"
    params["datasets"]["digits"]["backbone"] = "simclr"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    gpus = slurm_gpus(project)
    assert {r for r, g in gpus.items() if g == {1}} == {
        "train_feature_net",
        "extract_features_shard",
    }
    params["features"]["device"] = "cpu"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert all(g == {0} for g in slurm_gpus(project).values())


def test_committed_lock_holds_exactly_the_resolved_stages():
    """DVC never drops a lock entry whose stage dvc.yaml no longer resolves (18 such were
    committed once); the lock must hold each default stage once, and nothing else."""
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    _, stages = resolve(ROOT)
    assert sorted(set(lock) - set(stages)) == []
    assert sorted(set(stages) - set(lock)) == []


def test_snakemake_lint_is_clean():
    proc = run([tool("snakemake"), "--lint", "--cores", "1"], ROOT)
    assert "Lints for" not in proc.stdout + proc.stderr


def test_snakemake_timestamps_are_ignored_by_git_and_dvc():
    """Snakemake writes .snakemake_timestamp into each folder output, and metrics/ and plots/
    are tracked by git and hashed by DVC: neither may see them."""
    stamp = "metrics/eval/digits/nrdh/seed0/.snakemake_timestamp"
    run(["git", "check-ignore", "-q", stamp], ROOT)
    assert f"{stamp}\n" in run([tool("dvc"), "check-ignore", stamp], ROOT).stdout


def test_job_inputs_expand_folders_and_name_the_folder_a_file_lies_in():
    """A folder dep becomes the other rules' outputs inside it (not a sibling that shares
    its prefix); a file inside another rule's folder output becomes that folder."""
    from nrdh.engines.rules import Job, Rule

    rule = Rule("evaluate", ["metrics/{dataset}.json"], ["dataset"])
    rule.jobs["d"] = Job(
        "evaluate@d",
        {"dataset": "d"},
        "python stages/evaluate.py",
        ["codes/d/m", "models/d/feature_net/weights.pt", "data/d/features.h5"],
        ["metrics/d.json"],
        {},
    )
    rule.see_outputs(
        ["models/d/feature_net", "codes/d/m2/0.h5", "codes/d/m/1.h5", "codes/d/m/0.h5"]
    )
    assert rule.job_inputs({"dataset": "d"}) == [
        "codes/d/m/0.h5",
        "codes/d/m/1.h5",
        "models/d/feature_net",
        "data/d/features.h5",
    ]


def test_report_items_come_from_the_table_and_name_real_outputs(tmp_path):
    """`snakemake --report` shows what workflow/report/outputs.yaml lists: each entry marks
    one rule's output with its category and an existing caption file; an entry that names
    no output of dvc.yaml is refused."""
    from nrdh.engines import rules as rules_module

    rules = load_rules(ROOT)
    shown = {p: item for r in rules for p, item in r.shown.items()}
    table = yaml.safe_load((ROOT / rules_module.REPORT_TABLE).read_text())
    assert set(shown) == set(table)
    assert shown["reports/pr_curves.svg"]["category"] == table["reports/pr_curves.svg"]["category"]
    assert all(Path(item["caption"]).is_file() for item in shown.values())
    grid = next(r for r in rules if r.name == "retrieval_grid")
    assert "reports/grid/{dataset}.svg" in grid.shown
    bad = tmp_path / "outputs.yaml"
    bad.write_text("reports/nosuch.svg: {category: x, caption: x.rst}\n")
    with pytest.raises(NRDHError, match=r"reports/nosuch.svg is no output pattern"):
        rules_module._show_in_report(rules, bad)


def planned_threads(project: Path) -> dict[str, set[int]]:
    """rule -> the thread counts its jobs ask for in a dry run on 8 cores."""
    out = run([tool("snakemake"), "-n", "--forceall", "--cores", "8"], project).stdout
    threads: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        m = re.match(r"rule (\w+):", block)
        if m and m[1] != "all":
            t = re.search(r"^\s+threads: (\d+)$", block, re.M)
            threads.setdefault(m[1], set()).add(int(t[1]) if t else 1)
    return threads


def test_each_job_asks_for_the_threads_its_stage_computes_with(tmp_path):
    """A torch stage's rule asks for its params' thread count (its variant's, when it
    overrides it); a numpy or numba stage for the count resources.yaml exports to it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["base"].update(
        datasets=["digits"], bits=[16], variants=["nrdh", "nrdh_flat"], peers=["bihalf"]
    )
    params["base"]["methods"] = ["nrdh", "nrdh_flat", "bihalf", "lsh"]
    params["grid"]["bits"] = 16
    params["hasher"]["threads"] = 2
    params["variants"]["nrdh_flat"]["hasher"]["threads"] = 3
    params["gcn"]["threads"] = 4
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    threads = planned_threads(make_project(tmp_path / "p", tmp_path / "params.yaml"))
    assert threads["train_hasher"] == {2, 3}  # nrdh, and nrdh_flat's override
    assert threads["train_peer"] == {2}
    assert threads["train_gcn"] == {4}
    assert threads["evaluate"] == {2}  # numba's prange, NUMBA_NUM_THREADS
    assert threads["extract_features_shard"] == threads["compute_codes_shard"] == {1}
    assert threads["baseline_codes"] == {1}
