"""Diagrams of a workflow: Mermaid ``stateDiagram-v2`` and Graphviz DOT.

States show their label in the chosen locale, edges their event label, the roles allowed
and the guard's formula; terminal states are marked. Given a case's trail, the diagram
also draws the case's path: the states it visited and, on each edge it took, the step
numbers. Mermaid needs nothing installed; DOT is text that Graphviz renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ._audit import AuditEntry, EntryKind
from ._definition import Transition, Workflow
from ._guards import ALWAYS

__all__ = ["to_dot", "to_mermaid"]

_MERMAID_ESCAPES: Final = {
    '"': "#quot;",
    ";": "#59;",
    "#": "#35;",
    "<": "#lt;",
    ">": "#gt;",
    ":": "#58;",
    "{": "#123;",
    "}": "#125;",
}


def _taken(
    trail: Sequence[AuditEntry] | None,
) -> tuple[dict[tuple[str, str, str], list[int]], list[str]]:
    steps: dict[tuple[str, str, str], list[int]] = {}
    visited: list[str] = []
    for e in trail or ():
        if e.kind is EntryKind.OPENED:
            visited.append(e.to_state)
        elif e.kind is EntryKind.TRANSITION and e.from_state is not None:
            steps.setdefault((e.from_state, e.event, e.to_state), []).append(e.seq)
            visited.append(e.to_state)
    return steps, visited


def _edge_text(t: Transition, locale: str) -> list[str]:
    parts = [t.label(locale) if t.labels else t.event]
    if t.roles:
        parts.append("[" + ", ".join(sorted(t.roles)) + "]")
    if t.guard is not ALWAYS:
        parts.append("if " + t.guard.text)
    return parts


def _mermaid(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in " ".join(text.split()))


def to_mermaid(
    workflow: Workflow, *, locale: str = "en", trail: Sequence[AuditEntry] | None = None
) -> str:
    """Draw the workflow as a Mermaid state diagram (optionally with one case's path)."""
    steps, visited = _taken(trail)
    lines = ["stateDiagram-v2", f"    %% {workflow.name} v{workflow.version}"]
    lines += [f'    state "{_mermaid(s.label(locale))}" as {s.id}' for s in workflow.states]
    lines.append(f"    [*] --> {workflow.initial}")
    for t in workflow.transitions:
        for src in t.source:
            dst = t.dest or src
            label = " · ".join(_mermaid(p) for p in _edge_text(t, locale))
            taken = steps.get((src, t.event, dst))
            if taken:
                label += f" (steps {', '.join(map(str, taken))})"
            lines.append(f"    {src} --> {dst} : {label}")
    terminals = [s.id for s in workflow.states if s.terminal]
    lines += [f"    {s} --> [*]" for s in terminals]
    if terminals:
        lines.append("    classDef terminal font-weight:bold,stroke-width:3px")
        lines.append(f"    class {','.join(terminals)} terminal")
    if visited:
        lines.append("    classDef visited fill:#dbeafe,stroke:#1d4ed8")
        lines.append("    classDef current fill:#1d4ed8,color:#ffffff")
        earlier = sorted(set(visited) - {visited[-1]})
        if earlier:
            lines.append(f"    class {','.join(earlier)} visited")
        lines.append(f"    class {visited[-1]} current")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(
    workflow: Workflow, *, locale: str = "en", trail: Sequence[AuditEntry] | None = None
) -> str:
    """Draw the workflow as a Graphviz DOT digraph (optionally with one case's path)."""
    steps, visited = _taken(trail)
    lines = [
        f"digraph {_dot(f'{workflow.name} v{workflow.version}')} {{",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded", fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    "__start" [shape=point, width=0.15, label=""];',
    ]
    for s in workflow.states:
        attrs = [f"label={_dot(s.label(locale))}"]
        if s.terminal:
            attrs.append("peripheries=2")
        if visited and s.id == visited[-1]:
            attrs.append('style="rounded,filled", fillcolor="#1d4ed8", fontcolor="white"')
        elif s.id in visited:
            attrs.append('style="rounded,filled", fillcolor="#dbeafe"')
        lines.append(f"    {_dot(s.id)} [{', '.join(attrs)}];")
    lines.append(f'    "__start" -> {_dot(workflow.initial)};')
    for t in workflow.transitions:
        for src in t.source:
            dst = t.dest or src
            label = "\n".join(_edge_text(t, locale))
            attrs = [f"label={_dot(label)}"]
            taken = steps.get((src, t.event, dst))
            if taken:
                attrs[0] = f"label={_dot(label + chr(10) + 'steps ' + ', '.join(map(str, taken)))}"
                attrs.append('color="#1d4ed8", penwidth=2.5')
            lines.append(f"    {_dot(src)} -> {_dot(dst)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
