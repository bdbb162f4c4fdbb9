"""Stage extract_features: Image features, labels, ids and split -> features.h5."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import representation
from nrdh.runner import run_stage, stage_parser


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run extract_features with the paths dvc.yaml passes."""
    representation.extract_features_stage(params, args.dataset, args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
