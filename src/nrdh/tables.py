"""The tables over every evaluated (dataset, method, bits): the metrics files gathered,
averaged over seeds, with each column's leader, and written as JSON, CSV and Markdown
(metrics/summary.json, reports/summary.*); the figures are `nrdh.figures`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nrdh import aggregate, io, paths
from nrdh.errors import NRDHError

COLUMNS = [
    "dataset",
    "method",
    "bits",
    "seed",
    "map_all",
    "map_at_k",
    "topk",
    "precision_radius",
    "recall_radius",
    "f1_radius",
    "radius",
    "ties",
    "nb",
    "distinct",
    "stuck_bits",
    "chance_map",
]
# The diagnose stage's numbers of one run (nrdh.diagnostics) and their column labels.
DIAGNOSTIC_LABELS = {
    "map_target": "taught",
    "map_network": "learnt",
    "map_test": "test",
    "fit_gap": "fit gap",
    "generalisation_gap": "generalisation gap",
    "bit_agreement": "bit agreement",
    "reg_share": "GCN beta Lw / L1",
}
DIAGNOSTICS = tuple(DIAGNOSTIC_LABELS)
DIAGNOSTICS_NOTE = (
    "taught = mAP@all of sign(g(x)) on the training images (even positions as queries, odd "
    "as database), learnt = the trained network's codes on the same images, test = "
    "query/database mAP@all; fit gap = taught - learnt, generalisation gap = learnt - test."
)
# The feature_stats stage's measures of one features file (nrdh.semantics) and labels.
FEATURE_STAT_LABELS = {
    "neighbour_in_batch": "neighbour > rho in batch",
    "neighbour_global": "neighbour > rho anywhere",
    "mean_degree_in_batch": "mean degree in batch",
    "edge_label_precision": "edges sharing a label",
    "knn_precision": "kNN label precision",
}
FEATURE_STATS_NOTE = (
    "Training nodes with at least one other node of cosine similarity > rho in their M-node "
    "graph batch (the graphs the GCN sees) or anywhere in the training set; the mean number "
    "of such in-batch neighbours and the share of those edges joining images with a common "
    "label; kNN label precision = share of the k most cosine-similar database images that "
    "share a label with the query."
)
PR_PREFIX = "p_at_r_"  # columns p_at_r_<percent>: precision at recall (the paper's Table 3)


def _p_at_r_column(level: str) -> str:
    """Column name of a recall level written as a JSON key ("0.1" -> "p_at_r_10")."""
    return f"{PR_PREFIX}{float(level) * 100:g}"


def p_at_r_columns(table: pd.DataFrame, suffix: str = "") -> list[str]:
    """The precision-at-recall columns (ending in ``suffix``), by ascending recall level."""
    cols = [c for c in table.columns if c.startswith(PR_PREFIX) and c.endswith(suffix)]
    return sorted(cols, key=lambda c: float(c[len(PR_PREFIX) : len(c) - len(suffix)]))


def collect(eval_template: str, scope: paths.Scope | None = None) -> pd.DataFrame:
    """One tidy row per metrics file the path template matches (the evaluate stage's).

    Identity comes from the file's content (dataset, method, bits, seed; a missing seed is
    seed 0), never from its path, so the template's fields only locate the files.
    """
    rows = []
    for path, _ in paths.find(eval_template, scope):
        m = json.loads(path.read_text())
        proto = m["protocol"]
        row = {
            "dataset": m["dataset"],
            "method": m["method"],
            "bits": m["bits"],
            "seed": m.get("seed", 0),
            "map_all": m["map_all"],
            "map_at_k": m.get("map_at_k"),
            "topk": proto.get("topk"),
            "precision_radius": m["precision_radius"],
            "recall_radius": m["recall_radius"],
            "f1_radius": m["f1_radius"],
            "radius": proto["radius"],
            "ties": proto["ties"],
            "nb": proto.get("nb"),
            "chance_map": m.get("chance_map"),
        }
        row.update(m.get("database_codes", {}))  # distinct, stuck_bits (evaluate stage)
        row.update({_p_at_r_column(r): v for r, v in m.get("precision_at_recall", {}).items()})
        rows.append(row)
    if not rows:
        raise NRDHError(f"{eval_template}: no metrics files found (run the evaluate stage)")
    table = pd.DataFrame(rows)
    table = table.reindex(columns=COLUMNS + p_at_r_columns(table))
    return table.sort_values(["dataset", "method", "bits", "seed"], ignore_index=True)


def _mean_std(mean: float, std: float, n: int) -> str:
    """'mean ± std (n)', or 'mean (1)' for one seed; '' for a missing metric."""
    if pd.isna(mean):
        return ""
    return f"{mean:.4f} ({n})" if pd.isna(std) else f"{mean:.4f} ± {std:.4f} ({n})"


def _vs_reference(row: dict) -> str:
    """'+0.0123 beyond noise' (the mean paired difference and its mark), or the mark alone."""
    if pd.isna(row["diff"]):
        return row["mark"]
    return f"{row['diff']:+.4f} {row['mark']}"


def metric_labels(table: pd.DataFrame, dataset: str) -> dict[str, str]:
    """The headline metrics of one dataset with the labels its protocol gives them:
    mAP@all, mAP at the protocol's K (left out when the protocol has none) and precision
    within the protocol's Hamming radius."""
    proto = table[table["dataset"] == dataset].iloc[0]
    labels = {"map_all": "mAP@all"}
    if not pd.isna(proto["topk"]):
        labels["map_at_k"] = f"mAP@{int(proto['topk'])}"
    labels["precision_radius"] = f"P@r<={int(proto['radius'])}"
    return labels


