"""A study's runs as tidy tables: what docs/ keeps of a run instead of its thousand files.

A study (docs/comparison_28x28/) is a folder with the params file of its run and three CSV
tables, written from the run's metrics and plots files by `write_tables`:

- runs.csv: one row per (dataset, method, seed, bits), every value of the run's evaluate
  file and, for an NRDH variant, of its diagnose file (columns ``diag/...``);
- curves.csv: one row per point of a run's PR curve (``curve`` = pr) or of its networks'
  loss histories (gcn_loss, hasher_loss), in the files' order;
- features.csv: one row per dataset, the feature_stats measures.

Nested keys are joined with ``/`` (``precision_at_recall/0.1``); each cell holds the value's
JSON text (a list such as the per-bit agreement as ``[...]``, a string as itself), an empty
cell a missing key, so `read_tables` gives back the same values. The provenance of the
diagnose files (input paths and MD5s) is left out: it describes the machine's files, not the
run's results. The report's readers (`nrdh.tables`) take path templates, so `read_tables`
lays the tables out as those files in a scratch folder and returns their templates.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nrdh import io, paths
from nrdh.errors import NRDHError
from nrdh.stages.summarize import Sources

KEYS = ("dataset", "method", "seed", "bits")
SEP = "/"
DIAG = "diag" + SEP
RUNS, CURVES, FEATURES, PARAMS = "runs.csv", "curves.csv", "features.csv", "params.yaml"
# The scratch layout of `read_tables`: one folder per kind of file (a private layout, so
# its names are not the pipeline's, which workflow/paths.yaml declares).
RUN = "{dataset}/{method}/seed{seed}/{bits}.json"
KINDS = ("eval", "diag", "pr", "gcn_loss", "hasher_loss")
LAYOUT = {**{kind: f"{kind}/{RUN}" for kind in KINDS}, "features": "features/{dataset}.json"}


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested dict as one level, its keys joined with SEP; lists stay values."""
    flat: dict[str, Any] = {}
    for key, v in value.items():
        if isinstance(v, dict):
            flat.update(flatten(v, f"{prefix}{key}{SEP}"))
        else:
            flat[prefix + key] = v
    return flat


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """The nested dict of `flatten`'s output."""
    nested: dict[str, Any] = {}
    for key, v in flat.items():
        *parents, leaf = key.split(SEP)
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return nested


def _cell(value: Any) -> str:
    """A value as its CSV cell: a string as itself, anything else as JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def _value(cell: str) -> Any:
    """The value of a `_cell`: JSON text decoded, any other text a string."""
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def _write_csv(path: Path, rows: list[dict[str, Any]], first: Iterable[str]) -> None:
    """`rows` as a CSV with the `first` columns, then every other key sorted."""
    first = list(first)
    rest = sorted({k for row in rows for k in row} - set(first))
    with io.atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, [*first, *rest], restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a `_write_csv` table, each without its empty (missing) cells."""
    if not path.is_file():
        raise NRDHError(f"{path}: file not found (expected a study table; see nrdh.study)")
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            yield {k: _value(v) for k, v in row.items() if v != ""}


def write_tables(sources: Sources, study: Path) -> None:
    """The runs `sources` find (their templates and scope) as study's tidy tables."""
    templates = {"eval": sources.eval, "diag": sources.diag, "pr": sources.pr}
    templates |= {f"{net}_loss": t for net, t in sources.losses.items()}
    found = {name: paths.find(t, sources.scope) if t else [] for name, t in templates.items()}
    runs: dict[tuple, dict[str, Any]] = {}
    for name in ("eval", "diag"):
        for path, key in found[name]:
            values = flatten(json.loads(path.read_text()))
            if name == "diag":
                values = {
                    DIAG + k: v
                    for k, v in values.items()
                    if k.split(SEP)[0] not in (*KEYS, "provenance")
                }
            runs.setdefault(tuple(key[k] for k in KEYS), dict(key)).update(values)
    if not runs:
        raise NRDHError(f"{sources.eval}: no metrics files found (run the evaluate stage)")
    curves = [
        {**key, "curve": name, **flatten(point)}
        for name in ("pr", *(n for n in templates if n.endswith("_loss")))
        for path, key in found[name]
        for point in json.loads(path.read_text())
    ]
    features = [
        {"dataset": key["dataset"], **flatten(json.loads(path.read_text()))}
        for path, key in (paths.find(sources.features, sources.scope) if sources.features else [])
    ]
    study.mkdir(parents=True, exist_ok=True)
    _write_csv(study / RUNS, [runs[k] for k in sorted(runs)], KEYS)
    _write_csv(study / CURVES, curves, (*KEYS, "curve"))
    _write_csv(study / FEATURES, features, ("dataset",))


def read_tables(study: Path, scratch: Path) -> Sources:
    """Lay study's tables out in `scratch` as the files they were written from (one folder
    per kind, LAYOUT), and return the templates that find them."""

    def write(kind: str, key: dict[str, Any], value: Any) -> None:
        path = scratch / LAYOUT[kind].format(**key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")

    for row in _read_csv(study / RUNS):
        key = {k: row[k] for k in KEYS}
        diag = {k[len(DIAG) :]: v for k, v in row.items() if k.startswith(DIAG)}
        write("eval", key, unflatten({k: v for k, v in row.items() if not k.startswith(DIAG)}))
        if diag:
            write("diag", key, {**key, **unflatten(diag)})
    curves: dict[tuple, list[dict[str, Any]]] = {}
    for row in _read_csv(study / CURVES):
        point = {k: v for k, v in row.items() if k not in (*KEYS, "curve")}
        curves.setdefault((row["curve"], *(row[k] for k in KEYS)), []).append(unflatten(point))
    for (kind, *key), points in curves.items():
        write(kind, dict(zip(KEYS, key, strict=True)), points)
    for row in _read_csv(study / FEATURES):
        write("features", row, unflatten({k: v for k, v in row.items() if k != "dataset"}))
    return Sources(
        eval=str(scratch / LAYOUT["eval"]),
        pr=str(scratch / LAYOUT["pr"]),
        losses={net: str(scratch / LAYOUT[f"{net}_loss"]) for net in ("gcn", "hasher")},
        diag=str(scratch / LAYOUT["diag"]),
        features=str(scratch / LAYOUT["features"]),
    )
