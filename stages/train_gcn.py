"""Stage train_gcn: GCN autoencoder (Table 1, Eq. 8) -> gcn_<bits>.pt and its loss history."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import representation
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run train_gcn with the paths dvc.yaml passes."""
    representation.train_gcn_stage(
        params, args.features, args.graphs, args.bits, args.out, args.history
    )


if __name__ == "__main__":
    parser = stage_parser(__doc__, variant=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--graphs", type=Path, required=True)
    parser.add_argument("--bits", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--history", type=Path, required=True)
    run_stage(main, parser)
