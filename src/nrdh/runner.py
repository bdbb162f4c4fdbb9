"""Entry-point plumbing of stages/: named flags in, one `error:` line out on a user mistake.

A stage script imports only this module at its top and its stage module (`nrdh.stages`)
inside its `main`, so `run` pins the CPU kernels (nrdh.numerics) before numpy or torch load
their BLAS; `parse_args` turns the stage's `Args` into flags and loads its params.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, get_type_hints

from nrdh.errors import NRDHError
from nrdh.numerics import pin_cpu_numerics

if TYPE_CHECKING:
    from nrdh.params import Params

A = TypeVar("A")


def parse_args(doc: str | None, flags: type[A]) -> tuple[Params, A]:
    """The stage's params and flags: --params, and one required --flag per field of the
    stage's `flags` dataclass (its `Args`), typed by the field's annotation (Path, int, str).

    A field `variant` makes the params load with that variant's overrides (NRDH stages); a
    field `params` receives the params file's path. The stage's `run` then reads each value by
    name, so a flag can never land in another argument's place.
    """
    from nrdh.params import load_params

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    types = get_type_hints(flags)
    names = [f.name for f in dataclasses.fields(flags)]  # type: ignore[arg-type]
    for name in names:
        if name != "params":
            flag = "--" + name.replace("_", "-")
            parser.add_argument(flag, dest=name, type=types[name], required=True)
    ns = parser.parse_args()
    params = load_params(ns.params, getattr(ns, "variant", None))
    return params, flags(**{name: getattr(ns, name) for name in names})


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
