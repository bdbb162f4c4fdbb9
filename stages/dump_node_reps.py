"""Stage dump_node_reps: Node representations g(x) of the training images -> node_reps_<bits>.h5."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import representation
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run dump_node_reps with the paths dvc.yaml passes."""
    representation.dump_node_reps_stage(params, args.features, args.graphs, args.model, args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__, variant=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--graphs", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
