"""dvc.yaml as DVC itself resolves it (templating, ``vars``, ``matrix``): the one module that
reads DVC's internals, which DVC does not offer as a public interface.

DVC's Python API (`dvc.api`) reads params, metrics and data, not resolved stages, and
`dvc stage list` prints no deps, params or commands. So this module uses `DataResolver`,
`Repo.index.stages` and `ParamsDependency`, and only on the DVC versions pyproject.toml
admits: `check_version` refuses any other with the range to install.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nrdh.errors import NRDHError

PACKAGE = "nrdh"


@dataclass(frozen=True)
class Stage:
    """One concrete stage as DVC resolved it."""

    name: str  # e.g. train_gcn@digits-nrdh-0-16
    cmd: str
    deps: list[str]  # file and folder deps
    outs: list[str]  # outs, metrics and plots
    params: dict[str, Any]  # "file:key" -> value, every param DVC tracks for the stage


@dataclass(frozen=True)
class Group:
    """A stage group of dvc.yaml (a matrix stage, or a plain stage as a group of one)."""

    name: str
    patterns: list[str]  # outputs with each matrix key's value written {key}
    items: dict[str, dict[str, Any]]  # DVC's stage key (a@<key>) -> its matrix values


def supported() -> str:
    """The range of DVC versions this bridge is tested on: nrdh's own `dvc` requirement."""
    for req in importlib.metadata.requires(PACKAGE) or []:
        match = re.match(r"dvc\s*([<>=!~][^;]*)", req)
        if match:
            return match.group(1).strip()
    raise NRDHError(f"package {PACKAGE}: its metadata lists no dvc requirement (reinstall it)")


def check_version(version: str | None = None) -> None:
    """Refuse a DVC outside `supported()`: its internals may have moved."""
    from packaging.specifiers import SpecifierSet

    version = version or importlib.metadata.version("dvc")
    spec = supported()
    if version not in SpecifierSet(spec):
        raise NRDHError(
            f"dvc {version} is installed, but the Snakemake bridge reads DVC internals that "
            f"are tested on dvc{spec} only: pip install 'dvc{spec}'"
        )


def _out_paths(stage: dict[str, Any]) -> list[str]:
    """Paths of a resolved stage's outs, metrics and plots (entries are str or {path: opts})."""
    return [
        e if isinstance(e, str) else next(iter(e))
        for key in ("outs", "metrics", "plots")
        for e in stage.get(key) or []
    ]


def _with_placeholders(spec: dict[str, Any]) -> dict[str, Any]:
    """dvc.yaml with each matrix key's values replaced by the one value ``{key}``."""
    spec = copy.deepcopy(spec)
    for stage in spec.get("stages", {}).values():
        if isinstance(stage, dict) and "matrix" in stage:
            stage["matrix"] = {k: ["{" + k + "}"] for k in stage["matrix"]}
        if isinstance(stage, dict) and "foreach" in stage:
            raise NRDHError("dvc.yaml: use matrix, not foreach, for stage groups Snakemake runs")
    return spec


def _read_params_file(repo: Any, path: str) -> dict[str, Any] | None:
    """A params file as DVC loads it (its own YAML 1.2 reader), or None when it is missing."""
    from dvc.utils.serialize import load_path

    return load_path(path, repo.fs) if repo.fs.exists(path) else None


def _pick(config: dict[str, Any] | None, keys: list[str]) -> dict[str, Any]:
    """`ParamsDependency.read_params` on a loaded file: each dotted key present, by name (all
    of the file when no key is listed). Each file is read once, not once per stage: the
    ruamel parse costs 0.1 s and a comparison resolves hundreds of stages."""
    import dpath

    if config is None:
        return {}
    if not keys:
        return config
    values = {}
    for key in keys:
        try:
            values[key] = dpath.get(config, key, separator=".")
        except KeyError:
            continue
    return values


def resolve(root: Path) -> tuple[list[Group], dict[str, Stage]]:
    """Every stage group of root/dvc.yaml and every concrete stage, as DVC resolves them."""
    check_version()
    from dvc.dependency.param import ParamsDependency
    from dvc.exceptions import DvcException
    from dvc.parsing import DataResolver
    from dvc.repo import Repo

    spec = yaml.safe_load((root / "dvc.yaml").read_text())
    try:
        with Repo(str(root)) as repo:
            patterns = DataResolver(repo, str(root), _with_placeholders(spec)).resolve()
            resolver = DataResolver(repo, str(root), spec)
            items = {
                name: getattr(definition, "normalized_iterable", {"": {}})
                for name, definition in resolver.definitions.items()
            }
            groups = [
                Group(full.split("@")[0], _out_paths(stage), items[full.split("@")[0]])
                for full, stage in patterns["stages"].items()
            ]
            stages = {}
            read = functools.cache(lambda path: _read_params_file(repo, path))
            for s in repo.index.stages:
                if s.path != str(root / "dvc.yaml"):
                    continue
                params: dict[str, Any] = {}
                for dep in s.deps:
                    if isinstance(dep, ParamsDependency):
                        values = _pick(read(dep.fs_path), dep.params)
                        params.update({f"{dep.def_path}:{k}": v for k, v in values.items()})
                stages[s.name] = Stage(
                    name=s.name,
                    cmd=" ".join(s.cmd.split()),
                    deps=[d.def_path for d in s.deps if not isinstance(d, ParamsDependency)],
                    outs=[o.def_path for o in s.outs],
                    params=params,
                )
    except DvcException as exc:
        raise NRDHError(f"{root / 'dvc.yaml'}: {exc}") from None
    return groups, stages


def stage_flags(root: str | Path, stage: str) -> dict[str, str]:
    """The ``--flag value`` pairs of a stage's command as DVC resolves root/dvc.yaml, by
    flag name with '-' as '_' (`nrdh compare` reads the summarize stage's sources)."""
    import itertools
    import shlex

    root = Path(root).resolve()
    _, stages = resolve(root)
    if stage not in stages:
        raise NRDHError(f"{root / 'dvc.yaml'}: no stage {stage!r}")
    return {
        flag[2:].replace("-", "_"): value
        for flag, value in itertools.pairwise(shlex.split(stages[stage].cmd))
        if flag.startswith("--")
    }
