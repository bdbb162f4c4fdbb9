"""The answer first: which method leads each (dataset, code length), and whether by more than
seed noise; the notes a reader needs before trusting a number (a loss still falling, codes
that collapsed); and the few headline numbers DVC compares experiments by.

The leader of a cell is the method with the highest mean mAP@all over its seeds. Its lead is
tested against the runner-up with the summary's noise rule (`nrdh.aggregate`: paired t-test
over the seeds both were run with); with one shared seed there is no estimate of the noise,
and the page says so once instead of in every cell.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from nrdh import aggregate, codes

# The numbers per (dataset, method, bits) of metrics/headline.json (column of the tidy table
# -> key). Two numbers keep `dvc exp show` readable: 2 datasets x 6 methods x 3 code lengths
# x 2 = 72 columns on the default run; P@r<=2 and the rest stay in metrics/summary.json.
HEADLINE_KEYS = {"map_all": "map_all", "map_at_k": "map_at_k"}
ONE_SEED = "one seed: no estimate of seed noise"
# A loss "still falling" drops by more than this share of its value over the last tenth of
# its epochs (at least LOSS_WINDOW_MIN epochs): more training would still change the model.
LOSS_DROP = 0.02
LOSS_WINDOW_MIN = 3


def leaders(table: pd.DataFrame, metric: str = "map_all") -> pd.DataFrame:
    """Per (dataset, bits) of the tidy per-seed table (`tables.collect`): the leader and the
    runner-up by mean ``metric`` over seeds, and the paired difference between them.

    Columns: dataset, bits, leader, lead_mean, runner_up, runner_mean, methods (how many
    were ranked), pairs (seeds both ran), diff, threshold and verdict (aggregate's marks:
    "beyond noise", "within noise", or ONE_SEED when fewer than two seeds are shared).
    """
    rows = []
    for (ds, bits), runs in table.groupby(["dataset", "bits"], sort=True):
        means = runs.groupby("method")[metric].mean().sort_values(ascending=False, kind="stable")
        row: dict[str, Any] = {
            "dataset": ds,
            "bits": bits,
            "leader": means.index[0],
            "lead_mean": float(means.iloc[0]),
            "methods": len(means),
        }
        if len(means) > 1:
            lead = runs[runs["method"] == means.index[0]].set_index("seed")[metric]
            runner = runs[runs["method"] == means.index[1]].set_index("seed")[metric]
            shared = sorted(set(lead.index) & set(runner.index))
            test = aggregate.paired_difference(lead.loc[shared].values, runner.loc[shared].values)
            row.update(
                runner_up=means.index[1],
                runner_mean=float(means.iloc[1]),
                pairs=test["pairs"],
                diff=test["diff"],
                threshold=test["threshold"],
                verdict=test["mark"] if test["pairs"] >= 2 else ONE_SEED,
            )
        rows.append(row)
    cols = ["dataset", "bits", "leader", "lead_mean", "runner_up", "runner_mean", "methods"]
    return pd.DataFrame(rows).reindex(columns=[*cols, "pairs", "diff", "threshold", "verdict"])


def _ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 3 -> '3rd', 4 -> '4th', 11 -> '11th'."""
    last = 0 if n % 100 in (11, 12, 13) else n % 10
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(last, 'th') }".replace(" ", "")


def headline_sentences(
    table: pd.DataFrame, reference: str, metric: str = "map_all", label: str = "mAP@all"
) -> list[str]:
    """One sentence per (dataset, bits): who leads, by how much over whom, with the noise
    verdict when there are seeds to judge it, and where the reference method ranks."""
    means = table.groupby(["dataset", "bits", "method"])[metric].mean()
    out = []
    for r in leaders(table, metric).to_dict("records"):
        s = f"{r['dataset']}, {r['bits']} bits: {r['leader']} leads ({label} {r['lead_mean']:.3f}"
        if r["methods"] == 1:
            out.append(s + "; the only method run).")
            continue
        s += f", next {r['runner_up']} {r['runner_mean']:.3f}"
        if r["verdict"] != ONE_SEED:
            s += f"; {r['verdict']} over {r['pairs']} seeds"
        s += ")"
        cell = means.loc[(r["dataset"], r["bits"])].sort_values(ascending=False, kind="stable")
        if reference in cell.index and reference not in (r["leader"], r["runner_up"]):
            rank = list(cell.index).index(reference) + 1
            s += f"; {reference} {cell[reference]:.3f}, {_ordinal(rank)} of {len(cell)}"
        out.append(s + ".")
    return out


