"""dvc.lock as the one record of a built workspace: brought up to date after a Snakemake build,
and checked against the code and params it claims to describe.

Snakemake keeps its own metadata (.snakemake/), DVC keeps dvc.lock. After Snakemake builds a
workspace, `record_build` writes the two outputs of DVC's own stages that are not Snakemake
rules (the code digests and the params stamp) and runs ``dvc commit`` on every stage of the
build, so `dvc status` is clean and `dvc repro` runs nothing. `stale_entries` finds the
stages whose committed lock no longer matches HEAD's code, params or data: CI runs it
(`nrdh lock-check`) so a lock can never go stale unnoticed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from nrdh.engines.code import CODE_DIR, CODER
from nrdh.engines.rules import VALIDATOR
from nrdh.errors import NRDHError
from nrdh.sources import LINK_DIR

# Deps whose change means the lock describes other code, params or data than the workspace's.
TRACKED = ("params.yaml", "stages", "src/nrdh", CODE_DIR + "/", LINK_DIR + "/")


def _run_own_stages(root: Path) -> None:
    """Run DVC's code_digests and check_params commands as dvc.yaml declares them."""
    spec = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for name in (CODER, VALIDATOR):
        proc = subprocess.run(spec[name]["cmd"], shell=True, cwd=root, text=True)
        if proc.returncode:
            raise NRDHError(f"dvc.yaml: stage {name} failed (exit {proc.returncode})")


def _times(root: Path, outputs: list[str]) -> dict[Path, tuple[int, int]]:
    """(atime, mtime) in ns of every file and folder under `outputs`."""
    found = {}
    for out in outputs:
        top = root / out
        paths = [top, *top.rglob("*")] if top.is_dir() else [top]
        for p in paths:
            if p.exists():
                st = p.stat()
                found[p] = (st.st_atime_ns, st.st_mtime_ns)
    return found


def record_build(root: Path, stages: list[str]) -> None:
    """After Snakemake built `stages` (DVC stage names), commit them to dvc.lock (and DVC's
    cache), with DVC's own code_digests and check_params stages: one state for both engines.

    `dvc commit` replaces each output by a copy from its cache, in its own order: the outputs'
    times are put back after it, or Snakemake would find an input newer than what it built."""
    if not (root / ".dvc").is_dir():
        return
    from nrdh.engines.dvc import resolve

    _run_own_stages(root)
    targets = [CODER, VALIDATOR, *sorted(set(stages))]
    resolved = resolve(root.resolve())[1]
    times = _times(root, [out for name in targets for out in resolved[name].outs])
    print(f"nrdh: recording {len(targets)} stages in dvc.lock (dvc commit)", file=sys.stderr)
    proc = subprocess.run(["dvc", "commit", "-f", "-q", *targets], cwd=root, text=True)
    for path, ns in times.items():
        if path.exists():
            os.utime(path, ns=ns)
    if proc.returncode:
        raise NRDHError(
            f"{root / 'dvc.lock'}: dvc commit failed (exit {proc.returncode}); run "
            "`dvc commit -f` to record the Snakemake build in it"
        )


def built_stages(root: Path) -> list[str]:
    """The stages of root/dvc.yaml whose outputs all exist: what a Snakemake run built."""
    from nrdh.engines.dvc import resolve

    stages = resolve(root.resolve())[1].values()
    return [s.name for s in stages if all((root / out).exists() for out in s.outs)]


def prune(root: Path) -> list[str]:
    """Remove dvc.lock's entries of stages dvc.yaml no longer resolves (DVC keeps them
    forever), in DVC's own YAML layout; returns their names."""
    from dvc.utils.serialize import modify_yaml

    from nrdh.engines.dvc import resolve

    resolved = set(resolve(root.resolve())[1])
    with modify_yaml(str(root / "dvc.lock")) as lock:
        gone = [name for name in lock.get("stages", {}) if name not in resolved]
        for name in gone:
            del lock["stages"][name]
    return gone


def _stale(entry: Any) -> list[str]:
    """What in one `dvc status` entry says the lock differs from code, params or data."""
    if isinstance(entry, str):
        return [entry] if entry == "changed command" else []
    found = []
    for path, change in (entry.get("changed deps") or {}).items():
        if path.startswith(TRACKED) and (isinstance(change, dict) or change != "deleted"):
            found.append(f"{path}: {change}")
    for path, change in (entry.get("changed outs") or {}).items():
        if path == CODE_DIR and change == "modified":
            found.append(f"{path}: {change}")
    return found


def stale_entries(root: Path) -> dict[str, list[str]]:
    """Stages whose dvc.lock entry does not match the workspace's code, params or data
    (missing outputs and artifacts are not looked at: a fresh clone has none), and stages
    dvc.yaml resolves that the lock lacks or the lock holds that dvc.yaml no longer has."""
    from dvc.repo import Repo

    from nrdh.engines.dvc import resolve
    from nrdh.params import load_params
    from nrdh.sources import link_sources

    link_sources(load_params(root / "params.yaml"), root)
    _run_own_stages(root)
    lock = yaml.safe_load((root / "dvc.lock").read_text()) or {}
    locked = set(lock.get("stages", {}))
    resolved = set(resolve(root.resolve())[1])
    found = {name: ["not in dvc.lock"] for name in sorted(resolved - locked)}
    found |= {name: ["in dvc.lock, not in dvc.yaml"] for name in sorted(locked - resolved)}
    with Repo(str(root)) as repo:
        status = repo.status()
    for name, entries in status.items():
        stage = name.split(":")[-1]
        problems = [p for e in entries for p in _stale(e)]
        if problems and stage in locked:
            found[stage] = problems
    return found
