"""The figures over every evaluated (dataset, method, bits), in the paper's Figs. 6-9 style:
mAP against code length, PR curves, loss curves (with their readers) and the retrieval grid,
each saved as byte-stable PNG and SVG; the tables are `nrdh.tables`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nrdh import io, paths
from nrdh.errors import NRDHError


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
