"""The static checks of a workflow with stages and tracks, read off its configurations.

They replace the flat reachability checks (``unreachable-state``, ``trap-state``,
``dead-transition``) with the same codes, found on the configuration graph, and add what
only tracks can get wrong: ``track-never-done`` (a track whose final state no case can
reach), ``stage-never-done`` (a stage whose completion can never happen) and
``tracks-deadlock`` (tracks whose ``in_state`` guards wait on each other, so a case
that could otherwise end cannot).
"""

from __future__ import annotations

from collections.abc import Iterator

from ._configurations import ConfigurationGraph, Node
from ._definition import Workflow
from ._finding import Finding

__all__ = ["staged_findings"]

_SHOWN = 3
"""Configurations a finding names before it says how many more there are."""


def _where(wf: Workflow, nodes: list[Node]) -> str:
    shown = ["(" + ", ".join(wf.tree.path(s) for s in c) + ")" for c, _ in nodes[:_SHOWN]]
    more = len(nodes) - _SHOWN
    return "; ".join(shown) + (f" and {more} more" if more > 0 else "")


def _grouped(wf: Workflow, nodes: set[Node]) -> dict[str, list[Node]]:
    out: dict[str, list[Node]] = {}
    for node in sorted(nodes):
        out.setdefault(wf.tree.state_of(node[0]), []).append(node)
    return out


def _ends(wf: Workflow, graph: ConfigurationGraph) -> Iterator[Finding]:
    tree = wf.tree
    free = graph.can_end(allowed_only=False)
    bound = graph.can_end(allowed_only=True)
    for state, nodes in _grouped(wf, graph.reached - free).items():
        yield Finding(
            "error", "trap-state",
            f"a case in {_where(wf, nodes)} can never reach a terminal state", tree.paths[state],
        )  # fmt: skip
    for state, nodes in _grouped(wf, graph.waiting((graph.reached & free) - bound)).items():
        yield Finding(
            "error", "tracks-deadlock",
            f"in {_where(wf, nodes)} the tracks wait on each other: every way to an end needs"
            " an in_state guard that only a step of another waiting track could make hold",
            tree.paths[state],
        )  # fmt: skip


def _done(wf: Workflow, graph: ConfigurationGraph, active: set[str]) -> Iterator[Finding]:
    tree = wf.tree
    done = graph.done_somewhere()
    never = set()
    for s in wf.all_states:
        parent = tree.parent(s.id)
        if s.id in active and parent and tree.is_parallel(parent) and s.id not in done:
            never.add(parent)
            yield Finding(
                "error", "track-never-done",
                f"track {s.id} of {parent} never reaches a final state, so {parent} is never"
                " done", tree.paths[s.id],
            )  # fmt: skip
    for s in wf.all_states:
        wanted = s.parallel or s.on_done is not None
        if wanted and s.id in active and s.id not in done and s.id not in never:
            yield Finding(
                "error", "stage-never-done",
                f"stage {s.id} is never done: no case reaches its final state"
                + (f", so {s.on_done} never follows" if s.on_done else ""),
                tree.paths[s.id],
            )  # fmt: skip


def staged_findings(wf: Workflow) -> Iterator[Finding]:
    """Every finding of the configuration graph of ``wf``."""
    graph = ConfigurationGraph(wf)
    tree = wf.tree
    if not graph.complete:
        yield Finding(
            "info", "configurations-partly-checked",
            f"the tracks allow more configurations than the checks walk; the first"
            f" {len(graph.reached)} were checked", "states",
        )  # fmt: skip
    active = graph.active_somewhere()
    for s in wf.all_states:
        if s.id not in active:
            yield Finding(
                "error", "unreachable-state",
                f"no path leads from {wf.initial} to {s.id}", tree.paths[s.id],
            )  # fmt: skip
    if not any(s.terminal for s in wf.all_states):
        yield Finding(
            "error", "no-terminal-state", "no state is terminal: no case can end", "states"
        )
    else:
        yield from _ends(wf, graph)
    yield from _done(wf, graph, active)
    taken = graph.taken()
    for i, t in enumerate(wf.transitions):
        if i not in taken:
            yield Finding(
                "error", "dead-transition",
                f"{t.event} can never fire: no configuration a case can reach allows it"
                f" ({' or '.join(t.source)} active, with what in_state guards and"
                " completion ask)",
                f"transitions[{i}].source",
            )  # fmt: skip