def seed_note(table: pd.DataFrame) -> str | None:
    """The one sentence that says a comparison has no noise estimate, or None when every
    cell has two or more seeds."""
    n = table.groupby(["dataset", "method", "bits"])["seed"].nunique()
    if n.min() >= 2:
        return None
    if n.max() < 2:
        return (
            "One training seed per method: each lead is a single run, with no estimate of "
            "seed noise (base.seeds: [0, 1, 2] adds the noise verdict)."
        )
    return "Some cells have one seed: their leads carry no noise verdict."


def code_notes(table: pd.DataFrame) -> list[str]:
    """A note per (dataset, method, bits, seed) whose database codes are degenerate
    (`nrdh.codes.degenerate_reasons`; rows of an older evaluator, without the columns
    distinct, stuck_bits, nb and chance_map, are skipped)."""
    out = []
    needed = ["distinct", "stuck_bits", "nb", "chance_map"]
    for r in table.dropna(subset=needed).to_dict("records"):
        why = codes.degenerate_reasons(
            r["bits"],
            int(r["stuck_bits"]),
            int(r["distinct"]),
            int(r["nb"]),
            r["map_all"],
            r["chance_map"],
        )
        if why:
            where = f"{r['dataset']}, {r['method']}, {r['bits']} bits, seed {r['seed']}"
            out.append(f"{where}: degenerate codes ({', '.join(why)}).")
    return out


def still_falling(loss: pd.Series) -> float | None:
    """The relative drop of a loss (indexed by epoch) over its last tenth of epochs (at least
    LOSS_WINDOW_MIN), when larger than LOSS_DROP; None for a converged or short curve."""
    loss = loss.sort_index()
    w = max(LOSS_WINDOW_MIN, len(loss) // 10)
    if len(loss) <= w:
        return None
    before, last = float(loss.iloc[-1 - w]), float(loss.iloc[-1])
    drop = (before - last) / abs(before) if before else 0.0
    return drop if drop > LOSS_DROP else None


def loss_notes(
    curves: dict[tuple[str, str, str, int], list[pd.Series]], titles: dict[str, str]
) -> list[str]:
    """A note per loss curve still falling at its end: `curves` maps (network, dataset,
    method, bits) to the loss by epoch of each seed (`figures.read_losses`), judged on their
    mean; `titles` names each network."""
    out = []
    for (kind, ds, method, bits), series in sorted(curves.items()):
        loss = pd.concat(series, axis=1).mean(axis=1)
        drop = still_falling(loss)
        if drop is not None:
            w = max(LOSS_WINDOW_MIN, len(loss) // 10)
            out.append(
                f"{ds}, {method}, {bits} bits: {titles.get(kind, kind)} still falling, "
                f"{drop:.0%} in its last {w} of {len(loss)} epochs (not converged)."
            )
    return out


def headline_metrics(agg: pd.DataFrame) -> dict[str, Any]:
    """metrics/headline.json: dataset -> method -> bits -> HEADLINE_KEYS, seed means, only
    numbers (an undefined metric is left out) so `dvc metrics show` and `dvc exp show` list
    them."""
    nested: dict[str, Any] = {}
    for row in agg.to_dict("records"):
        cell = nested.setdefault(row["dataset"], {}).setdefault(row["method"], {})
        values = {key: row[f"{col}_mean"] for col, key in HEADLINE_KEYS.items()}
        cell[str(row["bits"])] = {
            k: round(float(v), 4) for k, v in values.items() if not math.isnan(v)
        }
    return nested
