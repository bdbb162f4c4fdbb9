"""Stage evaluate: Retrieval metrics with their protocol -> eval_<bits>.json, pr_<bits>.json."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import evaluation
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run evaluate with the paths dvc.yaml passes."""
    evaluation.evaluate_stage(params, args.dataset, args.bits, args.codes, args.metrics, args.pr)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--bits", type=int, required=True)
    parser.add_argument("--codes", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--pr", type=Path, required=True)
    run_stage(main, parser)
