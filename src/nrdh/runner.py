"""Entry-point plumbing shared by stages/ and the CLI: user errors become one line and exit 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nrdh.config import apply_variant, load_params
from nrdh.errors import NRDHError


def stage_parser(description: str, variant: bool = False) -> argparse.ArgumentParser:
    """An argument parser with the common --params option (and --variant for NRDH stages)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    if variant:
        parser.add_argument("--variant", required=True, help="a key of the variants section")
    return parser


def run_stage(
    main: Callable[[argparse.Namespace, dict[str, Any]], None], parser: argparse.ArgumentParser
) -> None:
    """Parse arguments, load params (with --variant's overrides), run `main`.

    An NRDHError prints 'error: ...' and exits 2: a user mistake never shows a traceback.
    """
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # throughput and progress notes
    try:
        params = load_params(args.params)
        if getattr(args, "variant", None):
            params = apply_variant(params, args.variant)
        main(args, params)
    except NRDHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def stage_main(
    doc: str, fn: Callable[..., None], variant: str = "", with_params: bool = True, **flags: type
) -> None:
    """The whole body of a stage script: one required ``--flag`` per keyword (in order),
    then ``fn(params, *values)``.

    variant="apply" adds ``--variant`` and merges its overrides into the params; "pass"
    also hands its name to `fn` first (the method name of the codes it writes).
    with_params=False calls ``fn(*values)`` for stages that read no params.
    """
    parser = stage_parser(doc, variant=bool(variant))
    for name, kind in flags.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, required=True)

    def main(args: argparse.Namespace, params: dict[str, Any]) -> None:
        head = ([params] if with_params else []) + ([args.variant] if variant == "pass" else [])
        fn(*head, *(getattr(args, name) for name in flags))

    run_stage(main, parser)
