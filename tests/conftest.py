"""Shared fixtures: a throwaway copy of the project to run the pipeline in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("dvc.yaml", "Snakefile", "workflow", "stages", "src", ".dvcignore")


def tool(name: str) -> str:
    """Path of a console script installed beside this interpreter (dvc, snakemake)."""
    return str(Path(sys.executable).with_name(name))


def run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command with the venv's bin first on PATH; fail the test with its output.

    In a project copy, its own src/ comes first on PYTHONPATH, so the stages run the copy's
    code (an edit there is what the pipeline executes), not the installed package's.
    """
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if (Path(cwd) / "src" / "nrdh").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(cwd).resolve() / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
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
    run([tool("dvc"), "config", "core.analytics", "false"], dest)
    run(["git", "add", "-A"], dest)
    run(
        ["git", "-c", "user.name=nrdh-test", "-c", "user.email=test@nrdh", "commit", "-qm", "init"],
        dest,
    )
    return dest


@pytest.fixture(scope="session")
def tiny_params() -> Path:
    """The tiny params file the integration tests run the whole DAG with."""
    return ROOT / "tests" / "data" / "params_tiny.yaml"
