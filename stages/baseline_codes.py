"""Stage baseline_codes: Classic hashing baseline codes (LSH, PCAH, ITQ, SH) -> codes.h5."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import evaluation
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run baseline_codes with the paths dvc.yaml passes."""
    evaluation.baseline_codes_stage(params, args.method, args.bits, args.features, args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--method", type=str, required=True)
    parser.add_argument("--bits", type=int, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
