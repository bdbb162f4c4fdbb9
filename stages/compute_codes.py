"""Stage compute_codes: the code shards merged -> codes.h5 (torch-free)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline.common import merge_codes
from nrdh.runner import run_stage, stage_parser
from nrdh.shards import shard_count


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run compute_codes with the paths dvc.yaml passes."""
    merge_codes(args.shards, shard_count(params), args.features, args.out)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--shards", type=Path, required=True, help="folder of <i>.h5 shards")
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
