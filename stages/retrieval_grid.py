"""Stage retrieval_grid: random queries and their top results as a picture (Fig. 9 style)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import summary
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run retrieval_grid with the paths dvc.yaml passes."""
    summary.retrieval_grid_stage(params, args.dataset, args.codes, args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--codes", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