def results_markdown(table: pd.DataFrame, lead: pd.DataFrame) -> str:
    """A results table (`results_table`) as Markdown: columns "<bits> bits <metric>", each
    column's leader in bold."""
    cells = table.where(~lead, "**" + table + "**")
    cells.columns = [f"{top} {metric}" for top, metric in table.columns]
    return cells.reset_index().to_markdown(index=False)


def results_table(
    agg: pd.DataFrame, dataset: str, labels: dict[str, str], reference: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One dataset's results: a row per method, columns (bits, metric label) for each of
    `labels` and, when some cell has more than one seed, (bits, "vs reference") with the
    mean paired mAP@all difference and its noise mark; with one seed everywhere the cells
    hold the plain values and there are no noise columns. Also a boolean frame of the same
    shape marking each metric column's leader (the highest mean; ties all marked)."""
    rows = agg[agg["dataset"] == dataset]
    seeds = rows["n"].max() > 1
    cells: dict[tuple[str, str], pd.Series] = {}
    lead: dict[tuple[str, str], pd.Series] = {}
    for bits, cell in rows.groupby("bits", sort=True):
        cell = cell.set_index("method")
        for metric, label in labels.items():
            mean, std = cell[f"{metric}_mean"], cell[f"{metric}_std"]
            col = (f"{bits} bits", label)
            cells[col] = pd.Series(
                {
                    m: _mean_std(mean[m], std[m], cell.at[m, "n"])
                    if seeds
                    else ("" if pd.isna(mean[m]) else f"{mean[m]:.4f}")
                    for m in cell.index
                }
            )
            lead[col] = mean == mean.max()
        if seeds:
            col = (f"{bits} bits", f"vs {reference}")
            cells[col] = pd.Series({m: _vs_reference(cell.loc[m]) for m in cell.index})
            lead[col] = pd.Series(False, index=cell.index)
    table = pd.DataFrame(cells).fillna("")
    marks = pd.DataFrame(lead).reindex(table.index).fillna(False).astype(bool)
    table.index.name = marks.index.name = "method"
    return table, marks


def _mean_std_columns(stats: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """(dataset, method, bits) of per-seed stats and, for each metric -> column label, its
    'mean ± std (n)'."""
    out = stats[["dataset", "method", "bits"]].copy()
    for metric, label in labels.items():
        out[label] = [
            _mean_std(m, s, n)
            for m, s, n in zip(
                stats[f"{metric}_mean"], stats[f"{metric}_std"], stats["n"], strict=True
            )
        ]
    return out


def precision_at_recall_table(agg: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3: precision at each recall level, mean ± std (n) over seeds."""
    levels = [c[: -len("_mean")] for c in p_at_r_columns(agg, "_mean")]
    return _mean_std_columns(agg, {c: f"P@R {c[len(PR_PREFIX) :]}%" for c in levels})


def collect_diagnostics(
    diag_template: str | None, scope: paths.Scope | None = None
) -> pd.DataFrame:
    """One row per diagnostics file the path template matches (the diagnose stage's):
    dataset, method, bits, seed and each of DIAGNOSTICS; no rows when there are none."""
    rows = []
    for path, _ in paths.find(diag_template, scope) if diag_template else []:
        d = json.loads(path.read_text())
        row = {k: d[k] for k in ("dataset", "method", "bits", *DIAGNOSTICS) if k != "reg_share"}
        rows.append({**row, "seed": d.get("seed", 0), "reg_share": d["gcn"]["reg_share"]})
    return pd.DataFrame(rows, columns=["dataset", "method", "bits", "seed", *DIAGNOSTICS])


def diagnostics_table(diag: pd.DataFrame) -> pd.DataFrame:
    """Where NRDH loses its edge: each diagnostic per (dataset, method, bits), mean ± std (n)
    over seeds (docs/RESULTS.md explains the columns)."""
    return _mean_std_columns(aggregate.seed_stats(diag, DIAGNOSTICS), DIAGNOSTIC_LABELS)


def collect_feature_stats(
    features_template: str | None, scope: paths.Scope | None = None
) -> pd.DataFrame:
    """One row per file the path template (field dataset) matches (the feature_stats
    stage's): dataset, backbone, M, rho, k and each measure; no rows when there are none."""
    rows = []
    for path, key in paths.find(features_template, scope) if features_template else []:
        d = json.loads(path.read_text())
        proto = {k: d["protocol"][k] for k in ("M", "rho", "k")}
        rows.append({"dataset": key["dataset"], "backbone": d["backbone"], **proto})
        rows[-1].update({k: d[k] for k in FEATURE_STAT_LABELS})
    return pd.DataFrame(
        rows, columns=["dataset", "backbone", "M", "rho", "k", *FEATURE_STAT_LABELS]
    )


def feature_stats_table(stats: pd.DataFrame) -> pd.DataFrame:
    """The feature measures with their labels, rounded for reading."""
    return stats.rename(columns=FEATURE_STAT_LABELS).round(4)


def write_summary(
    agg: pd.DataFrame,
    summary_json: Path,
    reports_dir: Path,
    reference: str,
    labels: dict[str, dict[str, str]],
    diag: pd.DataFrame | None = None,
    feature_stats: pd.DataFrame | None = None,
) -> None:
    """metrics/summary.json (dataset/method/bits -> numbers) plus CSV and Markdown tables
    (`labels`: dataset -> its headline metrics and their labels, `metric_labels`).

    summary.json holds only numbers so `dvc metrics show` lists them: mean map_all, map_at_k
    and f1_radius, map_all_std and n over seeds and, where defined, the mean paired
    difference from the reference (map_all_diff) and beyond_noise (1 or 0).
    """
    nested: dict = {}
    for row in agg.to_dict("records"):
        cell = nested.setdefault(row["dataset"], {}).setdefault(row["method"], {})
        values = {k: row[f"{k}_mean"] for k in ("map_all", "map_at_k", "f1_radius")}
        values["map_all_std"] = row["map_all_std"]
        if row["mark"] in (aggregate.WITHIN, aggregate.BEYOND):
            values.update(map_all_diff=row["diff"], beyond_noise=row["mark"] == aggregate.BEYOND)
        numbers = {k: float(v) for k, v in values.items() if not pd.isna(v)}  # undefined: left out
        cell[str(row["bits"])] = {**numbers, "n": int(row["n"])}
    io.write_json(summary_json, nested)
    reports_dir.mkdir(parents=True, exist_ok=True)
    io.write_text(reports_dir / "summary.csv", agg.to_csv(index=False, float_format="%.4f"))
    sections = []
    for ds, ds_labels in labels.items():
        cells, lead = results_table(agg, ds, ds_labels, reference)
        sections += [
            f"## {ds}: mean over seeds, each column's leader in bold\n",
            results_markdown(cells, lead) + "\n",
        ]
    if agg["n"].max() > 1:
        sections.append(f"{aggregate.RULE} (vs {reference}: the mAP@all difference)\n")
    pr_table = precision_at_recall_table(agg)
    if pr_table.shape[1] > 3:
        sections += [
            "## Precision at recall of Hamming ranking (the paper's Table 3)\n",
            pr_table.to_markdown(index=False) + "\n",
        ]
    if diag is not None and len(diag):
        sections += [
            "## Where NRDH loses its edge: taught, learnt and test mAP@all over seeds\n",
            f"{DIAGNOSTICS_NOTE}\n",
            diagnostics_table(diag).to_markdown(index=False) + "\n",
        ]
    if feature_stats is not None and len(feature_stats):
        sections += [
            "## How semantic the features are: neighbours above rho, kNN labels\n",
            f"{FEATURE_STATS_NOTE}\n",
            feature_stats_table(feature_stats).to_markdown(index=False) + "\n",
        ]
    io.write_text(reports_dir / "summary.md", "\n".join(sections))
    io.write_text(
        reports_dir / "map_vs_bits.csv",
        agg[["dataset", "method", "bits", "map_all_mean", "map_all_std", "n"]]
        .rename(columns={"map_all_mean": "map_all"})
        .to_csv(index=False, float_format="%.4f"),
    )
