"""The `nrdh` command: query a trained hash network, compare methods, inspect artifacts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nrdh.errors import NRDHError
from nrdh.numerics import pin_cpu_numerics
from nrdh.runner import INTERRUPTED, interrupted_message

if TYPE_CHECKING:
    from nrdh.stages.summarize import Sources


def _query(args: argparse.Namespace) -> None:
    """Hash new images and print their top-k database neighbours (optionally a grid picture)."""
    from nrdh.query import run_query

    results = run_query(args.model, args.codes, args.images, args.k, args.grid)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
        return
    for r in results:
        print(f"{r.query}:")
        for rank, (i, d, lab) in enumerate(zip(r.ids, r.distances, r.labels, strict=True), 1):
            print(f"  {rank:3d}  d={d:3d}  {i}  [{', '.join(lab)}]")
    if args.grid:
        print(f"grid written to {args.grid}")


def _compare(args: argparse.Namespace) -> None:
    """Compare methods over seeds: tables (mean ± std, n, noise mark), figures, report.html.

    The runs come from a study's tables (--study, nrdh.study) or from the run files the path
    templates find (default: the summarize stage's); --tables saves the latter as a study.
    """
    import shutil
    import tempfile

    from nrdh import study
    from nrdh.config import load_yaml
    from nrdh.stages.summarize import write_report

    with tempfile.TemporaryDirectory() as scratch:  # a study's tables laid out as run files
        if args.study is not None:
            out = args.out or Path("reports") / "studies" / args.study.resolve().name
            summary, params = args.summary or out / "summary.json", args.study / study.PARAMS
            sources = study.read_tables(args.study, Path(scratch))
        else:
            out, summary = args.out or Path("reports"), args.summary or Path("metrics/summary.json")
            params, sources = args.params, _template_sources(args)
            if args.tables is not None:
                study.write_tables(sources, args.tables)
                if params.resolve() != (args.tables / study.PARAMS).resolve():
                    shutil.copyfile(params, args.tables / study.PARAMS)
        write_report(sources, summary, out, args.reference, load_yaml(params))
    print((out / "summary.md").read_text())
    print(f"report written to {out / 'report.html'}")


def _template_sources(args: argparse.Namespace) -> Sources:
    """The run files of `nrdh compare`'s path templates, the summarize stage's by default,
    within the runs of its params file."""
    from nrdh.engines.dvc import stage_flags
    from nrdh.params import load_params
    from nrdh.stages.summarize import Sources, scope_of

    names = ("eval", "pr", "gcn_loss", "hasher_loss", "diag", "features")
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    flags = {**(stage_flags(".", "summarize") if len(given) < len(names) else {}), **given}
    return Sources(
        eval=flags["eval"],
        pr=flags["pr"],
        losses={"gcn": flags["gcn_loss"], "hasher": flags["hasher_loss"]},
        diag=flags["diag"],
        features=flags["features"],
        scope=scope_of(load_params(args.params)),
    )


def _inspect(args: argparse.Namespace) -> None:
    """Print an HDF5 artifact's attrs and datasets (shape, dtype)."""
    import h5py

    from nrdh.io import open_h5

    with open_h5(args.path, None) as f:
        try:
            for key, value in f.attrs.items():
                print(f"@{key} = {value}")
            f.visititems(
                lambda name, obj: (
                    print(f"{name}  {obj.dtype} {obj.shape}")
                    if isinstance(obj, h5py.Dataset)
                    else None
                )
            )
        except (OSError, RuntimeError, KeyError) as exc:  # a truncated file opens, then fails
            raise NRDHError(f"{args.path}: not a readable HDF5 file ({exc})") from None


def _export_list(args: argparse.Namespace) -> None:
    """Write a dataset of params.yaml as image files with list files (source: list)."""
    from nrdh.data import load_dataset
    from nrdh.export import export_list_dataset
    from nrdh.params import load_params

    params = load_params(args.params)
    images = load_dataset(params.dataset(args.dataset), params.base.seed)
    export_list_dataset(images, args.out, args.format)
    print(f"{len(images)} images and list files written to {args.out}")


def _make_scale_data(args: argparse.Namespace) -> None:
    """Write the scale scenario's CIFAR-10-shaped collection as PNGs and list files."""
    from nrdh.export import export_list_dataset, scale_collection

    images = scale_collection(args.n, args.n_query, args.n_train, args.seed)
    export_list_dataset(images, args.out)
    sizes = ", ".join(f"{len(images.split[k])} {k}" for k in ("query", "train", "database"))
    print(f"{len(images)} images ({sizes}) and list files written to {args.out}")


def _preset(args: argparse.Namespace) -> None:
    """Merge a preset (presets/*.yaml: only the keys it changes) into params.yaml."""
    from nrdh.presets import apply_preset

    apply_preset(args.preset, args.params)
    print(f"{args.params}: {args.preset} merged in (git diff {args.params} shows what changed)")


def _dvc_deps(args: argparse.Namespace) -> None:
    """Set each dvc.yaml stage's source deps to its script's import closure (or --check)."""
    from nrdh.engines.code import sync_deps

    changed = sync_deps(args.root, write=not args.check)
    for name, (old, new) in changed.items():
        gone, added = sorted(set(old) - set(new)), sorted(set(new) - set(old))
        print(f"{name}: +{added} -{gone}" if gone or added else f"{name}: reordered")
    if changed and args.check:
        raise NRDHError(f"{args.root / 'dvc.yaml'}: source deps differ from the import closures")
    print("dvc.yaml source deps " + ("checked" if args.check else "up to date"))


def _lock_check(args: argparse.Namespace) -> None:
    """Check that dvc.lock matches the code, params and data (CI runs it): exit 2 if not."""
    from nrdh.engines.lock import prune, stale_entries

    if args.prune:
        for name in prune(args.root):
            print(f"{name}: removed from dvc.lock (no such stage in dvc.yaml)")
    stale = stale_entries(args.root)
    for name, problems in stale.items():
        print(f"{name}: {'; '.join(problems)}")
    if stale:
        raise NRDHError(
            f"{args.root / 'dvc.lock'}: {len(stale)} stage(s) do not match the code, params or "
            "data; expected a lock refreshed by `dvc repro` (and `nrdh lock-check --prune` for "
            "stages dvc.yaml lacks), then commit dvc.lock"
        )
    print(f"{args.root / 'dvc.lock'}: matches the code, params and data")


def _dvc_commit(args: argparse.Namespace) -> None:
    """Record a Snakemake build in dvc.lock (what its onsuccess hook does), stages built only."""
    from nrdh.engines.lock import built_stages, record_build

    record_build(args.root, built_stages(args.root))
    print(f"{args.root / 'dvc.lock'}: the built stages recorded")


def _exp(args: argparse.Namespace) -> None:
    """Run `dvc exp run` with these arguments after checking every -S override's params."""
    from nrdh.experiment import exp_run

    code = exp_run(args.dvc_args)
    if code:
        sys.exit(code)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `nrdh` command and its subcommands."""
    parser = argparse.ArgumentParser(prog="nrdh", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    q = sub.add_parser("query", help=_query.__doc__)
    q.add_argument("images", nargs="+", type=Path, help="image files to hash")
    q.add_argument("--model", type=Path, required=True, help="a trained hasher_<bits>.pt")
    q.add_argument(
        "--codes", type=Path, required=True, help="codes/<ds>/<method>/seed<seed>/<bits>.h5"
    )
    q.add_argument("-k", type=int, default=10, help="neighbours per query (default 10)")
    q.add_argument("--grid", type=Path, help="write a picture of queries and neighbours here")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(func=_query)

    c = sub.add_parser("compare", help=_compare.__doc__)
    for name in ("eval", "pr", "gcn-loss", "hasher-loss", "diag", "features"):
        c.add_argument(
            f"--{name}",
            help="path template of those files, fields {dataset}, {method}, {seed}, {bits} "
            "(default: the summarize stage's in dvc.yaml)",
        )
    c.add_argument(
        "--study",
        type=Path,
        help="a study folder (runs.csv, curves.csv, features.csv, params.yaml: nrdh.study) "
        "to read the runs from instead of the templates",
    )
    c.add_argument(
        "--tables", type=Path, help="also save the runs the templates find as a study here"
    )
    c.add_argument(
        "--summary",
        type=Path,
        help="summary JSON (default: metrics/summary.json; with --study, in --out)",
    )
    c.add_argument(
        "--out",
        type=Path,
        help="folder of summary.md, figures, report.html (default: reports; with --study, "
        "reports/studies/<study folder name>, ignored by git)",
    )
    c.add_argument("--reference", default="nrdh", help="method the others are tested against")
    c.add_argument(
        "--params",
        type=Path,
        default=Path("params.yaml"),
        help="shown in the report, and its runs are the ones read (without --study)",
    )
    c.set_defaults(func=_compare)

    e = sub.add_parser("export-list", help=_export_list.__doc__)
    e.add_argument("--dataset", required=True, help="a key of the datasets section")
    e.add_argument("--out", type=Path, required=True, help="folder for images and list files")
    e.add_argument("--params", type=Path, default=Path("params.yaml"))
    e.add_argument("--format", default="png", choices=["png", "jpg"])
    e.set_defaults(func=_export_list)

    m = sub.add_parser("make-scale-data", help=_make_scale_data.__doc__)
    m.add_argument("--out", type=Path, required=True, help="folder for images and list files")
    m.add_argument("--n", type=int, default=60000, help="images (default 60000, as CIFAR-10)")
    m.add_argument("--n-query", type=int, default=1000, help="queries, a multiple of 10")
    m.add_argument("--n-train", type=int, default=5000, help="training images, a multiple of 10")
    m.add_argument("--seed", type=int, default=0)
    m.set_defaults(func=_make_scale_data)

    r = sub.add_parser("preset", help=_preset.__doc__)
    r.add_argument("preset", type=Path, help="an overlay such as presets/mnist.yaml")
    r.add_argument("--params", type=Path, default=Path("params.yaml"), help="file rewritten")
    r.set_defaults(func=_preset)

    d = sub.add_parser("dvc-deps", help=_dvc_deps.__doc__)
    d.add_argument("--root", type=Path, default=Path("."), help="folder of dvc.yaml")
    d.add_argument("--check", action="store_true", help="only report, exit 2 on a difference")
    d.set_defaults(func=_dvc_deps)

    k = sub.add_parser("lock-check", help=_lock_check.__doc__)
    k.add_argument("--root", type=Path, default=Path("."), help="folder of dvc.yaml")
    k.add_argument(
        "--prune", action="store_true", help="first remove entries of stages dvc.yaml lacks"
    )
    k.set_defaults(func=_lock_check)

    b = sub.add_parser("dvc-commit", help=_dvc_commit.__doc__)
    b.add_argument("--root", type=Path, default=Path("."), help="folder of dvc.yaml")
    b.set_defaults(func=_dvc_commit)

    x = sub.add_parser("exp", help=_exp.__doc__)
    x.add_argument("action", choices=["run"], help="the dvc exp subcommand (run)")
    x.add_argument("dvc_args", nargs=argparse.REMAINDER, help="arguments of `dvc exp run`")
    x.set_defaults(func=_exp)

    i = sub.add_parser("inspect", help=_inspect.__doc__)
    i.add_argument("path", type=Path)
    i.set_defaults(func=_inspect)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one line and exit 2, Ctrl-C one line and exit 130.

    The CPU kernels are pinned first, as in a stage, so `nrdh query` hashes as compute_codes
    does: each command imports numpy and torch inside its function, after the pins.
    """
    pin_cpu_numerics()
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except NRDHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(interrupted_message(f"nrdh {args.command}"), file=sys.stderr)
        sys.exit(INTERRUPTED)
