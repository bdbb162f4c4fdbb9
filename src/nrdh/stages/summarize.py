"""The summary stage: one table over datasets, methods and code lengths, and the figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nrdh import aggregate, headline, html_report, io, paths, report, search
from nrdh.data import load_dataset
from nrdh.params import DatasetConfig, GridConfig, Params
from nrdh.pipeline.common import read_codes


@dataclass(frozen=True)
class Sources:
    """Path templates of the files the summary reads, from dvc.yaml's summarize command
    (`nrdh.paths`; fields dataset, method, seed, bits)."""

    eval: str  # the evaluate stage's metrics files
    pr: str  # its PR curves
    losses: dict[str, str]  # network (gcn, hasher) -> its loss histories
    diag: str | None = None  # the diagnose stage's files
    features: str | None = None  # the feature_stats stage's, field dataset only
    scope: paths.Scope | None = None  # the runs to gather (`scope_of`); None: every file


def scope_of(p: Params) -> paths.Scope:
    """The runs of params `p`: its datasets, methods (variants and peers too: diagnostics
    and loss curves), training seeds and code lengths, so files left by runs of other
    params (a preset since reverted) stay out of the report."""
    b = p.base
    methods = {*b.methods, *b.variants, *b.peers}
    return {"dataset": b.datasets, "method": methods, "seed": b.seeds, "bits": b.bits}


def write_report(
    sources: Sources,
    summary_out: Path,
    reports_dir: Path,
    reference: str = "nrdh",
    params: dict[str, Any] | None = None,
    headline_out: Path | None = None,
) -> pd.DataFrame:
    """Tables over seeds (with the diagnostics and the feature measures, if any), the
    headline numbers (to `headline_out`, DVC's metrics file), the figures and
    reports/report.html; returns the aggregated table."""
    scope = sources.scope
    table = report.collect(sources.eval, scope)
    agg = aggregate.aggregate(
        table, reference, metrics=(*aggregate.METRICS, *report.p_at_r_columns(table))
    )
    diag = report.collect_diagnostics(sources.diag, scope)
    feats = report.collect_feature_stats(sources.features, scope)
    losses = report.read_losses(sources.losses, scope)
    labels = {ds: report.metric_labels(table, ds) for ds in sorted(agg["dataset"].unique())}
    report.write_summary(agg, summary_out, reports_dir, reference, labels, diag, feats)
    if headline_out is not None:
        io.write_json(headline_out, headline.headline_metrics(agg))
    report.plot_map_vs_bits(agg, reports_dir)
    report.plot_pr_curves(sources.pr, reports_dir, scope)
    report.plot_losses(losses, reports_dir)
    notes = headline.loss_notes(losses, report.LOSS_TITLES) + headline.code_notes(table)
    html_report.write_html_report(
        reports_dir / "report.html",
        html_report.Results(table, agg, reference, notes, diag, feats),
        reports_dir,
        params,
    )
    return agg


def summarize_stage(
    *,
    sources: Sources,
    summary_out: Path,
    headline_out: Path,
    reports_dir: Path,
    reference: str,
    params: dict[str, Any],
) -> None:
    """Gather every metrics and diagnostics file over seeds and the feature measures into
    tables, the headline metrics file, figures and the HTML report (which shows `params`,
    the run's whole params file)."""
    write_report(sources, summary_out, reports_dir, reference, params, headline_out)


def retrieval_grid_stage(
    *,
    codes_path: Path,
    out: Path,
    dataset: str,
    ds_cfg: DatasetConfig,
    cfg: GridConfig,
    seed: int,
) -> None:
    """Random queries and their top-k results, correct ones framed green, wrong ones red,
    labelled with the method, code length, query ids and each result's distance."""
    codes = read_codes(codes_path)
    images = load_dataset(ds_cfg, seed)
    rng = np.random.default_rng(seed)
    nq = len(codes["query"]["index"])
    q = np.sort(rng.choice(nq, min(cfg.queries, nq), replace=False))
    dists, ids = search.knn(
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
    report.retrieval_grid(
        rows,
        out,
        title=f"{dataset}: {codes['method']}, {codes['bits']} bits",
        query_ids=[str(codes["query"]["ids"][i]) for i in q],
        distances=[[int(d) for d in row] for row in dists],
    )
