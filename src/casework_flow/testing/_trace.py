"""The traceability matrix: each requirement, what enforces it, what checks it, what tested it.

An accreditation or an audit asks of each rule of a policy where the system enforces it
and how anyone knows it works. `trace` answers from three sources: the workflow (the
requirements it declares, and the states and transitions that name them), the
properties (the rules over time that carry their ids) and a recording of kit runs (the
tests whose trails exercised each property: see `casework_flow.testing.recording`). It
lists, besides, the requirements that nothing enforces, that no property checks and
that no test exercised.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from attrs import frozen

from .._definition import Workflow
from .._guard_base import Guard, Traced, walk
from .._requirements import Requirement
from ._coverage import _label
from ._temporal import Property

__all__ = ["TraceRow", "Traceability", "trace"]

_UNDECLARED = "(not declared in the workflow)"


@frozen
class TraceRow:
    """One requirement and what enforces, checks and tested it."""

    requirement: Requirement
    enforced_by: tuple[str, ...]
    checked_by: tuple[str, ...]
    tested_by: tuple[str, ...]


@frozen
class Traceability:
    """The matrix of one workflow (``name@version``), a row per requirement."""

    workflow: str
    rows: tuple[TraceRow, ...]

    @property
    def unenforced(self) -> tuple[str, ...]:
        """Requirements no state or transition names."""
        return tuple(r.requirement.id for r in self.rows if not r.enforced_by)

    @property
    def unchecked(self) -> tuple[str, ...]:
        """Requirements no property carries."""
        return tuple(r.requirement.id for r in self.rows if not r.checked_by)

    @property
    def untested(self) -> tuple[str, ...]:
        """Requirements whose properties no recorded test exercised."""
        return tuple(r.requirement.id for r in self.rows if not r.tested_by)

    def _gaps(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            ("Enforced by nothing", self.unenforced),
            ("Checked by no property", self.unchecked),
            ("Tested by nothing", self.untested),
        ]

    def markdown(self) -> str:
        """The matrix as a Markdown table, then the gaps."""

        def cell(items: Sequence[str]) -> str:
            return "<br>".join(i.replace("|", "\\|") for i in items) or "—"

        lines = [
            f"Requirements of `{self.workflow}`:",
            "",
            "| requirement | what it asks | enforced by | checked by | tested by |",
            "|---|---|---|---|---|",
        ]
        for row in self.rows:
            r = row.requirement
            asks = r.title + (f" ({r.source})" if r.source else "")
            lines.append(
                f"| `{r.id}` | {cell([asks])} | {cell(row.enforced_by)} |"
                f" {cell(row.checked_by)} | {cell(row.tested_by)} |"
            )
        lines.append("")
        for title, ids in self._gaps():
            lines.append(f"{title}: " + (", ".join(f"`{i}`" for i in ids) if ids else "none."))
            lines.append("")
        return "\n".join(lines[:-1])

    def html(self) -> str:
        """The matrix as a self-contained HTML page."""
        esc = html.escape

        def cell(items: Sequence[str]) -> str:
            return "<br>".join(esc(i) for i in items) or '<span class="gap">none</span>'

        parts = [
            "<!doctype html><html lang=en><head><meta charset=utf-8>",
            f"<title>Requirements of {esc(self.workflow)}</title><style>",
            "body{font:15px/1.4 system-ui,sans-serif;margin:2em}",
            "td,th{padding:.3em .6em;text-align:left;vertical-align:top}",
            "td,th{border-bottom:1px solid #ddd}.gap{color:#a00}</style></head><body>",
            f"<h1>Requirements of {esc(self.workflow)}</h1><table>",
            "<tr><th>requirement</th><th>what it asks</th><th>enforced by</th>",
            "<th>checked by</th><th>tested by</th></tr>",
        ]
        for row in self.rows:
            r = row.requirement
            asks = esc(r.title) + (f"<br><small>{esc(r.source)}</small>" if r.source else "")
            parts.append(
                f"<tr><td><code>{esc(r.id)}</code></td><td>{asks}</td>"
                f"<td>{cell(row.enforced_by)}</td><td>{cell(row.checked_by)}</td>"
                f"<td>{cell(row.tested_by)}</td></tr>"
            )
        parts.append("</table>")
        for title, ids in self._gaps():
            parts.append(f"<p>{esc(title)}: {esc(', '.join(ids)) if ids else 'none.'}</p>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.markdown()


def _enforcing(workflow: Workflow) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in workflow.all_states:
        for rid in s.requirements:
            out.setdefault(rid, []).append(f"state {s.id}")
        _tagged(out, f"state {s.id}, invariant", s.invariant)
    for t in workflow.transitions:
        for rid in t.requirements:
            out.setdefault(rid, []).append(f"transition {_label(t)}")
        for part in ("guard", "pre", "post"):
            _tagged(out, f"transition {_label(t)}, {part}", getattr(t, part))
    return out


def _tagged(out: dict[str, list[str]], where: str, guard: Guard) -> None:
    """Note each part of ``guard`` marked as enforcing requirements (`Traced`), by id."""
    for g in walk(guard):
        if isinstance(g, Traced):
            for rid in g.requirements:
                out.setdefault(rid, []).append(f"{where} {g.text}")


def trace(
    workflow: Workflow,
    properties: Iterable[Property] = (),
    *,
    tested: Mapping[str, Iterable[str]] | None = None,
) -> Traceability:
    """The traceability matrix of ``workflow``.

    Args:
        workflow: Its declared requirements, and the states and transitions naming them.
        properties: The rules over time that check requirements (by their ids).
        tested: For each requirement id, what exercised it: the test ids a
            `Recorder.exercised` gives (or any names, such as ``explore (depth 12)``).

    Returns:
        A `Traceability` matrix: a row per requirement, declared ones first, then ids that only a
        property names (marked as not declared).
    """
    props = [p for p in properties if isinstance(p, Property)]
    declared: dict[str, Requirement] = dict(workflow.requirements)
    for p in props:
        for rid in p.requirements:
            declared.setdefault(rid, Requirement(rid, _UNDECLARED))
    enforcing = _enforcing(workflow)
    for rid in enforcing:
        declared.setdefault(rid, Requirement(rid, _UNDECLARED))
    rows = [
        TraceRow(
            r,
            tuple(enforcing.get(rid, ())),
            tuple(dict.fromkeys(p.text for p in props if rid in p.requirements)),
            tuple(dict.fromkeys((tested or {}).get(rid, ()))),
        )
        for rid, r in declared.items()
    ]
    return Traceability(f"{workflow.name}@{workflow.version}", tuple(rows))
