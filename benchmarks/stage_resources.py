"""Per-stage wall time, CPU time and peak memory of a Snakemake build, from its benchmark files.

Every rule of workflow/rules/dvc_stages.smk writes Snakemake's ``benchmark:`` record of each
job beside its log (logs/<rule>/<wildcards>.tsv: wall seconds, peak RSS, CPU seconds). This
sums them per rule into a Markdown table (jobs, total and longest wall time, CPU time, the
largest peak RSS), the figures docs/BENCHMARKS.md records for a run:

    python benchmarks/stage_resources.py [--logs logs] [--out stages.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def load(logs: Path) -> pd.DataFrame:
    """One row per job: its rule (the folder), wildcards (the file stem) and Snakemake's
    benchmark columns."""
    frames = [
        pd.read_csv(tsv, sep="\t").assign(rule=tsv.parent.name, job=tsv.stem)
        for tsv in sorted(logs.glob("*/*.tsv"))
    ]
    if not frames:
        raise SystemExit(f"error: no benchmark files under {logs}/ (run Snakemake first)")
    return pd.concat(frames, ignore_index=True)


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs, wall seconds (sum and longest job), CPU seconds and the largest peak RSS (MB)
    of each rule, longest total first, with a total row."""
    table = jobs.groupby("rule").agg(
        jobs=("job", "size"),
        wall_s=("s", "sum"),
        longest_s=("s", "max"),
        cpu_s=("cpu_time", "sum"),
        peak_rss_mb=("max_rss", "max"),
    )
    table = table.sort_values("wall_s", ascending=False)
    total = table.sum().to_frame("total").T
    total["longest_s"] = table["longest_s"].max()
    total["peak_rss_mb"] = table["peak_rss_mb"].max()
    return pd.concat([table, total]).round(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=Path("logs"), help="the build's log folder")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    text = per_rule(load(args.logs)).to_markdown()
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
