"""Shared fixtures: a throwaway copy of the project to run the pipeline in."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from nrdh.numerics import pin_cpu_numerics
from nrdh.params import Params, parse

# The stages' CPU kernels in this process too, so in-process results are the bytes the stages
# write: before any test module loads numpy or torch (hence nrdh.presets imported lazily).
pin_cpu_numerics()

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("dvc.yaml", "Snakefile", "workflow", "stages", "src", ".dvcignore")


def tool(name: str) -> str:
    """Path of a console script installed beside this interpreter (dvc, snakemake)."""
    return str(Path(sys.executable).with_name(name))


def project_env(cwd: Path) -> dict[str, str]:
    """The environment of a command run in a project: the venv's bin first on PATH, and in a
    project copy its own src/ first on PYTHONPATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if (Path(cwd) / "src" / "nrdh").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(cwd).resolve() / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    return env


def run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command with the venv's bin first on PATH; fail the test with its output.

    In a project copy, its own src/ comes first on PYTHONPATH, so the stages run the copy's
    code (an edit there is what the pipeline executes), not the installed package's.
    """
    proc = subprocess.run(
        cmd, cwd=cwd, env=project_env(cwd), capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def make_project(dest: Path, params: Path) -> Path:
    """Copy the pipeline into `dest` with `params` as its params.yaml, as a git + DVC repo."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    shutil.copy(params, dest / "params.yaml")
    shutil.copy(ROOT / ".gitignore", dest / ".gitignore")
    run(["git", "init", "-q"], dest)
    run([tool("dvc"), "init", "-q"], dest)
    shutil.copy(ROOT / ".dvcignore", dest / ".dvcignore")  # byte code is not a code change
    run([tool("dvc"), "config", "core.analytics", "false"], dest)
    run(["git", "add", "-A"], dest)
    run(
        ["git", "-c", "user.name=nrdh-test", "-c", "user.email=test@nrdh", "commit", "-qm", "init"],
        dest,
    )
    return dest


def overlay(changes: dict, base: Path = ROOT / "params.yaml") -> dict:
    """params.yaml with `changes` merged in by the presets' rule (`nrdh.presets.overlay`)."""
    from nrdh import presets

    return presets.overlay(yaml.safe_load(base.read_text()), changes)


def default_params(**changes: dict) -> Params:
    """The validated params of params.yaml, with `changes` merged in (see `overlay`)."""
    return parse(overlay(changes))


def write_params(path: Path, changes: dict) -> Path:
    """A full params file at `path`: params.yaml with `changes` merged in."""
    path.write_text(yaml.safe_dump(overlay(changes), sort_keys=False))
    return path


def digits_workdir(d: Path, changes: dict) -> Params:
    """Folder `d` with params.yaml (params.yaml with `changes` merged in) and the digits'
    features.h5, extracted in-process. Returns the params."""
    from nrdh.data import DatasetRef
    from nrdh.stages.extract_features_shard import extract_features_stage

    p = parse(overlay(changes))
    write_params(d / "params.yaml", changes)
    extract_features_stage(
        out=d / "features.h5",
        data=DatasetRef.of(p, "digits"),
        f_cfg=p.features,
    )
    return p


@pytest.fixture(scope="session")
def tiny_params(tmp_path_factory) -> Path:
    """The tiny params file the integration tests run the whole DAG with: params.yaml with
    tests/data/params_tiny.yaml's changes."""
    changes = yaml.safe_load((ROOT / "tests" / "data" / "params_tiny.yaml").read_text())
    return write_params(tmp_path_factory.mktemp("params") / "params.yaml", changes)


def tiny_digits_pipeline(d: Path, changes: dict | None = None) -> Params:
    """The whole NRDH pipeline on the tiny digits in folder `d`, in-process: params.yaml,
    features.h5, graphs.h5, gcn.pt, reps.h5, hasher.pt, codes.h5. `changes` go on top of
    tests/data/params_tiny.yaml's. Returns the params."""
    from nrdh.data import DatasetRef
    from nrdh.params import load_params
    from nrdh.stages import (
        build_graphs,
        compute_codes_shard,
        extract_features_shard,
        train_gcn,
    )

    tiny = yaml.safe_load((ROOT / "tests" / "data" / "params_tiny.yaml").read_text())
    for key, value in (changes or {}).items():
        tiny[key] = {**tiny.get(key, {}), **value}
    p = load_params(write_params(d / "params.yaml", tiny))
    data, seed = DatasetRef.of(p, "digits"), p.base.seed
    extract_features_shard.extract_features_stage(
        out=d / "features.h5", data=data, f_cfg=p.features
    )
    build_graphs.build_graphs_stage(
        features_path=d / "features.h5", out=d / "graphs.h5", cfg=p.graph, seed=seed
    )
    train_gcn.train_gcn_stage(
        features_path=d / "features.h5",
        graphs_path=d / "graphs.h5",
        out=d / "gcn.pt",
        history_out=d / "gcn.json",
        reps_out=d / "reps.h5",
        bits=16,
        cfg=p.gcn,
        reps_cfg=p.node_reps,
        seed=seed,
    )
    train_digits_hasher(p, d / "reps.h5", d / "hasher.pt", d / "h.json")
    compute_codes_shard.compute_codes_stage(
        features_path=d / "features.h5",
        model_path=d / "hasher.pt",
        out=d / "codes.h5",
        method="nrdh",
        data=data,
        cfg=p.codes,
        bits=16,
    )
    return p


def train_digits_hasher(p: Params, reps: Path, out: Path, history: Path) -> None:
    """The digits 16-bit hash network of params `p`, fitted to the node representations `reps`."""
    from nrdh.data import DatasetRef
    from nrdh.hash_network import HasherJob
    from nrdh.stages import train_hasher

    job = HasherJob(out, history, DatasetRef.of(p, "digits"), p.hasher, 16, p.base.seed)
    train_hasher.train_hasher_stage(reps_path=reps, job=job)


def snakemake_planned(project: Path, targets: Sequence[str] = ()) -> set[str]:
    """Jobs a Snakemake dry run plans (for `targets`, default all), as DVC-style names
    (group@wildcard values)."""
    out = run([tool("snakemake"), "-n", "--cores", "1", *targets], project).stdout
    jobs = set()
    for block in re.split(r"\n(?=rule \w+:)", out):
        m = re.match(r"rule (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        values = [kv.split("=", 1)[1] for kv in wc[1].split(", ")] if wc else []
        jobs.add(m.group(1) + ("@" + "-".join(values) if values else ""))
    return jobs
