"""Stage summarize: Summary table over datasets, methods and code lengths, and figures."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import summary
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run summarize with the paths dvc.yaml passes."""
    summary.summarize_stage(args.eval_dir, args.pr_dir, args.loss_dir, args.summary, args.reports)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--eval-dir", type=Path, required=True)
    parser.add_argument("--pr-dir", type=Path, required=True)
    parser.add_argument("--loss-dir", type=Path, required=True)
    parser.add_argument("--summary", type=Path, required=True)
    parser.add_argument("--reports", type=Path, required=True)
    run_stage(main, parser)
