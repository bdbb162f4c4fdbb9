"""The summary stage: one table over datasets, methods and code lengths, and the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nrdh import aggregate, html_report, report, search
from nrdh.data import load_dataset
from nrdh.params import DatasetConfig, GridConfig
from nrdh.pipeline.common import read_codes


def write_report(
    eval_dir: Path,
    pr_dir: Path,
    loss_dir: Path,
    summary_out: Path,
    reports_dir: Path,
    reference: str = "nrdh",
    params: dict[str, Any] | None = None,
    diag_dir: Path | None = None,
    features_dir: Path | None = None,
) -> pd.DataFrame:
    """Tables over seeds (with the diagnostics under `diag_dir` and the feature measures
    under `features_dir`, if any), the figures and reports/report.html; returns the
    aggregated table."""
    table = report.collect(eval_dir)
    agg = aggregate.aggregate(
        table, reference, metrics=(*aggregate.METRICS, *report.p_at_r_columns(table))
    )
    diag = report.collect_diagnostics(diag_dir)
    feats = report.collect_feature_stats(features_dir)
    report.write_summary(agg, summary_out, reports_dir, reference, diag, feats)
    report.plot_map_vs_bits(agg, reports_dir)
    report.plot_pr_curves(pr_dir, reports_dir)
    report.plot_losses(loss_dir, reports_dir)
    html_report.write_html_report(
        reports_dir / "report.html", agg, reports_dir, reference, params, diag, feats
    )
    return agg


def summarize_stage(
    *,
    eval_dir: Path,
    pr_dir: Path,
    loss_dir: Path,
    diag_dir: Path,
    summary_out: Path,
    reports_dir: Path,
    reference: str,
    params: dict[str, Any],
    features_dir: Path | None = None,
) -> None:
    """Gather every eval_<bits>.json and diag_<bits>.json over seeds and the feature
    measures into tables, figures and the HTML report (which shows `params`, the run's
    whole params file)."""
    write_report(
        eval_dir,
        pr_dir,
        loss_dir,
        summary_out,
        reports_dir,
        reference,
        params,
        diag_dir,
        features_dir,
    )


def retrieval_grid_stage(
    *, codes_path: Path, out: Path, ds_cfg: DatasetConfig, cfg: GridConfig, seed: int
) -> None:
    """Random queries and their top-k results, correct ones framed green, wrong ones red."""
    codes = read_codes(codes_path)
    images = load_dataset(ds_cfg, seed)
    rng = np.random.default_rng(seed)
    nq = len(codes["query"]["index"])
    q = np.sort(rng.choice(nq, min(cfg.queries, nq), replace=False))
    _, ids = search.knn(
        codes["query"]["codes"][q], codes["database"]["codes"], cfg.k, codes["bits"]
    )
    yq, yb = codes["query"]["labels"], codes["database"]["labels"]
    rows = [
        (
            images[int(codes["query"]["index"][i])],
            [
                (images[int(codes["database"]["index"][j])], bool((yq[i] & yb[j]).any()))
                for j in row
            ],
        )
        for i, row in zip(q, ids, strict=True)
    ]
    report.retrieval_grid(rows, out)
