"""The summary stage: one table over datasets, methods and code lengths, and the figures."""

from __future__ import annotations

from pathlib import Path

from nrdh import report


def summarize_stage(
    eval_dir: Path, pr_dir: Path, loss_dir: Path, summary_out: Path, reports_dir: Path
) -> None:
    """Gather every eval_<bits>.json into one table and the paper-style figures."""
    table = report.collect(eval_dir)
    report.write_summary(table, summary_out, reports_dir)
    report.plot_map_vs_bits(table, reports_dir)
    report.plot_pr_curves(pr_dir, reports_dir)
    report.plot_losses(loss_dir, reports_dir)
