"""Stage extract_features_shard: features, labels, ids and split of one shard of rows."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import representation
from nrdh.runner import run_stage, stage_parser
from nrdh.shards import shard_count


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run extract_features_shard with the paths dvc.yaml passes."""
    representation.extract_shard_stage(
        params, args.dataset, args.out, args.shard, shard_count(params)
    )


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--shard", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
