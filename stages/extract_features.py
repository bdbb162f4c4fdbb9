"""Stage extract_features: the feature shards merged -> features.h5 (torch-free)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.runner import run_stage, stage_parser
from nrdh.shards import merge_features, shard_count


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run extract_features with the paths dvc.yaml passes."""
    merge_features(args.shards, shard_count(params), args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--shards", type=Path, required=True, help="folder of <i>.h5 shards")
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
