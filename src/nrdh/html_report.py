"""One self-contained HTML page of a run: tables, figures, retrieval grids and params, inline.

Figures are embedded as base64 data URIs and the style sheet sits in the page, so the file
opens from disk in any browser with no server and fetches nothing from the network. The
page carries no timestamp: the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from nrdh import aggregate, io
from nrdh.report import (
    DIAGNOSTICS_NOTE,
    FEATURE_STATS_NOTE,
    comparison_table,
    diagnostics_table,
    feature_stats_table,
    precision_at_recall_table,
)

SECTIONS = (
    "Comparison over seeds",
    "mAP@all vs code length",
    "Precision at recall (Table 3)",
    "Precision-recall curves",
    "Training loss",
    "Where NRDH loses its edge",
    "How semantic the features are",
    "Retrieval examples",
    "Parameters",
)
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; } td:nth-child(-n+2) { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
.grids { display: flex; flex-wrap: wrap; gap: 1.5em; } .grids figure { width: 640px; }
.note { color: #555; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
"""
_MIME = {".svg": "image/svg+xml", ".png": "image/png"}


def _figure(path: Path, caption: str) -> str:
    """An <img> with the file inlined as a data URI, or a note when the file is missing."""
    if not path.is_file():
        return f'<p class="note">{html.escape(str(path))} not found.</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:{_MIME[path.suffix]};base64,{data}" '
        f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
    )


def _table(df: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table in a horizontally scrolling box."""
    return f'<div class="scroll">{df.to_html(index=False, border=0, na_rep="")}</div>'


def _yaml(params: dict[str, Any]) -> str:
    """The params as YAML in file order, short lists on one line."""
    return yaml.safe_dump(params, sort_keys=False, default_flow_style=None)


def _section(title: str, *body: str) -> str:
    """One <section> with its heading (one of SECTIONS)."""
    return f"<section>\n<h2>{html.escape(title)}</h2>\n" + "\n".join(body) + "\n</section>"


def render(
    agg: pd.DataFrame,
    reports_dir: Path,
    reference: str,
    params: dict[str, Any] | None,
    diag: pd.DataFrame | None = None,
    feature_stats: pd.DataFrame | None = None,
) -> str:
    """The HTML text of the report over the aggregated table and the figures in reports_dir."""
    reports_dir = Path(reports_dir)
    grids = sorted((reports_dir / "grid").rglob("*.png"))
    pr_table = precision_at_recall_table(agg)
    seeds = int(agg["n"].max())
    intro = (
        f"{agg['dataset'].nunique()} dataset(s), {agg['method'].nunique()} method(s), "
        f"code lengths {', '.join(str(b) for b in sorted(agg['bits'].unique()))}, "
        f"up to {seeds} seed(s) per cell. Reference method: <b>{html.escape(reference)}</b>."
    )
    sections = [
        _section(
            SECTIONS[0],
            "<p>mAP@all as mean ± sample std (n seeds); the columns “vs "
            f"{html.escape(reference)}” give the mean paired difference and its mark.</p>",
            f'<p class="note">{html.escape(aggregate.RULE)}</p>',
            _table(comparison_table(agg, reference)),
        ),
        _section(
            SECTIONS[1],
            _figure(reports_dir / "map_vs_bits.svg", "mAP@all, mean ± std over seeds"),
        ),
        _section(
            SECTIONS[2],
            "<p>Precision at the first rank of the Hamming ranking where recall reaches each "
            "level, mean ± std (n) over seeds.</p>",
            _table(pr_table)
            if pr_table.shape[1] > 3
            else '<p class="note">No precision_at_recall in the metrics files.</p>',
        ),
        _section(
            SECTIONS[3],
            _figure(reports_dir / "pr_curves.svg", "Hamming-radius PR curves, seeds averaged"),
        ),
        _section(
            SECTIONS[4],
            _figure(reports_dir / "loss_curves.svg", "training loss, mean ± std over seeds"),
        ),
        _section(
            SECTIONS[5],
            f'<p class="note">{html.escape(DIAGNOSTICS_NOTE)}</p>' + _table(diagnostics_table(diag))
            if diag is not None and len(diag)
            else '<p class="note">No diagnostics under metrics/diag (diagnose stage).</p>',
        ),
        _section(
            SECTIONS[6],
            f'<p class="note">{html.escape(FEATURE_STATS_NOTE)}</p>'
            + _table(feature_stats_table(feature_stats))
            if feature_stats is not None and len(feature_stats)
            else '<p class="note">No measures under metrics/features (feature_stats stage).</p>',
        ),
        _section(
            SECTIONS[7],
            '<div class="grids">'
            + "".join(
                _figure(p, str(p.relative_to(reports_dir / "grid").with_suffix(""))) for p in grids
            )
            + "</div>"
            if grids
            else '<p class="note">No retrieval grids under grid/ (retrieval_grid stage).</p>',
        ),
        _section(
            SECTIONS[8],
            f"<pre>{html.escape(_yaml(params))}</pre>"
            if params
            else '<p class="note">No params given.</p>',
        ),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>NRDH report</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<h1>NRDH retrieval report</h1>\n"
        f"<p>{intro}</p>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def write_html_report(
    out: Path,
    agg: pd.DataFrame,
    reports_dir: Path,
    reference: str,
    params: dict[str, Any] | None = None,
    diag: pd.DataFrame | None = None,
    feature_stats: pd.DataFrame | None = None,
) -> None:
    """Write the self-contained report page (see ``render``) to ``out``, as ASCII.

    Characters past ASCII become HTML character references, so no file encoding can garble it.
    """
    text = render(agg, reports_dir, reference, params, diag, feature_stats)
    io.write_text(out, text.encode("ascii", "xmlcharrefreplace").decode("ascii"))
