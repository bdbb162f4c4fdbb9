"""Stage compute_codes: NRDH codes of queries and database (Eq. 19) -> codes.h5."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import hashing
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run compute_codes with the paths dvc.yaml passes."""
    hashing.compute_codes_stage(
        params, args.variant, args.dataset, args.features, args.model, args.out
    )


if __name__ == "__main__":
    parser = stage_parser(__doc__, variant=True)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
