"""Each Snakemake rule's resources from workflow/resources.yaml: the threads each job computes
with, and whether it asks for a GPU: only where a job's own params say it computes on one."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nrdh.engines.rules import Job, Rule
from nrdh.params import Params


@dataclass(frozen=True)
class JobThreads:
    """A rule's threads as Snakemake calls them, a function of the job's wildcards: the value
    of the params key its stage sets torch's threads from, job by job."""

    rule: Rule
    counts: dict[str, int]  # by job key (`Rule.key`)

    def __call__(self, wildcards: Any) -> int:
        return self.counts[self.rule.key(wildcards)]


def job_threads(rule: Rule, key: str, params: Params) -> JobThreads:
    """Each job's value of params `key` (e.g. hasher.threads), with the overrides of the
    variant it runs (its variant or method wildcard, when that names a variant)."""
    counts = {}
    for job_key, job in rule.jobs.items():
        names = [job.wildcards.get(k) for k in ("variant", "method")]
        variant = next((n for n in names if n in params.variants), None)
        counts[job_key] = operator.attrgetter(key)(params.variant(variant) if variant else params)
    return JobThreads(rule, counts)


def load_resources(path: str | Path, rule: Rule, params: Params) -> dict[str, Any]:
    """Resources (mem_mb, runtime, threads, gpu) of a rule from workflow/resources.yaml;
    ``threads`` given as a params key becomes each job's value of it (`job_threads`).

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
    if isinstance(merged["threads"], str):
        merged["threads"] = job_threads(rule, merged["threads"], params)
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
