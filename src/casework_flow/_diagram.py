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
from ._definition import State, Transition, Workflow
from ._guards import ALWAYS
from ._tree import ROOT

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


def _edges_by_block(workflow: Workflow) -> dict[str, list[tuple[Transition, str, str]]]:
    """Each edge filed under the innermost stage holding both ends (`ROOT`: the top)."""
    tree = workflow.tree
    out: dict[str, list[tuple[Transition, str, str]]] = {}
    for t in workflow.transitions:
        for src in t.source:
            dst = t.dest or src
            block = ROOT
            for up in tree.ancestors(src):
                if tree.is_within(dst, up) and not tree.is_parallel(up):
                    block = up
                    break
            out.setdefault(block, []).append((t, src, dst))
    return out


class _Mermaid:
    """One Mermaid diagram, stages drawn as composite states and tracks split by ``--``."""

    def __init__(self, workflow: Workflow, locale: str, trail: Sequence[AuditEntry] | None) -> None:
        self.workflow = workflow
        self.locale = locale
        self.steps, self.visited = _taken(trail)
        self.edges = _edges_by_block(workflow)
        self.lines: list[str] = []

    def block(self, stage: str, states: Sequence[State], initial: str | None, pad: str) -> None:
        for s in states:
            self.lines.append(f'{pad}state "{_mermaid(s.label(self.locale))}" as {s.id}')
        if initial is not None:
            self.lines.append(f"{pad}[*] --> {initial}")
        for s in states:
            if s.states:
                self.lines.append(f"{pad}state {s.id} {{")
                if s.parallel:
                    for i, track in enumerate(s.states):
                        if i:
                            self.lines.append(f"{pad}    --")
                        self.block(s.id, [track], None, pad + "    ")
                else:
                    self.block(s.id, s.states, s.initial, pad + "    ")
                self.lines.append(f"{pad}}}")
        for t, src, dst in self.edges.get(stage, ()):
            label = " · ".join(_mermaid(p) for p in _edge_text(t, self.locale))
            taken = self.steps.get((src, t.event, dst))
            if taken:
                label += f" (steps {', '.join(map(str, taken))})"
            self.lines.append(f"{pad}{src} --> {dst} : {label}")
        self.lines += [f"{pad}{s.id} --> [*]" for s in states if s.terminal or s.final]


def to_mermaid(
    workflow: Workflow, *, locale: str = "en", trail: Sequence[AuditEntry] | None = None
) -> str:
    """Draw the workflow as a Mermaid state diagram (optionally with one case's path).

    A stage is a composite state; the tracks of a parallel stage are its concurrent
    regions, separated by ``--``.
    """
    drawing = _Mermaid(workflow, locale, trail)
    drawing.lines += ["stateDiagram-v2", f"    %% {workflow.name} v{workflow.version}"]
    drawing.block(ROOT, workflow.states, workflow.initial, "    ")
    lines, visited = drawing.lines, drawing.visited
    terminals = [s.id for s in workflow.all_states if s.terminal]
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


def _dot_states(
    workflow: Workflow, states: Sequence[State], locale: str, visited: list[str], pad: str
) -> list[str]:
    lines = []
    for s in states:
        if s.states:
            style = "dashed" if workflow.tree.is_parallel(workflow.tree.parent(s.id)) else "rounded"
            lines += [
                f"{pad}subgraph {_dot('cluster_' + s.id)} {{",
                f"{pad}    label={_dot(s.label(locale))}; style={_dot(style)};",
                f'{pad}    {_dot(s.id)} [shape=point, width=0.12, label=""];',
                *_dot_states(workflow, s.states, locale, visited, pad + "    "),
                f"{pad}}}",
            ]
            continue
        attrs = [f"label={_dot(s.label(locale))}"]
        if s.terminal or s.final:
            attrs.append("peripheries=2")
        if visited and s.id == visited[-1]:
            attrs.append('style="rounded,filled", fillcolor="#1d4ed8", fontcolor="white"')
        elif s.id in visited:
            attrs.append('style="rounded,filled", fillcolor="#dbeafe"')
        lines.append(f"{pad}{_dot(s.id)} [{', '.join(attrs)}];")
    return lines


def to_dot(
    workflow: Workflow, *, locale: str = "en", trail: Sequence[AuditEntry] | None = None
) -> str:
    """Draw the workflow as a Graphviz DOT digraph (optionally with one case's path).

    A stage is a cluster with a point where it is entered; an edge to or from a stage
    ends at the cluster's border. The tracks of a parallel stage are dashed clusters.
    """
    steps, visited = _taken(trail)
    lines = [
        f"digraph {_dot(f'{workflow.name} v{workflow.version}')} {{",
        "    rankdir=LR;",
        "    compound=true;",
        '    node [shape=box, style="rounded", fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    "__start" [shape=point, width=0.15, label=""];',
    ]
    lines += _dot_states(workflow, workflow.states, locale, visited, "    ")
    lines.append(f'    "__start" -> {_dot(workflow.initial)};')
    stages = {s.id for s in workflow.all_states if s.states}
    for t in workflow.transitions:
        for src in t.source:
            dst = t.dest or src
            label = "\n".join(_edge_text(t, locale))
            attrs = [f"label={_dot(label)}"]
            taken = steps.get((src, t.event, dst))
            if taken:
                attrs[0] = f"label={_dot(label + chr(10) + 'steps ' + ', '.join(map(str, taken)))}"
                attrs.append('color="#1d4ed8", penwidth=2.5')
            if src in stages and src != dst:
                attrs.append(f"ltail={_dot('cluster_' + src)}")
            if dst in stages and src != dst:
                attrs.append(f"lhead={_dot('cluster_' + dst)}")
            lines.append(f"    {_dot(src)} -> {_dot(dst)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
