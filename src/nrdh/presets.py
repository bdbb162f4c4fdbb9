"""Presets: overlays on params.yaml that hold only the keys they change.

A preset (presets/*.yaml) is merged into params.yaml by one rule, `overlay`, shared by
`nrdh preset`, the benchmarks and the tests: a section's keys are updated one by one, each
key's value replaced whole, so a preset can add a dataset or a variant entry beside
params.yaml's, or redefine one. params.yaml stays the one source of every default.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from nrdh.config import load_yaml
from nrdh.io import atomic_path
from nrdh.params import Params, parse


def merge_into(target: dict[str, Any], changes: dict[str, Any]) -> None:
    """Merge `changes` into `target` in place by the preset rule (plain dicts, or ruamel's
    commented maps, whose comments on untouched keys survive)."""
    for key, value in changes.items():
        section = target.get(key)
        if not isinstance(value, dict) or not isinstance(section, dict):
            target[key] = value
        else:
            for name, item in value.items():
                section[name] = item
                note = getattr(value, "ca", None)  # a comment of the preset's replaces ours
                if note is not None and name in note.items:
                    section.ca.items[name] = note.items[name]


def overlay(params: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`params` with `changes` merged in (a new dict; neither input is modified)."""
    out = copy.deepcopy(params)
    merge_into(out, copy.deepcopy(changes))
    return out


def load_preset(preset: str | Path, base: str | Path = "params.yaml") -> Params:
    """The validated params of `base` with the preset `preset` merged in."""
    return parse(overlay(load_yaml(base), load_yaml(preset)), f"{base} + {preset}")


def apply_preset(preset: str | Path, base: str | Path = "params.yaml") -> None:
    """Rewrite `base` with the preset merged in, keeping the comments of the keys it leaves
    alone; a preset that makes the params invalid leaves `base` byte-identical."""
    from ruamel.yaml import YAML

    load_preset(preset, base)  # validate the result before touching the file
    ryaml = YAML()
    ryaml.width = 4096
    doc = ryaml.load(Path(base).read_text())
    merge_into(doc, ryaml.load(Path(preset).read_text()))
    text = io.StringIO()
    ryaml.dump(doc, text)
    with atomic_path(base) as tmp:
        tmp.write_text(text.getvalue())
