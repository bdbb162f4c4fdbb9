"""Stage build_graphs: M-node graphs with re-weighted adjacency (Eqs. 2-4) -> graphs.h5."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import representation
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run build_graphs with the paths dvc.yaml passes."""
    representation.build_graphs_stage(params, args.features, args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__, variant=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
