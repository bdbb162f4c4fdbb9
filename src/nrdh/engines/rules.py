"""Snakemake rules derived from DVC's own reading of dvc.yaml, so the engines cannot disagree.

dvc.yaml is the one declaration of the stage graph. DVC itself resolves it
(`nrdh.engines.dvc`: templating, ``vars``, ``matrix``, other params files): every resolved
stage becomes one Snakemake job with DVC's command, deps, outputs and the values of the
params DVC tracks for it, so Snakemake's params trigger fires exactly when DVC's would. A
stage group (a matrix stage) becomes one Snakemake rule whose wildcards are its matrix keys;
output patterns come from DVC resolving the same dvc.yaml with each matrix value replaced by
its ``{wildcard}``, and are checked against every concrete stage.

Paths are relative to the repository root (the folder of dvc.yaml and the Snakefile).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nrdh.engines.code import CODE_DIR, CODER, script_sources, stage_script
from nrdh.engines.dvc import Stage, resolve
from nrdh.errors import NRDHError
from nrdh.sources import LINK_DIR, snapshot_path

if TYPE_CHECKING:
    from nrdh.params import Params

# DVC's validation stage: every stage depends on its stamp so `dvc repro` checks params.yaml
# first. Snakemake checks the file as it builds the DAG (`check_params`), so the stage and
# its stamp are left out of its rules: a stamp rewritten on every params edit would make
# every job look stale to Snakemake's mtime trigger.
VALIDATOR, STAMP = "check_params", "data/params.ok"
# The outputs `snakemake --report` shows: output pattern -> category and caption file (a path
# relative to the table's folder). Data, not code, so a new figure is one line there.
REPORT_TABLE = "workflow/report/outputs.yaml"


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
    produced: list[str] = field(default_factory=list)  # the other rules' outputs, sorted
    folders: set[str] = field(default_factory=set)  # those of them that are folders
    shown: dict[str, dict[str, str]] = field(default_factory=dict)  # report items: REPORT_TABLE

    def see_outputs(self, outputs: list[str]) -> None:
        """Record the other rules' concrete outputs, sorted for the prefix search of
        `job_inputs`, and which of them are folders."""
        self.produced = sorted(outputs)
        self.folders = {p for p in self.produced if is_folder(p)}

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
            prefix = dep.rstrip("/") + "/"
            start = bisect.bisect_left(self.produced, prefix)
            after = itertools.islice(self.produced, start, None)
            inside = list(itertools.takewhile(lambda p, pre=prefix: p.startswith(pre), after))
            parts = dep.split("/")
            above = ("/".join(parts[:i]) for i in range(1, len(parts)))
            holder = [folder for folder in above if folder in self.folders]
            resolved.extend(inside or holder or [dep])
        return resolved

    def snakemake_outputs(self) -> list[Any]:
        """Output patterns, folders wrapped as Snakemake ``directory()`` outputs and those
        of the report table (`shown`) as ``report()`` outputs with category and caption."""
        from snakemake.io import directory, report

        out: list[Any] = []
        for o in self.outputs:
            if is_folder(o):
                out.append(directory(o))
            elif o in self.shown:
                out.append(report(o, **self.shown[o]))
            else:
                out.append(o)
        return out

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

    def benchmark(self) -> str:
        """Per-job resource record beside the log (Snakemake's ``benchmark:`` TSV: wall
        seconds, peak RSS, CPU time), which benchmarks/stage_resources.py tabulates."""
        return self.log().removesuffix(".log") + ".tsv"


def is_folder(path: str) -> bool:
    """Whether a dvc.yaml output is a folder: by this project's convention, a path without a
    file suffix (codes/<ds>/<method>, metrics/eval/<ds>/<method>)."""
    return Path(path).suffix == ""


def check_params(path: Path) -> Params:
    """Validate the whole params file as the DAG is built, and link each dataset's data
    beside it (`nrdh.sources.link_sources`, as DVC's check_params stage does); a user mistake
    prints the one `error:` line the stages print and stops Snakemake before any job.
    Returns the params."""
    import sys

    from nrdh.params import load_params
    from nrdh.sources import link_sources

    try:
        params = load_params(path)
        link_sources(params, path.parent)
    except NRDHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    return params


def load_rules(root: str | Path = ".") -> list[Rule]:
    """Every stage group of root/dvc.yaml as a Snakemake rule, resolved by DVC itself."""
    root = Path(root).resolve()
    groups, stages = resolve(root)
    # one import closure per stage script, not per job: a comparison has hundreds of jobs
    sources = functools.cache(lambda script: script_sources(root / script, root))
    rules: dict[str, Rule] = {}
    for group in groups:
        if group.name in (VALIDATOR, CODER) or not group.items:  # empty matrix: no jobs
            continue
        rule = rules[group.name] = Rule(
            group.name, group.patterns, list(next(iter(group.items.values())))
        )
        for key, item in group.items.items():
            stage = stages[f"{group.name}@{key}" if key else group.name]
            job = Job(
                name=stage.name,
                wildcards={k: str(v) for k, v in item.items()},
                cmd=stage.cmd,
                deps=_job_deps(stage, sources),
                outputs=stage.outs,
                params=stage.params,
            )
            _check_patterns(rule, job)
            rule.jobs[rule.key(job.wildcards)] = job
    for rule in rules.values():
        rule.see_outputs(all_targets([r for r in rules.values() if r is not rule]))
    _show_in_report(list(rules.values()), root / REPORT_TABLE)
    return list(rules.values())


def _show_in_report(rules: list[Rule], table_path: Path) -> None:
    """Mark the outputs of the report table (REPORT_TABLE) on their rules, captions as
    absolute paths; an entry no rule writes is an error, so the table follows dvc.yaml."""
    import yaml

    table = yaml.safe_load(table_path.read_text()) if table_path.is_file() else {}
    patterns = {o: r for r in rules for o in r.outputs}
    for pattern, item in table.items():
        if pattern not in patterns:
            raise NRDHError(
                f"{table_path}: {pattern} is no output pattern of dvc.yaml's stages "
                f"(expected one of {sorted(p for p in patterns if not is_folder(p))})"
            )
        caption = str(table_path.parent / item["caption"])
        patterns[pattern].shown[pattern] = {"category": item["category"], "caption": caption}


def _job_deps(stage: Stage, sources: Callable[[str], list[str]]) -> list[str]:
    """A job's file deps as Snakemake sees them: the code digest file DVC tracks replaced by
    the modules it digests (`sources` of the stage script), a dataset's data links by its
    snapshot file (`nrdh.sources`), the params stamp left out."""
    deps: list[str] = []
    for dep in stage.deps:
        if dep.startswith(CODE_DIR + "/"):
            deps.extend(sources(stage_script(stage.cmd)))
        elif dep.startswith(LINK_DIR + "/"):
            deps.extend(filter(None, [snapshot_path(dep)]))
        elif dep != STAMP:
            deps.append(dep)
    return deps


def _check_patterns(rule: Rule, job: Job) -> None:
    """Fail unless the rule's output patterns give exactly DVC's outputs for this job."""
    expected = sorted(p.format(**job.wildcards) for p in rule.outputs)
    if expected != sorted(job.outputs):
        raise NRDHError(
            f"dvc.yaml: stage {job.name}: outputs {sorted(job.outputs)} cannot be written as "
            f"patterns of its matrix keys {rule.wildcards} (got {expected})"
        )


def dvc_stage_names(rules: list[Rule], jobs: Any) -> list[str]:
    """DVC's stage names of Snakemake jobs (its own rules, such as `all`, left out)."""
    by_name = {r.name: r for r in rules}
    return [by_name[j.rule.name].job(j.wildcards).name for j in jobs if j.rule.name in by_name]


def all_targets(rules: list[Rule]) -> list[str]:
    """Every concrete output of every rule: the default target."""
    return sorted(o for r in rules for j in r.jobs.values() for o in j.outputs)
