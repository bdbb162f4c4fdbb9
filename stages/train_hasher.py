"""Stage train_hasher: Hash network fitted to node representations (Eq. 18) -> hasher_<bits>.pt."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import hashing
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run train_hasher with the paths dvc.yaml passes."""
    hashing.train_hasher_stage(params, args.dataset, args.reps, args.out, args.history)


if __name__ == "__main__":
    parser = stage_parser(__doc__, variant=True)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--reps", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--history", type=Path, required=True)
    run_stage(main, parser)
