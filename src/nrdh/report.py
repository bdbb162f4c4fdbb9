"""Tables and figures over every evaluated (dataset, method, bits): the paper's Figs. 6-8 style."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from nrdh import io
from nrdh.errors import NRDHError

COLUMNS = [
    "dataset",
    "method",
    "bits",
    "map_all",
    "map_at_k",
    "topk",
    "precision_radius",
    "recall_radius",
    "f1_radius",
    "radius",
    "ties",
]


def collect(eval_dir: Path) -> pd.DataFrame:
    """One tidy row per metrics file under eval_dir (written by the evaluate stage)."""
    rows = []
    for path in sorted(Path(eval_dir).rglob("eval_*.json")):
        m = json.loads(path.read_text())
        proto = m["protocol"]
        rows.append(
            {
                "dataset": m["dataset"],
                "method": m["method"],
                "bits": m["bits"],
                "map_all": m["map_all"],
                "map_at_k": m.get("map_at_k"),
                "topk": proto.get("topk"),
                "precision_radius": m["precision_radius"],
                "recall_radius": m["recall_radius"],
                "f1_radius": m["f1_radius"],
                "radius": proto["radius"],
                "ties": proto["ties"],
            }
        )
    if not rows:
        raise NRDHError(f"{eval_dir}: no eval_<bits>.json files found (run the evaluate stage)")
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["dataset", "method", "bits"])


def write_summary(table: pd.DataFrame, summary_json: Path, reports_dir: Path) -> None:
    """metrics/summary.json (nested dataset/method/bits) plus CSV and Markdown tables."""
    nested: dict = {}
    for row in table.to_dict("records"):
        cell = nested.setdefault(row["dataset"], {}).setdefault(row["method"], {})
        cell[str(row["bits"])] = {k: row[k] for k in ("map_all", "map_at_k", "f1_radius")}
    io.write_json(summary_json, nested)
    reports_dir.mkdir(parents=True, exist_ok=True)
    io.write_text(reports_dir / "summary.csv", table.to_csv(index=False, float_format="%.4f"))
    wide = table.pivot_table(index=["dataset", "method"], columns="bits", values="map_all")
    wide.columns = [f"mAP@all {b} bits" for b in wide.columns]
    io.write_text(
        reports_dir / "summary.md",
        wide.reset_index().to_markdown(index=False, floatfmt=".4f") + "\n",
    )
    io.write_text(
        reports_dir / "map_vs_bits.csv",
        table[["dataset", "method", "bits", "map_all"]].to_csv(index=False, float_format="%.4f"),
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


def plot_map_vs_bits(table: pd.DataFrame, reports_dir: Path) -> None:
    """mAP@all against code length, one panel per dataset, one line per method (Fig. 6 style)."""
    datasets = sorted(table["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for method, rows in table[table["dataset"] == ds].groupby("method"):
            ax.plot(rows["bits"], rows["map_all"], marker="o", label=method)
        ax.set(title=ds, xlabel="code length (bits)", ylabel="mAP@all")
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, reports_dir / "map_vs_bits")


def plot_pr_curves(pr_dir: Path, reports_dir: Path) -> None:
    """Precision-recall over Hamming radius per dataset and code length (Figs. 7-8 style)."""
    curves: dict[tuple[str, int], dict[str, list]] = {}
    for path in sorted(Path(pr_dir).rglob("pr_*.json")):
        dataset, method = path.parts[-3], path.parts[-2]
        bits = int(path.stem.split("_")[1])
        curves.setdefault((dataset, bits), {})[method] = json.loads(path.read_text())
    if not curves:
        raise NRDHError(f"{pr_dir}: no pr_<bits>.json files found (run the evaluate stage)")
    keys = sorted(curves)
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for method, rows in sorted(curves[key].items()):
            ax.plot([r["recall"] for r in rows], [r["precision"] for r in rows], label=method)
        ax.set(title=f"{key[0]}, {key[1]} bits", xlabel="recall", ylabel="precision")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    _save(fig, reports_dir / "pr_curves")


def plot_losses(loss_dir: Path, reports_dir: Path) -> None:
    """Training loss curves of the GCN autoencoder and the hash network."""
    files = sorted(Path(loss_dir).rglob("*.json"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for path in files:
        ax = axes[0] if path.stem.startswith("gcn") else axes[1]
        hist = json.loads(path.read_text())
        ax.plot(
            [h["epoch"] for h in hist],
            [h["loss"] for h in hist],
            label=f"{path.parent.name} {path.stem.split('_')[1]} bits",
        )
    for ax, title in zip(
        axes, ("GCN autoencoder L1 (Eq. 8)", "hash network L2 (Eq. 18)"), strict=True
    ):
        ax.set(title=title, xlabel="epoch", ylabel="loss", yscale="log")
        ax.legend(fontsize="x-small")
    _save(fig, reports_dir / "loss_curves")


def retrieval_grid(rows: list, out: Path) -> None:
    """A picture of queries (first column) and their ranked results (Fig. 9 style).

    `rows` holds (query image, [(result image, correct or None), ...]); correct results get
    a green frame, wrong ones red, unknown (new images without labels) none.
    """
    k = max(len(results) for _, results in rows)
    fig, axes = plt.subplots(
        len(rows), k + 1, figsize=(1.1 * (k + 1), 1.1 * len(rows)), squeeze=False
    )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")
    for r, (query, results) in enumerate(rows):
        axes[r, 0].imshow(query, cmap="gray")
        axes[r, 0].set_title("query" if r == 0 else "", fontsize=8)
        for c, (img, correct) in enumerate(results, start=1):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray")
            if correct is not None:
                ax.axis("on")
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:green" if correct else "tab:red")
                    spine.set_linewidth(3)
    fig.tight_layout()
    _save(fig, Path(out).with_suffix(""))
