"""Entry-point plumbing of stages/: named flags in, one `error:` line out on a user mistake.

A stage script imports only this module at its top and the library inside its `main`, so
`run` pins the CPU kernels (nrdh.numerics) before numpy or torch load their BLAS.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from nrdh.errors import NRDHError
from nrdh.numerics import pin_cpu_numerics


def parse_args(
    doc: str | None,
    *,
    variant: bool = False,
    paths: Sequence[str] = (),
    ints: Sequence[str] = (),
    strs: Sequence[str] = (),
) -> argparse.Namespace:
    """The stage's flags: --params, --variant (NRDH stages) and one required --flag per name.

    The stage then passes each parsed value to its function by keyword, so a flag can never
    land in another argument's place.
    """
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    if variant:
        parser.add_argument("--variant", required=True, help="a key of the variants section")
    for names, kind in ((paths, Path), (ints, int), (strs, str)):
        for name in names:
            parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, required=True)
    return parser.parse_args()


INTERRUPTED = 130  # the shell's code for a process ended by SIGINT (128 + 2)


def interrupted_message(what: str) -> str:
    """The one line a Ctrl-C prints: what stopped, that nothing was half-written, what next."""
    return (
        f"error: {what}: interrupted (Ctrl-C) before it finished, no output written; expected "
        "an uninterrupted run: rerun it (training resumes from its last checkpoint)"
    )


def run(main: Callable[[], None]) -> None:
    """Pin the CPU kernels, then run a stage's main; an NRDHError prints 'error: ...' and
    exits 2, Ctrl-C exits 130.

    The pins come first because the libraries read them when they load, which is inside
    `main` (its imports). Never a traceback: every artifact is written atomically (nrdh.io),
    so an interrupted stage leaves its previous outputs or none, and the one line says so.
    """
    pin_cpu_numerics()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # throughput and progress
    try:
        main()
    except NRDHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(interrupted_message(Path(sys.argv[0]).as_posix()), file=sys.stderr)
        sys.exit(INTERRUPTED)
