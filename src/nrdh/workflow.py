"""Snakemake rules derived from DVC's own reading of dvc.yaml, so the engines cannot disagree.

dvc.yaml is the one declaration of the stage graph. DVC itself resolves it (templating,
``vars``, ``matrix``, ``foreach``, other params files): every resolved stage becomes one
Snakemake job with DVC's command, deps, outputs and the values of the params DVC tracks for
it, so Snakemake's params trigger fires exactly when DVC's would. A stage group (a matrix
or foreach stage) becomes one Snakemake rule whose wildcards are its matrix keys; output
patterns come from DVC resolving the same dvc.yaml with each matrix value replaced by its
``{wildcard}``, and are checked against every concrete stage.

Paths are relative to the repository root (the folder of dvc.yaml and the Snakefile).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nrdh.errors import NRDHError
from nrdh.imports import closure

SOURCE_DIRS = ("stages/", "src/", "data/code/")
# DVC's code stage writes, for each stage script, the MD5 of every project file the script
# runs (its import closure) to data/code/<script>.json; each stage depends on its script's
# file, so DVC re-runs exactly the stages whose code changed. One dep per stage instead of
# one per module keeps dvc.lock small, and DVC rewrites that file after every stage: its
# size is most of DVC's own time per stage. Snakemake's rules list the modules themselves.
CODER, CODE_DIR = "code_digests", "data/code"
# DVC's validation stage: every stage depends on its stamp so `dvc repro` checks params.yaml
# first. Snakemake checks the file as it builds the DAG (`check_params`), so the stage and
# its stamp are left out of its rules: a stamp rewritten on every params edit would make
# every job look stale to Snakemake's mtime trigger.
VALIDATOR, STAMP = "check_params", "data/params.ok"


@dataclass(frozen=True)
class Job:
    """One resolved DVC stage: what Snakemake runs for one wildcard assignment."""

    name: str  # DVC's stage name, e.g. train_gcn@digits-nrdh-16
    wildcards: dict[str, str]
    cmd: str
    deps: list[str]  # file and folder deps as DVC lists them
    outputs: list[str]  # outs, metrics and plots
    params: dict[str, Any]  # "file:key" -> value, every param DVC tracks for the stage


@dataclass
class Rule:
    """A stage group of dvc.yaml as one Snakemake rule."""

    name: str
    outputs: list[str]  # patterns with {wildcard}s
    wildcards: list[str]
    jobs: dict[str, Job] = field(default_factory=dict)  # by wildcard key
    produced: list[str] = field(default_factory=list)  # concrete outputs of the other rules

    def key(self, wildcards: Any) -> str:
        """The job key of a wildcard assignment (a dict or Snakemake's wildcards object)."""
        return "-".join(str(wildcards[k]) for k in self.wildcards)

    def job(self, wildcards: Any) -> Job:
        """The resolved DVC stage of one Snakemake job."""
        return self.jobs[self.key(wildcards)]

    def job_inputs(self, wildcards: Any) -> list[str]:
        """Concrete inputs of one job (a Snakemake input function): DVC's deps, each folder
        replaced by the other rules' outputs inside it."""
        resolved: list[str] = []
        for dep in self.job(wildcards).deps:
            inside = sorted(p for p in self.produced if p.startswith(dep.rstrip("/") + "/"))
            holder = [p for p in self.produced if is_folder(p) and dep.startswith(p + "/")]
            resolved.extend(inside or holder or [dep])
        return resolved

    def snakemake_outputs(self) -> list[Any]:
        """Output patterns, folders wrapped as Snakemake ``directory()`` outputs."""
        from snakemake.io import directory

        return [directory(o) if is_folder(o) else o for o in self.outputs]

    def job_cmd(self, wildcards: Any) -> str:
        """DVC's command of one job."""
        return self.job(wildcards).cmd

    def job_params(self, wildcards: Any) -> str:
        """The values of every param DVC tracks for the job, as canonical JSON: a change
        to any of them changes this string and fires Snakemake's params trigger."""
        return json.dumps(self.job(wildcards).params, sort_keys=True)

    def constraints(self) -> dict[str, str]:
        """Wildcard regexes: exactly the values DVC resolved for each matrix key."""
        values: dict[str, set[str]] = {k: set() for k in self.wildcards}
        for job in self.jobs.values():
            for k, v in job.wildcards.items():
                values[k].add(v)
        return {k: "|".join(sorted(map(re.escape, vals))) for k, vals in values.items()}

    def log(self) -> str:
        """Per-job log file: logs/<rule>/<wildcard values>.log."""
        stem = "-".join("{" + k + "}" for k in self.wildcards) or "run"
        return f"logs/{self.name}/{stem}.log"


def is_folder(path: str) -> bool:
    """Whether a dvc.yaml output is a folder: by this project's convention, a path without a
    file suffix (codes/<ds>/<method>, metrics/eval/<ds>/<method>)."""
    return Path(path).suffix == ""


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


def check_params(path: Path) -> None:
    """Validate the whole params file as the DAG is built; a user mistake prints the one
    `error:` line the stages print and stops Snakemake before any job."""
    import sys

    from nrdh.params import load_params

    try:
        load_params(path)
    except NRDHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def load_rules(root: str | Path = ".") -> list[Rule]:
    """Every stage group of root/dvc.yaml as a Snakemake rule, resolved by DVC itself."""
    from dvc.dependency.param import ParamsDependency
    from dvc.exceptions import DvcException
    from dvc.parsing import DataResolver
    from dvc.repo import Repo

    root = Path(root).resolve()
    spec = yaml.safe_load((root / "dvc.yaml").read_text())
    try:
        with Repo(str(root)) as repo:
            patterns = DataResolver(repo, str(root), _with_placeholders(spec)).resolve()
            resolver = DataResolver(repo, str(root), spec)
            items = {
                name: getattr(definition, "normalized_iterable", {"": {}})
                for name, definition in resolver.definitions.items()
            }
            stages = {s.name: s for s in repo.index.stages if s.path == str(root / "dvc.yaml")}
            rules: dict[str, Rule] = {}
            sources = functools.cache(lambda cmd: stage_sources(cmd, root))
            for full, stage in patterns["stages"].items():
                group = full.split("@")[0]
                if group in (VALIDATOR, CODER) or not items[group]:  # empty matrix: no jobs
                    continue
                wildcards = list(items[group][next(iter(items[group]))])
                rule = rules[group] = Rule(group, _out_paths(stage), wildcards)
                for key, item in items[group].items():
                    concrete = stages[f"{group}@{key}" if key else group]
                    params: dict[str, Any] = {}
                    for dep in concrete.deps:
                        if isinstance(dep, ParamsDependency):
                            values = dep.read_params()
                            params.update({f"{dep.def_path}:{k}": v for k, v in values.items()})
                    job = Job(
                        name=concrete.name,
                        wildcards={k: str(v) for k, v in item.items()},
                        cmd=" ".join(concrete.cmd.split()),
                        deps=[
                            path
                            for d in concrete.deps
                            if not isinstance(d, ParamsDependency) and d.def_path != STAMP
                            for path in (
                                sources(concrete.cmd)
                                if d.def_path.startswith(CODE_DIR + "/")
                                else [d.def_path]
                            )
                        ],
                        outputs=[o.def_path for o in concrete.outs],
                        params=params,
                    )
                    _check_patterns(rule, job)
                    rule.jobs[rule.key(job.wildcards)] = job
    except DvcException as exc:
        raise NRDHError(f"{root / 'dvc.yaml'}: {exc}") from None
    for rule in rules.values():
        rule.produced = all_targets([r for r in rules.values() if r is not rule])
    return list(rules.values())


def _check_patterns(rule: Rule, job: Job) -> None:
    """Fail unless the rule's output patterns give exactly DVC's outputs for this job."""
    expected = sorted(p.format(**job.wildcards) for p in rule.outputs)
    if expected != sorted(job.outputs):
        raise NRDHError(
            f"dvc.yaml: stage {job.name}: outputs {sorted(job.outputs)} cannot be written as "
            f"patterns of its matrix keys {rule.wildcards} (got {expected})"
        )


def all_targets(rules: list[Rule]) -> list[str]:
    """Every concrete output of every rule: the default target."""
    return sorted(o for r in rules for j in r.jobs.values() for o in j.outputs)


def load_resources(path: str | Path, rule: Rule) -> dict[str, Any]:
    """Resources (mem_mb, runtime, threads, gpu) of a rule from workflow/resources.yaml.

    ``device: <section>`` names the params section whose ``device`` the stage computes on:
    the rule asks for a GPU unless every job's section (variant overrides merged) says
    ``device: cpu`` or ``backbone: pixels`` (pixel features run no model). ``backbones:
    [...]`` narrows that to jobs whose section's backbone is listed (train_feature_net
    trains only for simclr).
    """
    table = yaml.safe_load(Path(path).read_text()) or {}
    merged = {**table.get("default", {}), **table.get(rule.name, {})}
    section = merged.pop("device", None)
    backbones = merged.pop("backbones", None)
    merged["gpu"] = int(
        section is not None and any(_uses_gpu(j, section, backbones) for j in rule.jobs.values())
    )
    return merged


def _uses_gpu(job: Job, section: str, backbones: list[str] | None = None) -> bool:
    """Whether a job's `section` (with its variant's overrides; the section tracked whole or
    key by key) runs a model on a GPU: on one of `backbones`, when given. A dataset entry's
    own ``backbone`` replaces the features section's (`Params.features_for`)."""
    values: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for key, value in job.params.items():
        name = key.split(":", 1)[1]
        if name == section:
            values = {**value, **values}
        elif name.startswith(section + "."):
            values = {**values, name[len(section) + 1 :]: value}
        elif name.startswith("variants.") and isinstance(value, dict):
            values = {**values, **(value.get(section) or {})}
        elif section == "features" and name.startswith("datasets.") and isinstance(value, dict):
            own = {"backbone": value["backbone"]} if value.get("backbone") else {}
    backbone = {**values, **own}.get("backbone")
    wanted = backbone in backbones if backbones is not None else backbone != "pixels"
    return values.get("device", "auto") != "cpu" and wanted


def stage_flags(root: str | Path, stage: str) -> dict[str, str]:
    """The ``--flag value`` pairs of a stage's command as DVC resolves root/dvc.yaml, by
    flag name with '-' as '_' (`nrdh compare` reads the summarize stage's sources)."""
    import itertools
    import shlex

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            cmds = [s.cmd for s in repo.index.stages if s.name == stage]
    except DvcException as exc:
        raise NRDHError(f"{Path(root) / 'dvc.yaml'}: {exc}") from None
    if not cmds:
        raise NRDHError(f"{Path(root) / 'dvc.yaml'}: no stage {stage!r}")
    words = shlex.split(cmds[0])
    return {
        flag[2:].replace("-", "_"): value
        for flag, value in itertools.pairwise(words)
        if flag.startswith("--")
    }


def stage_script(cmd: str) -> str:
    """The script of a stage command (``python stages/<name>.py ...``), relative to the root."""
    match = re.match(r"python3?\s+(\S+\.py)", cmd.strip())
    if match is None:
        raise NRDHError(f"dvc.yaml: cannot find the stage script in command {cmd!r}")
    return match.group(1)


def script_sources(script: Path, root: Path) -> list[str]:
    """The source files a stage script runs, relative to root: itself and its import closure."""
    return [str(f.relative_to(root)) for f in (script, *closure(script, root / "src"))]


def stage_sources(cmd: str, root: Path) -> list[str]:
    """The source files a stage command runs (`script_sources` of its script)."""
    return script_sources(root / stage_script(cmd), root)


def code_file(cmd: str) -> str:
    """The digest file a stage depends on for its code: data/code/<script name>.json."""
    return f"{CODE_DIR}/{Path(stage_script(cmd)).stem}.json"


def write_code_digests(root: Path, out: Path) -> None:
    """For each stage script under root/stages, {source file: MD5} of the files it runs ->
    out/<script name>.json (sorted keys: unchanged code gives unchanged bytes)."""
    from nrdh import io

    for script in sorted((root / "stages").glob("*.py")):
        files = script_sources(script, root)
        io.write_json(out / f"{script.stem}.json", {f: io.file_digest(root / f) for f in files})


def sync_deps(root: str | Path = ".", write: bool = True) -> dict[str, tuple[list, list]]:
    """Set each dvc.yaml stage's code dep to its script's digest file (`code_file`), in
    place of any source file listed.

    Data deps keep their place after it; comments and layout of dvc.yaml are kept.
    Returns {stage: (old source deps, new source deps)} for the stages that differ, and
    rewrites dvc.yaml when `write` and anything differs.
    """
    from ruamel.yaml import YAML

    root = Path(root)
    ryaml = YAML()
    ryaml.width = 4096
    ryaml.indent(mapping=2, sequence=4, offset=2)
    path = root / "dvc.yaml"
    doc = ryaml.load(path.read_text())
    changed: dict[str, tuple[list, list]] = {}
    for name, stage in doc["stages"].items():
        if name == CODER:  # depends on the source folders themselves
            continue
        deps = stage.get("deps") or []
        old = [d for d in deps if str(d).startswith(SOURCE_DIRS)]
        new = [code_file(str(stage["cmd"]))]
        if old != new:
            changed[name] = (list(old), new)
            data = [d for d in deps if not str(d).startswith(SOURCE_DIRS)]
            deps.clear()
            deps.extend([*new, *data])
            stage["deps"] = deps
    if changed and write:
        with path.open("w") as fh:
            ryaml.dump(doc, fh)
    return changed
