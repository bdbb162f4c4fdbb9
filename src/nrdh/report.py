"""Tables and figures over every evaluated (dataset, method, bits): the paper's Figs. 6-8 style."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
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


def _save(fig: plt.Figure, stem: Path) -> None:
    """Save a figure as PNG and SVG, atomically, with no timestamp metadata.

    A fixed svg.hashsalt makes the SVG's element ids stable (matplotlib salts them with a
    random UUID otherwise), so two runs give byte-identical figures.
    """
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None})):
        with (
            io.atomic_path(stem.with_suffix(f".{ext}"), f".{ext}") as tmp,
            plt.rc_context({"svg.hashsalt": stem.name}),
        ):
            fig.savefig(tmp, format=ext, metadata=meta, dpi=120)
    plt.close(fig)


def _colors(methods: list[str]) -> dict[str, Any]:
    """One fixed colour per method (sorted), the same in every panel and figure."""
    cmap = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    return {m: cmap(i % cmap.N) for i, m in enumerate(sorted(methods))}


def _legend_outside(fig: plt.Figure, axes: np.ndarray) -> None:
    """One legend for the whole figure, right of the panels, so it covers no curve."""
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize="small")


def plot_map_vs_bits(agg: pd.DataFrame, reports_dir: Path) -> None:
    """mAP@all against code length, one panel per dataset, mean ± std over seeds (Fig. 6 style)."""
    datasets = sorted(agg["dataset"].unique())
    colors = _colors(list(agg["method"].unique()))
    fig, axes = plt.subplots(
        1,
        len(datasets),
        figsize=(4.5 * len(datasets) + 1.8, 3.8),
        squeeze=False,
        layout="constrained",
    )
    for ax, ds in zip(axes[0], datasets, strict=True):
        for method, rows in agg[agg["dataset"] == ds].groupby("method"):
            ax.errorbar(
                rows["bits"],
                rows["map_all_mean"],
                yerr=rows["map_all_std"].fillna(0.0),
                marker="o",
                ms=4,
                capsize=3,
                color=colors[method],
                label=method,
            )
        ax.set(title=ds, xlabel="code length (bits)", ylabel="mAP@all (mean ± std over seeds)")
        ax.set_xticks(sorted(agg["bits"].unique()))
        ax.grid(alpha=0.3)
    _legend_outside(fig, axes)
    _save(fig, reports_dir / "map_vs_bits")


def read_runs(
    template: str, scope: paths.Scope | None = None
) -> dict[tuple[str, str, int, int], Any]:
    """Every JSON file the path template matches, by (dataset, method, seed, bits) from
    its fields (the template may leave out seed: seed 0)."""
    missing = {"dataset", "method", "bits"} - paths.fields(template)
    if missing:
        raise NRDHError(f"{template}: a run file template needs the fields {sorted(missing)}")
    return {
        (key["dataset"], key["method"], key.get("seed", 0), key["bits"]): json.loads(
            path.read_text()
        )
        for path, key in paths.find(template, scope)
    }


PR_MIN_RETURNED = 0.5  # share of queries with a return where a drawn PR curve starts


def plot_pr_curves(pr_template: str, reports_dir: Path, scope: paths.Scope | None = None) -> None:
    """Precision-recall over Hamming radius: one panel per (dataset, bits), seeds averaged.

    Rows are datasets, columns code lengths (Figs. 7-8 style); each curve is the mean over
    seeds at each radius of recall and of precision_returned, the precision of the queries
    that get a return (in `precision` an empty return counts 0, which would draw a dip to 0
    at the small radii where most returns are empty). A curve starts, at a dot, at the
    first radius where PR_MIN_RETURNED of the queries get a return: below it the precision
    is that of a few queries (a single lucky one draws a spike to 1, a wrong one to 0). A
    code whose radius 0 already finds a fifth of the relevant items starts at recall 0.2.
    PR files of an older evaluator (a study's curves.csv from before these fields) hold
    neither: their curve is drawn whole, with the precision they record.
    """
    runs = read_runs(pr_template, scope)
    if not runs:
        raise NRDHError(f"{pr_template}: no PR curve files found (run the evaluate stage)")
    curves: dict[tuple[str, int, str], list] = {}
    for (ds, method, _seed, bits), rows in runs.items():
        curves.setdefault((ds, bits, method), []).append(pd.DataFrame(rows).set_index("radius"))
    datasets = sorted({k[0] for k in curves})
    bits_all = sorted({k[1] for k in curves})
    colors = _colors(list({k[2] for k in curves}))
    fig, axes = plt.subplots(
        len(datasets),
        len(bits_all),
        figsize=(3.6 * len(bits_all) + 1.8, 3.2 * len(datasets)),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    for (ds, bits, method), frames in sorted(curves.items()):
        ax = axes[datasets.index(ds), bits_all.index(bits)]
        mean = pd.concat(frames).groupby(level=0).mean()  # NaN (None) left out of the mean
        recorded = "returned" in mean
        drawn = mean[mean["returned"] >= PR_MIN_RETURNED] if recorded else mean
        ax.plot(
            drawn["recall"],
            drawn["precision_returned" if recorded else "precision"],
            color=colors[method],
            label=method,
            lw=1.4,
            marker="o",
            ms=3.5,
            markevery=[0],
        )
    for i, ds in enumerate(datasets):
        for j, bits in enumerate(bits_all):
            ax = axes[i, j]
            ax.set_title(f"{ds}, {bits} bits", fontsize="medium")
            ax.set(xlim=(0, 1.02), ylim=(0, 1.02))
            ax.grid(alpha=0.3)
            if i == len(datasets) - 1:
                ax.set_xlabel("recall")
            if j == 0:
                ax.set_ylabel("precision (queries with a return)")
    _legend_outside(fig, axes)
    _save(fig, reports_dir / "pr_curves")


LOSS_TITLES = {"gcn": "GCN autoencoder L1 (Eq. 8)", "hasher": "hash network L2 (Eq. 18)"}


LossCurves = dict[tuple[str, str, str, int], list[pd.Series]]


def read_losses(loss_templates: dict[str, str], scope: paths.Scope | None = None) -> LossCurves:
    """Loss by epoch of every run: (network, dataset, method, bits) -> one series per seed
    (`loss_templates`: network -> the path template of its loss histories)."""
    curves: LossCurves = {}
    for kind, template in loss_templates.items():
        for (ds, method, _seed, bits), hist in read_runs(template, scope).items():
            loss = pd.Series({h["epoch"]: h["loss"] for h in hist})
            curves.setdefault((kind, ds, method, bits), []).append(loss)
    if not curves:
        raise NRDHError(f"{', '.join(loss_templates.values())}: no loss files found (run training)")
    return curves


def plot_losses(curves: LossCurves, reports_dir: Path) -> None:
    """Training loss per epoch (`read_losses`): rows are the networks, columns datasets;
    mean ± std of seeds."""
    kinds = sorted({k[0] for k in curves}, key=lambda k: (k not in LOSS_TITLES, k))
    datasets = sorted({k[1] for k in curves})
    labels = sorted({(k[2], k[3]) for k in curves})
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    colors = {lab: cmap(i % cmap.N) for i, lab in enumerate(labels)}
    fig, axes = plt.subplots(
        len(kinds),
        len(datasets),
        figsize=(4.5 * len(datasets) + 2.2, 3.4 * len(kinds)),
        squeeze=False,
        layout="constrained",
    )
    for (kind, ds, method, bits), series in sorted(curves.items()):
        ax = axes[kinds.index(kind), datasets.index(ds)]
        runs_df = pd.concat(series, axis=1)  # (epochs, seeds), NaN where a run stopped early
        mean, std = runs_df.mean(axis=1), runs_df.std(axis=1, ddof=1)
        color = colors[(method, bits)]
        ax.plot(mean.index, mean, color=color, lw=1.2, label=f"{method} {bits} bits")
        if len(series) > 1:
            ax.fill_between(mean.index, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    for i, kind in enumerate(kinds):
        for j, ds in enumerate(datasets):
            axes[i, j].set(
                title=f"{ds}: {LOSS_TITLES.get(kind, kind)}",
                xlabel="epoch",
                ylabel="loss",
                yscale="log",
            )
            axes[i, j].grid(alpha=0.3)
    _legend_outside(fig, axes)
    _save(fig, reports_dir / "loss_curves")


FRAME_RGB = {True: (44, 160, 44), False: (214, 39, 40), None: (255, 255, 255)}  # green, red
TILE_MAX = 96  # pixels of a grid tile: larger images are shrunk
FRAME_MEANING = {
    True: "green: shares a label",
    False: "red: shares none",
    None: "unframed: no labels",
}


def _grid_geometry(rows: list, tile_max: int) -> tuple[int, int, int]:
    """Tile size t (the largest image, at most tile_max), frame width f (also the gap
    between tiles) and cell = t + 2 f of a retrieval grid."""
    images = [q for q, _ in rows] + [img for _, results in rows for img, _ in results]
    t = min(tile_max, max(max(img.size) for img in images))
    f = max(1, t // 8)
    return t, f, t + 2 * f


def grid_image(rows: list, tile_max: int = TILE_MAX, label_gap: int = 0) -> np.ndarray:
    """The retrieval grid as one RGB picture: a row per query (first column, then a gap),
    its results after it, each image centred in a square tile (shrunk to at most
    `tile_max` pixels) inside a frame coloured by `FRAME_RGB` (correct, wrong, unknown);
    `label_gap` white pixel rows under each row leave room for labels.

    One picture draws in one call, where a grid of axes cost a second per figure.
    """
    t, f, cell = _grid_geometry(rows, tile_max)
    pitch = cell + f + label_gap
    k = max(len(results) for _, results in rows)
    canvas = np.full((len(rows) * pitch, (k + 1) * (cell + f) + f, 3), 255, np.uint8)
    for r, (query, results) in enumerate(rows):
        for c, (img, correct) in enumerate([(query, None), *results]):
            y, x = r * pitch, c * (cell + f) + (f if c else 0)
            canvas[y : y + cell, x : x + cell] = FRAME_RGB[correct]
            tile = img.convert("RGB")
            tile.thumbnail((t, t))
            a = np.asarray(tile)
            top, left = y + f + (t - a.shape[0]) // 2, x + f + (t - a.shape[1]) // 2
            canvas[top : top + a.shape[0], left : left + a.shape[1]] = a
    return canvas


def frames_caption(rows: list) -> str:
    """What the frames of a grid mean, for the kinds of frame it draws only."""
    drawn = {correct for _, results in rows for _, correct in results}
    return "; ".join(FRAME_MEANING[c] for c in (True, False, None) if c in drawn)


def retrieval_grid(
    rows: list,
    out: Path,
    *,
    title: str | None = None,
    query_ids: list[str] | None = None,
    distances: list[list[int]] | None = None,
) -> None:
    """A picture of queries (first column) and their ranked results (Fig. 9 style).

    `rows` holds (query PIL image, [(result PIL image, correct or None), ...]); correct
    results get a green frame, wrong ones red, unknown (new images without labels) none,
    and the caption explains only the frames drawn. With `query_ids` and `distances`
    (Hamming distance of each result), each query is labelled with its id and each result
    with its distance and relevance (+ shares a label, - shares none).
    """
    labelled = query_ids is not None and distances is not None
    k = max(len(results) for _, results in rows)
    _, f, cell = _grid_geometry(rows, TILE_MAX)
    gap = cell // 2 if labelled else 0
    canvas = grid_image(rows, label_gap=gap)
    inch = 0.75  # per tile
    fig, ax = plt.subplots(
        figsize=(inch * (k + 1) + 0.2, inch * len(rows) * (cell + f + gap) / (cell + f) + 0.6)
    )
    ax.imshow(canvas, interpolation="nearest")
    if labelled:
        mark = {True: " +", False: " -", None: ""}
        for r, (qid, (_, results), row_d) in enumerate(
            zip(query_ids, rows, distances, strict=True)
        ):
            below = r * (cell + f + gap) + cell + gap / 2
            ax.text(cell / 2, below, f"q {qid}", ha="center", va="center", fontsize=7)
            for c, ((_, correct), d) in enumerate(zip(results, row_d, strict=True), start=1):
                x = c * (cell + f) + f + cell / 2
                ax.text(x, below, f"d={d}{mark[correct]}", ha="center", va="center", fontsize=8)
    legend = frames_caption(rows) + ("; d: Hamming distance, + relevant, - not" if labelled else "")
    heading = f"{title}\n" if title else ""
    ax.set_title(f"{heading}query, then its results by Hamming distance ({legend})", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    _save(fig, Path(out).with_suffix(""))
