"""The report as one HTML page with charts, for a supervisor who would rather look than read.

Self-contained: no script, no stylesheet or font from elsewhere, the charts drawn as
inline SVG. Five charts (median and 90th percentile days in each state and in each
stage, cases opened and closed per month, refusal, override and reopen rates by unit,
the share of each state's deadlines met), each followed by its table. Every text is
escaped; the report holds no personal value to begin with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Final

from ._reports import Report

__all__ = ["report_page"]

_DAY: Final = 86_400.0
_BAR: Final = 16
_WIDTH: Final = 640
_LABEL_LINE: Final = 16
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2733; max-width: 60rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin-top: .75rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #d5dbe1; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg text { font-size: 12px; fill: #1d2733; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }
"""
_COLOURS: Final = ("#2f6f9f", "#e0913a", "#5a9e57")


def _bars(
    chart_id: str, rows: Sequence[tuple[str, Sequence[float]]], unit: str, series: Sequence[str]
) -> str:
    """Horizontal bars: one group per row (its label above), one bar per series value."""
    top = max((v for _, values in rows for v in values), default=0.0) or 1.0
    per_row = _LABEL_LINE + _BAR * len(series) + 8
    height = per_row * len(rows) + 4
    parts = [f'<svg id="{chart_id}" role="img" width="{_WIDTH + 80}" height="{height}">']
    for i, (label, values) in enumerate(rows):
        y = i * per_row
        parts.append(f'<text x="0" y="{y + 12}" class="label">{escape(label)}</text>')
        for j, value in enumerate(values):
            width = max(1.0, _WIDTH * value / top)
            by = y + _LABEL_LINE + j * _BAR
            parts.append(
                f'<rect class="bar" data-series="{escape(series[j])}" x="0" y="{by}"'
                f' width="{width:.1f}" height="{_BAR - 3}" fill="{_COLOURS[j % 3]}">'
                f"<title>{escape(label)}, {escape(series[j])}: {value:.2f} {unit}</title></rect>"
            )
            parts.append(f'<text x="{width + 4:.1f}" y="{by + _BAR - 6}">{value:.1f}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span style="background:{_COLOURS[j % 3]}"></span>{escape(s)}'
        for j, s in enumerate(series)
    )
    return f'<p class="legend">{legend} ({escape(unit)})</p>' + "".join(parts)


def _table(rows: Sequence[dict[str, object]]) -> str:
    if not rows:
        return "<p>Nothing in this period.</p>"
    head = "".join(f"<th>{escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_text(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _where(workflow: str, version: int, unit: str | None) -> str:
    return f"{workflow} v{version} · {unit or 'no unit'}"


def report_page(report: Report, *, title: str = "Casework report") -> str:
    """The report as a complete HTML page."""
    times, stages = (
        [
            (f"{t.state} ({_where(t.workflow, t.version, t.unit)})",
             (t.median.total_seconds() / _DAY, t.p90.total_seconds() / _DAY))
            for t in table
        ]
        for table in (report.time_in_state, report.time_in_stage)
    )  # fmt: skip
    months: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for p in report.periods:
        months[p.period][0] += p.opened
        months[p.period][1] += p.closed
    rates = [
        (_where(r.workflow, r.version, r.unit),
         tuple(100 * (x or 0.0) for x in (r.refusal_rate, r.override_rate, r.reopen_rate)))
        for r in report.rates
    ]  # fmt: skip
    met = [
        (f"{d.state} ({_where(d.workflow, d.version, d.unit)})", (100 * (d.compliance or 0.0),))
        for d in report.deadlines
    ]
    sections = [
        ("Time in each state", _bars("time-in-state", times, "days", ("median", "90th percentile")),
         report.rows("time_in_state")),
        ("Time in each stage",
         _bars("time-in-stage", stages, "days", ("median", "90th percentile")),
         report.rows("time_in_stage")),
        ("Cases opened and closed per month",
         _bars("per-month", sorted(months.items()), "cases", ("opened", "closed")),
         report.rows("periods")),
        ("Refusals, consent overrides and reopenings",
         _bars("rates", rates, "%", ("refusal rate", "override rate", "reopen rate")),
         report.rows("rates")),
        ("Deadlines met", _bars("deadlines", met, "%", ("met",)), report.rows("deadlines")),
    ]  # fmt: skip
    body = "".join(
        f"<section><h2>{escape(heading)}</h2>{chart}{_table(rows)}</section>"
        for heading, chart, rows in sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )
