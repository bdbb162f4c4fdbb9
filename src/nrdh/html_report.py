"""One self-contained HTML page of a run: tables, figures, retrieval grids and params, inline.

Figures are embedded as base64 data URIs and the style sheet sits in the page, so the file
opens from disk in any browser with no server and fetches nothing from the network. The
page carries no timestamp: the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from nrdh import aggregate, headline, io
from nrdh.tables import (
    DIAGNOSTICS_NOTE,
    FEATURE_STATS_NOTE,
    diagnostics_table,
    feature_stats_table,
    metric_labels,
    precision_at_recall_table,
    results_table,
)

SECTIONS = (
    "The answer",
    "Results per dataset",
    "mAP@all vs code length",
    "Precision at recall (Table 3)",
    "Precision-recall curves",
    "Training loss",
    "Where NRDH loses its edge",
    "How semantic the features are",
    "Retrieval examples",
    "Parameters",
)


@dataclass(frozen=True)
class Results:
    """What the page reports: the per-seed table (`tables.collect`), its aggregate over
    seeds (`aggregate.aggregate`), the reference method, the notes to read before trusting a
    number (`nrdh.headline`), and the diagnostics and feature measures, if any."""

    table: pd.DataFrame
    agg: pd.DataFrame
    reference: str
    notes: list[str] = field(default_factory=list)
    diag: pd.DataFrame | None = None
    feature_stats: pd.DataFrame | None = None


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
.grids { display: flex; flex-wrap: wrap; gap: 1.5em; }
.grids figure { width: 1000px; max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
.answer li { margin: 0.2em 0; } .warn { color: #8a4b00; }
th[colspan] { text-align: center; }
td.lead { font-weight: bold; background: #e6f4e6 !important; }
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


def _results_html(table: pd.DataFrame, lead: pd.DataFrame) -> str:
    """A results table (`tables.results_table`: columns (bits, metric)) as HTML with a
    two-row header and each column's leader in bold."""
    groups: dict[str, int] = {}
    for top, _ in table.columns:
        groups[top] = groups.get(top, 0) + 1
    head = '<tr><th rowspan="2">method</th>' + "".join(
        f'<th colspan="{n}">{html.escape(top)}</th>' for top, n in groups.items()
    )
    head += "</tr>\n<tr>" + "".join(f"<th>{html.escape(m)}</th>" for _, m in table.columns)
    body = "".join(
        f"<tr><td>{html.escape(str(method))}</td>"
        + "".join(
            f'<td class="lead">{html.escape(v)}</td>'
            if lead.at[method, col]
            else f"<td>{html.escape(v)}</td>"
            for col, v in row.items()
        )
        + "</tr>\n"
        for method, row in table.iterrows()
    )
    return f'<div class="scroll"><table>\n{head}</tr>\n{body}</table></div>'


def _answer(res: Results) -> str:
    """The first section: a sentence per (dataset, bits) on who leads, the seed note, and
    the notes on losses and codes."""
    items = "".join(
        f"<li>{html.escape(s)}</li>" for s in headline.headline_sentences(res.table, res.reference)
    )
    parts = [f'<ul class="answer">{items}</ul>']
    note = headline.seed_note(res.table)
    if note:
        parts.append(f"<p><b>{html.escape(note)}</b></p>")
    else:
        parts.append(f'<p class="note">{html.escape(aggregate.RULE)}</p>')
    if res.notes:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in res.notes)
        parts.append(
            f'<p class="warn">Before trusting these numbers:</p><ul class="warn">{notes}</ul>'
        )
    return "\n".join(parts)


def _results(res: Results) -> str:
    """The second section: one table per dataset, the leader of each column in bold."""
    parts = [
        "<p>Mean over seeds (± sample std and the number of seeds, when there are several); "
        "the leader of each column in bold. mAP@K is mAP over the top K of the Hamming "
        "ranking (the dataset's protocol); P@r&lt;=R is the mean precision of the items "
        "within Hamming radius R (an empty return counts 0).</p>"
    ]
    for ds in sorted(res.agg["dataset"].unique()):
        labels = metric_labels(res.table, ds)
        table, lead = results_table(res.agg, ds, labels, res.reference)
        parts.append(f"<h3>{html.escape(ds)}</h3>" + _results_html(table, lead))
    return "\n".join(parts)


def _yaml(params: dict[str, Any]) -> str:
    """The params as YAML in file order, short lists on one line."""
    return yaml.safe_dump(params, sort_keys=False, default_flow_style=None)


def _section(title: str, *body: str) -> str:
    """One <section> with its heading (one of SECTIONS)."""
    return f"<section>\n<h2>{html.escape(title)}</h2>\n" + "\n".join(body) + "\n</section>"


def render(res: Results, reports_dir: Path, params: dict[str, Any] | None) -> str:
    """The HTML text of the report: the answer first, then the tables, the figures in
    reports_dir, the retrieval grids and the params."""
    reports_dir = Path(reports_dir)
    agg = res.agg
    grids = sorted((reports_dir / "grid").rglob("*.png"))
    pr_table = precision_at_recall_table(agg)
    intro = (
        f"{agg['dataset'].nunique()} dataset(s), {agg['method'].nunique()} method(s), "
        f"code lengths {', '.join(str(b) for b in sorted(agg['bits'].unique()))}, "
        f"up to {int(agg['n'].max())} seed(s) per cell. "
        f"Reference method: <b>{html.escape(res.reference)}</b>."
    )
    sections = [
        _section(SECTIONS[0], _answer(res)),
        _section(SECTIONS[1], _results(res)),
        _section(
            SECTIONS[2],
            _figure(reports_dir / "map_vs_bits.svg", "mAP@all, mean ± std over seeds"),
        ),
        _section(
            SECTIONS[3],
            "<p>Precision at the first rank of the Hamming ranking where recall reaches each "
            "level, mean ± std (n) over seeds.</p>",
            _table(pr_table)
            if pr_table.shape[1] > 3
            else '<p class="note">No precision_at_recall in the metrics files.</p>',
        ),
        _section(
            SECTIONS[4],
            _figure(
                reports_dir / "pr_curves.svg",
                "Hamming-radius PR curves, seeds averaged: recall against the precision of "
                "the queries that retrieve something, from the first radius where half of "
                "the queries do (dot) to all bits",
            ),
        ),
        _section(
            SECTIONS[5],
            _figure(reports_dir / "loss_curves.svg", "training loss, mean ± std over seeds"),
        ),
        _section(
            SECTIONS[6],
            f'<p class="note">{html.escape(DIAGNOSTICS_NOTE)}</p>'
            + _table(diagnostics_table(res.diag))
            if res.diag is not None and len(res.diag)
            else '<p class="note">No diagnostics under metrics/diag (diagnose stage).</p>',
        ),
        _section(
            SECTIONS[7],
            f'<p class="note">{html.escape(FEATURE_STATS_NOTE)}</p>'
            + _table(feature_stats_table(res.feature_stats))
            if res.feature_stats is not None and len(res.feature_stats)
            else '<p class="note">No measures under metrics/features (feature_stats stage).</p>',
        ),
        _section(
            SECTIONS[8],
            '<div class="grids">'
            + "".join(
                _figure(p, str(p.relative_to(reports_dir / "grid").with_suffix(""))) for p in grids
            )
            + "</div>"
            if grids
            else '<p class="note">No retrieval grids under grid/ (retrieval_grid stage).</p>',
        ),
        _section(
            SECTIONS[9],
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
    out: Path, res: Results, reports_dir: Path, params: dict[str, Any] | None = None
) -> None:
    """Write the self-contained report page (see ``render``) to ``out``, as ASCII.

    Characters past ASCII become HTML character references, so no file encoding can garble it.
    """
    text = render(res, reports_dir, params)
    io.write_text(out, text.encode("ascii", "xmlcharrefreplace").decode("ascii"))
