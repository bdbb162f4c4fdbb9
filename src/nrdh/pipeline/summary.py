"""The summary stage: one table over datasets, methods and code lengths, and the figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nrdh import aggregate, html_report, report, search
from nrdh.data import load_dataset
from nrdh.pipeline.common import dataset_config, load_section, read_codes, seed_of


@dataclass(frozen=True)
class SummaryConfig:
    """The comparison over seeds (params.yaml section ``summary``)."""

    reference: str = "nrdh"  # every method's difference from this one is tested against noise


def write_report(
    eval_dir: Path,
    pr_dir: Path,
    loss_dir: Path,
    summary_out: Path,
    reports_dir: Path,
    reference: str = "nrdh",
    params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Tables over seeds, the figures and reports/report.html; returns the aggregated table."""
    table = report.collect(eval_dir)
    agg = aggregate.aggregate(
        table, reference, metrics=(*aggregate.METRICS, *report.p_at_r_columns(table))
    )
    report.write_summary(agg, summary_out, reports_dir, reference)
    report.plot_map_vs_bits(agg, reports_dir)
    report.plot_pr_curves(pr_dir, reports_dir)
    report.plot_losses(loss_dir, reports_dir)
    html_report.write_html_report(reports_dir / "report.html", agg, reports_dir, reference, params)
    return agg


def summarize_stage(
    params: dict[str, Any],
    eval_dir: Path,
    pr_dir: Path,
    loss_dir: Path,
    summary_out: Path,
    reports_dir: Path,
) -> None:
    """Gather every eval_<bits>.json over seeds into tables, figures and the HTML report."""
    cfg = load_section(params, "summary", SummaryConfig)
    write_report(eval_dir, pr_dir, loss_dir, summary_out, reports_dir, cfg.reference, params)


@dataclass(frozen=True)
class GridConfig:
    """The retrieval grid picture (params.yaml section ``grid``), like the paper's Fig. 9."""

    bits: int = 32  # code length shown; must be one of base.bits
    method: str = "nrdh"  # whose codes are shown
    queries: int = 8  # random queries (seeded), one row each
    k: int = 10  # results per query


def retrieval_grid_stage(params: dict[str, Any], dataset: str, codes_path: Path, out: Path) -> None:
    """Random queries and their top-k results, correct ones framed green, wrong ones red."""
    cfg = load_section(params, "grid", GridConfig)
    seed = seed_of(params)
    codes = read_codes(codes_path)
    images = load_dataset(dataset_config(params, dataset), seed)
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
