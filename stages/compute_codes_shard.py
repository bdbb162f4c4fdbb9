"""Stage compute_codes_shard: NRDH codes (Eq. 19) of one shard of queries and database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nrdh.pipeline import hashing
from nrdh.runner import run_stage, stage_parser
from nrdh.shards import shard_count


def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """Run compute_codes_shard with the paths dvc.yaml passes."""
    hashing.compute_codes_shard_stage(
        params,
        args.variant,
        args.dataset,
        args.features,
        args.model,
        args.out,
        args.shard,
        shard_count(params),
    )


if __name__ == "__main__":
    parser = stage_parser(__doc__, variant=True)
    parser.add_argument("--dataset", type=str, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--shard", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    run_stage(main, parser)
