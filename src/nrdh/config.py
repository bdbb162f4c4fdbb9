"""Typed loading helpers for the params model (nrdh.params): YAML reading, dataclass building.

Unknown or missing keys, wrong types and out-of-range values are rejected with an NRDHError
that names the key, so a typo in params.yaml never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from nrdh.errors import NRDHError

T = TypeVar("T")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a params YAML file into a dict, with a clear error for a missing or invalid file."""
    path = Path(path)
    if not path.is_file():
        raise NRDHError(f"{path}: params file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).replace("\n", " ")
        raise NRDHError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise NRDHError(
            f"{path}: expected a mapping of sections at top level, got {type(data).__name__}"
        )
    return data


def _check_type(value: Any, annotation: Any, key: str) -> Any:
    """Check (and lightly coerce int -> float) one value against a type annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is not None and len(arms) == 1:  # Optional[X]: X's own message
            return _check_type(value, arms[0], key)
        for arm in typing.get_args(annotation):
            try:
                return _check_type(value, arm, key)
            except NRDHError:
                continue
        raise NRDHError(f"{key}: expected {annotation}, got {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed:
            raise NRDHError(f"{key}: expected one of {list(allowed)}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise NRDHError(f"{key}: expected a list, got {value!r}")
        (arm, *_) = typing.get_args(annotation) or (Any,)
        return tuple(_check_type(v, arm, f"{key}[{i}]") for i, v in enumerate(value))
    if annotation is Any:
        return value
    if annotation is type(None):
        if value is not None:
            raise NRDHError(f"{key}: expected null, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NRDHError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise NRDHError(f"{key}: expected an integer, got {value!r}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise NRDHError(f"{key}: expected true or false, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise NRDHError(f"{key}: expected a string, got {value!r}")
        return value
    if dataclasses.is_dataclass(annotation):
        return from_mapping(annotation, value, key)
    raise TypeError(f"unsupported annotation {annotation!r} for {key}")


def did_you_mean(unknown: list[str], known: list[str] | set[str]) -> str:
    """' (did you mean 'rho' for 'rhoo'?)' for the unknown keys with a close known key
    (difflib's ratio >= 0.6), or '' when none is close: a typo gets its fix in the message."""
    pairs = [
        f"{close[0]!r} for {k!r}"
        for k in unknown
        if (close := difflib.get_close_matches(str(k), sorted(map(str, known)), n=1))
    ]
    return f" (did you mean {', '.join(pairs)}?)" if pairs else ""


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build the frozen dataclass `cls` from `data`, rejecting unknown keys and bad types.

    `where` is the dotted key path used in messages (for example ``gcn``).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NRDHError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise NRDHError(
            f"{where}: unknown key(s) {unknown}{did_you_mean(unknown, names)}; "
            f"expected keys are {sorted(names)}"
        )
    required = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [k for k in required if k not in data]
    if missing:
        raise NRDHError(f"{where}: missing key(s) {missing}")
    kwargs = {k: _check_type(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise NRDHError(f"{where}: {exc}") from None


def check_range(where: str, value: float, lo: float | None = None, hi: float | None = None) -> None:
    """Raise an NRDHError naming `where` when `value` lies outside [lo, hi]."""
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"in [{lo}, {hi}]"
        raise NRDHError(f"{where}: {value!r} is out of range, expected {bounds}")


def as_dict(cfg: Any) -> dict[str, Any]:
    """A dataclass config as plain JSON types (tuples as lists), for provenance and checkpoints."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))
