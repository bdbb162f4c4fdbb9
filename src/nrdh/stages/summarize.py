"""Stage summarize: tables over datasets, methods, seeds and code lengths, the headline
metrics, the figures and the self-contained HTML report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from nrdh import aggregate, figures, headline, html_report, io, paths, tables
from nrdh.config import load_yaml
from nrdh.params import Params


@dataclass(frozen=True)
class Args:
    """The stage's flags (dvc.yaml's command); path templates with fields dataset, method,
    seed, bits (`nrdh.paths`)."""

    params: Path  # the params file, shown whole in the report
    eval: str  # the evaluate stage's metrics files
    pr: str  # its PR curves
    gcn_loss: str  # the GCNs' loss histories
    hasher_loss: str  # the hash networks'
    diag: str  # the diagnose stage's files
    features: str  # the feature_stats stage's, field dataset only
    summary: Path  # the summary table written (JSON)
    headline: Path  # DVC's metrics file written
    reports: Path  # the reports folder written


def run(p: Params, args: Args) -> None:
    """The stage under params `p` with its flags `args`."""
    summarize_stage(
        sources=Sources(
            eval=args.eval,
            pr=args.pr,
            losses={"gcn": args.gcn_loss, "hasher": args.hasher_loss},
            diag=args.diag,
            features=args.features,
            scope=scope_of(p),
        ),
        summary_out=args.summary,
        headline_out=args.headline,
        reports_dir=args.reports,
        reference=p.summary.reference,
        params=load_yaml(args.params),
    )


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
    table = tables.collect(sources.eval, scope)
    agg = aggregate.aggregate(
        table, reference, metrics=(*aggregate.METRICS, *tables.p_at_r_columns(table))
    )
    diag = tables.collect_diagnostics(sources.diag, scope)
    feats = tables.collect_feature_stats(sources.features, scope)
    losses = figures.read_losses(sources.losses, scope)
    labels = {ds: tables.metric_labels(table, ds) for ds in sorted(agg["dataset"].unique())}
    tables.write_summary(agg, summary_out, reports_dir, reference, labels, diag, feats)
    if headline_out is not None:
        io.write_json(headline_out, headline.headline_metrics(agg))
    figures.plot_map_vs_bits(agg, reports_dir)
    figures.plot_pr_curves(sources.pr, reports_dir, scope)
    figures.plot_losses(losses, reports_dir)
    notes = headline.loss_notes(losses, figures.LOSS_TITLES) + headline.code_notes(table)
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
