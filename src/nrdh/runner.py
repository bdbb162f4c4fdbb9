"""Entry-point plumbing shared by stages/ and the CLI: user errors become one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nrdh.config import load_params
from nrdh.errors import NRDHError


def stage_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the common --params option."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    return parser


def run_stage(
    main: Callable[[argparse.Namespace, dict[str, Any]], None], parser: argparse.ArgumentParser
) -> None:
    """Parse arguments, load params, run `main`; an NRDHError prints 'error: ...' and exits 2."""
    args = parser.parse_args()
    try:
        main(args, load_params(args.params))
    except NRDHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
