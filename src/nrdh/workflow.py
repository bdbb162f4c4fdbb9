"""Snakemake rules derived from dvc.yaml, so the two engines cannot disagree.

dvc.yaml is the one declaration of the stage graph. Each of its stages becomes one
Snakemake rule: a matrix key becomes a wildcard (constrained to the matrix's values),
``${item.key}`` becomes ``{key}`` in paths and ``{wildcards.key}`` in the command, other
``${a.b}`` references are looked up in params.yaml, and a dependency on a folder stands
for every output other stages write inside it. Folders are resolved per job (an input
function), so a templated one such as ``data/${item.dataset}/features_shards`` makes each
merge job wait for its own shards only.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nrdh.errors import NRDHError

_REF = re.compile(r"\$\{\s*([^}]+?)\s*\}")


@dataclass
class Rule:
    """One DVC stage as a Snakemake rule (paths hold {wildcard} patterns)."""

    name: str
    cmd: str
    inputs: list[str]
    outputs: list[str]
    matrix: dict[str, list[Any]] = field(default_factory=dict)
    produced: list[str] = field(default_factory=list)  # concrete outputs of the other rules

    def job_inputs(self, wildcards: Mapping[str, str]) -> list[str]:
        """Concrete inputs of one job (a Snakemake input function): the input patterns with
        the job's wildcards, each folder replaced by the other rules' outputs inside it."""
        job = {k: wildcards[k] for k in self.matrix}
        resolved: list[str] = []
        for dep in self.inputs:
            path = dep.format(**job)
            inside = sorted(p for p in self.produced if p.startswith(path.rstrip("/") + "/"))
            resolved.extend(inside or [path])
        return resolved

    def jobs(self) -> list[dict[str, str]]:
        """Every wildcard assignment of the matrix (one DVC stage each)."""
        keys = list(self.matrix)
        return [
            dict(zip(keys, map(str, values), strict=True))
            for values in itertools.product(*(self.matrix[k] for k in keys))
        ]

    def constraints(self) -> dict[str, str]:
        """Wildcard regexes: exactly the matrix's values."""
        return {k: "|".join(re.escape(str(v)) for v in vals) for k, vals in self.matrix.items()}


def lookup(params: dict[str, Any], dotted: str) -> Any:
    """params['a']['b'] for 'a.b', with an error naming the missing key."""
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise NRDHError(f"dvc.yaml references ${{{dotted}}}, which params.yaml does not define")
        value = value[part]
    return value


def _sub(text: str, params: dict[str, Any], item_fmt: str) -> str:
    """Replace ${item.k} by item_fmt.format(k) and ${a.b} by its params value."""

    def repl(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("item."):
            return item_fmt.format(ref[5:])
        return str(lookup(params, ref))

    return _REF.sub(repl, text)


def _paths(entries: list[Any]) -> list[str]:
    """Paths of a deps/outs/metrics/plots list whose entries are strings or {path: opts}."""
    return [e if isinstance(e, str) else next(iter(e)) for e in entries or []]


def expand(pattern: str, rule: Rule) -> list[str]:
    """Concrete paths of a pattern over the rule's matrix."""
    return sorted({pattern.format(**job) for job in rule.jobs()})


def load_rules(
    dvc_yaml: str | Path = "dvc.yaml", params_yaml: str | Path = "params.yaml"
) -> list[Rule]:
    """Read dvc.yaml (and params.yaml for matrix values) into Snakemake rule specs."""
    spec = yaml.safe_load(Path(dvc_yaml).read_text())
    params = yaml.safe_load(Path(params_yaml).read_text())
    rules: list[Rule] = []
    for name, stage in spec["stages"].items():
        matrix = {
            k: lookup(params, _REF.fullmatch(v).group(1)) if isinstance(v, str) else list(v)
            for k, v in (stage.get("matrix") or {}).items()
        }
        outs = [
            _sub(p, params, "{{{}}}")
            for key in ("outs", "metrics", "plots")
            for p in _paths(stage.get(key))
        ]
        rules.append(
            Rule(
                name=name,
                cmd=_sub(" ".join(stage["cmd"].split()), params, "{{{}}}"),
                inputs=[_sub(p, params, "{{{}}}") for p in _paths(stage.get("deps"))],
                outputs=outs,
                matrix=matrix,
            )
        )
    for rule in rules:
        rule.produced = all_targets([r for r in rules if r is not rule])
    return rules


def all_targets(rules: list[Rule]) -> list[str]:
    """Every concrete output of every rule: the default target."""
    return sorted(p for r in rules for o in r.outputs for p in expand(o, r))


def load_resources(path: str | Path, rule: str) -> dict[str, Any]:
    """Resources (mem_mb, runtime, gpu, threads) of a rule from workflow/resources.yaml."""
    table = yaml.safe_load(Path(path).read_text()) or {}
    merged = {**table.get("default", {}), **table.get(rule, {})}
    return merged


def log_pattern(rule: Rule) -> str:
    """Per-job log file: logs/<rule>/<wildcard values>.log."""
    stem = "_".join("{" + k + "}" for k in rule.matrix) or "run"
    return f"logs/{rule.name}/{stem}.log"
