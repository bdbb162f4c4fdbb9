"""Stage check_params: the whole params file validated before any other stage runs, and each
dataset's data linked under data/sources (nrdh.sources) for the stages that read it.

Every stage depends on its stamp, so `dvc repro` stops at a bad key, value or cross-reference
before any work (the params load, in `nrdh.runner.parse_args`, is the check); the stamp's
bytes never change, so a valid edit reruns only what reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nrdh.params import Params
from nrdh.sources import link_sources

STAMP = "params valid (nrdh.params)\n"


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command)."""

    out: Path  # the stamp


def run(p: Params, args: Args) -> None:
    """Link the data of params `p` and write the stamp."""
    link_sources(p)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(STAMP)
