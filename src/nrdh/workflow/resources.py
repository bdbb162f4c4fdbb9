"""Each Snakemake rule's resources from workflow/resources.yaml, and whether it asks for a GPU:
only where a job's own params say it computes on one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nrdh.workflow.rules import Job, Rule


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
