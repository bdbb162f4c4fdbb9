"""`nrdh exp run`: `dvc exp run` behind a check of the overridden params.

Why: `dvc exp run -S key=value` writes the value into params.yaml (re-dumped, so inline lists
become blocks and comments move) and checks out the workspace for the new stage graph before
any stage runs. With a bad value (a dataset that does not exist, `bits: [0]`) that stage graph
names other outputs, so DVC deletes every output it had placed from its cache, and only then
does `check_params` refuse the value; params.yaml keeps it. This front door applies the
overrides with DVC's own code to a copy of params.yaml, validates the copy with the params
model, and calls `dvc exp run` only when every override (each point of a `--queue` sweep) is
valid: a refused override touches no file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nrdh.config import did_you_mean, load_yaml
from nrdh.errors import NRDHError
from nrdh.params import load_params

PARAMS_FILE = "params.yaml"  # DVC's default params file, the one `-S key=value` edits


def set_params(dvc_args: Sequence[str]) -> list[str]:
    """The `-S` / `--set-param` values among `dvc exp run` arguments, in order."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-S", "--set-param", action="append", default=[])
    known, _ = parser.parse_known_args(list(dvc_args))
    return known.set_param


def sweep_points(overrides: Sequence[str]) -> list[list[str]]:
    """The params.yaml overrides of each experiment: one list, or one per point of a sweep.

    Overrides of another file (`file.yaml:key=value`) are left to DVC: the params model
    validates params.yaml only.
    """
    from dvc.exceptions import DvcException
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import get_hydra_sweeps
    from hydra.errors import HydraException

    ours = to_path_overrides(overrides).get(PARAMS_FILE, [])
    if not ours:
        return []
    try:
        points = get_hydra_sweeps({PARAMS_FILE: ours})
    except (DvcException, HydraException) as exc:
        raise NRDHError(_not_an_override(" ".join(f"-S {o}" for o in ours), exc)) from None
    return [point[PARAMS_FILE] for point in points]


def _not_an_override(shown: str, exc: Exception) -> str:
    """The message for an override DVC's grammar (Hydra's) cannot apply: its first reason."""
    reason = str(exc.__cause__ or exc).strip().splitlines()[0]
    return (
        f"{shown}: not a valid override ({reason}), expected key=value with a key of "
        f"{PARAMS_FILE} (+key=value adds one)"
    )


def _dotted_keys(data: Any, prefix: str = "") -> Iterator[str]:
    """Every key of a nested mapping in `-S` spelling: section.key.subkey."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield f"{prefix}{k}"
            yield from _dotted_keys(v, f"{prefix}{k}.")


def _closest_keys(params_file: Path, overrides: Sequence[str]) -> str:
    """A did-you-mean for the override keys that params_file lacks (`config.did_you_mean`)."""
    keys = set(_dotted_keys(load_yaml(params_file)))
    typed = (o.split("=", 1)[0].lstrip("+~") for o in overrides)
    return did_you_mean([k for k in typed if k not in keys], keys)


def check_overrides(params_file: Path, overrides: Sequence[str]) -> None:
    """Validate params_file with `overrides` applied as DVC applies them; the file is untouched.

    Raises an NRDHError naming the override and the key at fault.
    """
    from dvc.exceptions import DvcException
    from dvc.utils.hydra import apply_overrides

    with tempfile.TemporaryDirectory(prefix="nrdh-exp-") as tmp:
        copy = Path(tmp) / params_file.name
        shutil.copyfile(params_file, copy)
        shown = " ".join(f"-S {o}" for o in overrides)
        try:
            apply_overrides(copy, list(overrides))
            load_params(copy)
        except DvcException as exc:
            hint = _closest_keys(params_file, overrides)
            raise NRDHError(_not_an_override(shown, exc) + hint) from None
        except NRDHError as exc:
            reason = str(exc).replace(str(copy), params_file.name)
            raise NRDHError(
                f"{reason} (from {shown}); nothing run, {params_file.name} unchanged"
            ) from None


def exp_run(dvc_args: Sequence[str], root: Path = Path(".")) -> int:
    """Check every params.yaml override of `dvc exp run dvc_args`, then run it; its exit code."""
    points = sweep_points(set_params(dvc_args))
    if points and not (root / PARAMS_FILE).is_file():
        raise NRDHError(f"{root / PARAMS_FILE}: params file not found, expected the project root")
    for point in points:
        check_overrides(root / PARAMS_FILE, point)
    cmd = [sys.executable, "-m", "dvc", "exp", "run", *dvc_args]
    return subprocess.run(cmd, cwd=root, check=False).returncode
