"""Seeds as a dimension: mean, std and n per (dataset, method, bits), and differences beyond noise.

The noise rule (docs/METRICS.md, "Over seeds"): for a method and the reference method, take
the seeds both were run with, d_s = metric(method, s) - metric(reference, s) for each, and
call the difference *beyond noise* when a two-sided paired t-test at 5% rejects "no
difference": |mean d| > t_{0.975, n-1} * sd(d) / sqrt(n), sd the sample standard deviation
(ddof 1). Pairing by seed removes the part of the spread that both methods share (the split,
the data order). With fewer than two shared seeds there is no estimate of the noise: the mark
is "n/a (one seed)" (or "n/a (no shared seed)").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nrdh.errors import NRDHError

KEYS = ["dataset", "method", "bits"]
# Metrics aggregated over seeds (columns of tables.collect's table).
METRICS = ("map_all", "map_at_k", "precision_radius", "recall_radius", "f1_radius")
WITHIN, BEYOND, REFERENCE = "within noise", "beyond noise", "reference"
ONE_SEED, NO_SHARED = "n/a (one seed)", "n/a (no shared seed)"
NO_REFERENCE = "n/a (no reference run)"
RULE = (
    "Noise rule: over the seeds both were run with, d = method - reference; 'beyond noise' "
    "when |mean d| > t(0.975, n-1) * sd(d) / sqrt(n) (two-sided paired t-test at 5%); "
    "fewer than 2 shared seeds: n/a."
)


def seed_stats(table: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Per (dataset, method, bits): n seeds, and mean and sample std (ddof 1) of each metric.

    The std of a single seed is NaN (undefined), not 0.
    """
    dup = table.duplicated([*KEYS, "seed"], keep=False)
    if dup.any():
        first = table.loc[dup, [*KEYS, "seed"]].iloc[0].to_dict()
        raise NRDHError(f"metrics: more than one eval file for {first}; expected one per seed")
    groups = table.groupby(KEYS, sort=True)
    out = groups.size().rename("n").to_frame()
    for m in metrics:
        col = pd.to_numeric(table[m], errors="coerce").groupby([table[k] for k in KEYS])
        out[f"{m}_mean"] = col.mean()
        out[f"{m}_std"] = col.std(ddof=1)
    return out.reset_index()


def paired_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict:
    """Mean, sd and n of d = a - b over paired seeds, the t threshold and the noise mark."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    assert d.ndim == 1, d.shape
    n = len(d)
    out = {"diff": float(d.mean()) if n else float("nan"), "diff_sd": float("nan"), "pairs": n}
    if n < 2:
        out.update(threshold=float("nan"), mark=ONE_SEED if n == 1 else NO_SHARED)
        return out
    from scipy.stats import t as student_t  # lazily: 0.8 s, and the retrieval grid needs none

    sd = float(d.std(ddof=1))
    threshold = float(student_t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    out.update(
        diff_sd=sd, threshold=threshold, mark=BEYOND if abs(out["diff"]) > threshold else WITHIN
    )
    return out


def compare_to_reference(
    table: pd.DataFrame, reference: str = "nrdh", metric: str = "map_all"
) -> pd.DataFrame:
    """Per (dataset, method, bits): the paired difference of ``metric`` from ``reference``.

    Columns: diff (mean of method - reference over shared seeds), diff_sd, pairs (shared
    seeds), threshold (t_{0.975, n-1} sd / sqrt(n)) and mark; cells whose (dataset, bits) has
    no reference run are marked "n/a (no reference run)" (a baselines-only run still reports).
    """
    ref = table[table["method"] == reference].set_index(["dataset", "bits", "seed"])[metric]
    ref_keys = {k[:2] for k in ref.index}
    rows = []
    for (ds, method, bits), runs in table.groupby(KEYS, sort=True):
        row = {"dataset": ds, "method": method, "bits": bits}
        if method == reference:
            row["mark"] = REFERENCE
        elif (ds, bits) not in ref_keys:
            row["mark"] = NO_REFERENCE
        else:
            mine = runs.set_index("seed")[metric]
            theirs = ref.loc[(ds, bits)]
            shared = sorted(set(mine.index) & set(theirs.index))
            row.update(paired_difference(mine.loc[shared].values, theirs.loc[shared].values))
        rows.append(row)
    cols = [*KEYS, "diff", "diff_sd", "pairs", "threshold", "mark"]
    return pd.DataFrame(rows).reindex(columns=cols)


def aggregate(
    table: pd.DataFrame,
    reference: str = "nrdh",
    metric: str = "map_all",
    metrics: Sequence[str] = METRICS,
) -> pd.DataFrame:
    """seed_stats of ``metrics`` joined with compare_to_reference of ``metric``, per cell."""
    stats = seed_stats(table, metrics)
    return stats.merge(compare_to_reference(table, reference, metric), on=KEYS)
