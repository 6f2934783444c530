"""The graph of a staged workflow's configurations, and what the static checks read off it.

A flat workflow's checks walk its states; a workflow with tracks must walk its
configurations (one state per active track, with the history of the stages left), since
"can this case ever end" depends on every track at once. Guards are ignored, as in the
flat checks, except ``in_state``: it reads only the configuration, so each edge is known
to be allowed or not. A configuration reached by allowed edges that could end if every
edge were allowed, but not by allowed edges alone, is where tracks wait on each other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import TypeVar

from ._compiled import moved_to
from ._definition import Workflow
from ._guard_base import AllOf, AnyOf, Guard, Not, untraced
from ._guards import InState

__all__ = ["ConfigurationGraph", "Node", "allowed_by_configuration", "closure"]

T = TypeVar("T")

Node = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]
"""A configuration and the history of the stages left (sorted pairs)."""

_LIMIT = 20_000
"""Nodes the static checks walk at most (a bigger space is reported as partly walked)."""


def closure(start: set[T], step: Mapping[T, set[T]]) -> set[T]:
    """Everything reached from ``start`` by following ``step`` (breadth first)."""
    seen = set(start)
    todo = deque(start)
    while todo:
        for nxt in step.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def allowed_by_configuration(guard: Guard, active: frozenset[str]) -> bool:
    """False only when the guard's ``in_state`` parts alone make it fail in ``active``."""
    guard = untraced(guard)
    if isinstance(guard, InState):
        return guard.state in active
    if isinstance(guard, AllOf):
        return all(allowed_by_configuration(g, active) for g in guard.parts)
    if isinstance(guard, AnyOf):
        return any(allowed_by_configuration(g, active) for g in guard.parts)
    if isinstance(guard, Not) and isinstance(guard.inner, InState):
        return guard.inner.state not in active
    return True


class _Probe:
    """What `moved_to` reads of a case: its configuration and history."""

    __slots__ = ("configuration", "history")

    def __init__(self, configuration: tuple[str, ...], history: Mapping[str, str]) -> None:
        self.configuration = configuration
        self.history = history


class ConfigurationGraph:
    """Every node a case can reach, guards ignored but for ``in_state``.

    Attributes:
        reached: The nodes reached from the initial one by edges ``in_state`` allows
            (past the walk's limit, those it walked from).
        complete: Whether the walk saw every node (False past its limit).
    """

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._tree = workflow.tree
        self._index = {id(t): i for i, t in enumerate(workflow.transitions)}
        self.complete = True
        self._edges: dict[Node, list[tuple[Node, bool, bool, int]]] = {}
        start: Node = (workflow.initial_configuration, ())
        self._walk(start)
        reached = self._closure({start}, forward=True, allowed_only=True)
        self.reached = reached if self.complete else reached & self._edges.keys()

    def _next(self, node: Node) -> list[tuple[Node, bool, bool, int]]:
        """Each node one step on, with what allows the step and the transition's index.

        Two flags say whether the ``in_state`` guards allow the step and whether the
        stage it completes is done (always true for a step that completes none).
        """
        wf, tree = self.workflow, self._tree
        configuration, pairs = node
        history = dict(pairs)
        active = tree.active(configuration)
        probe = _Probe(configuration, history)
        out = []
        for event in wf.events:
            for t in wf.candidates_in(configuration, event):
                after = moved_to(wf, probe, t)  # type: ignore[arg-type]
                remembered = tree.remembered(configuration, after, history)
                done = wf.completes(t)
                guarded = allowed_by_configuration(t.guard, active)
                ready = done is None or tree.is_done(done, active)
                node_after = (after, tuple(sorted(remembered.items())))
                out.append((node_after, guarded, ready, self._index[id(t)]))
        return out

    def _walk(self, start: Node) -> None:
        seen = {start}
        todo = deque([start])
        while todo:
            here = todo.popleft()
            self._edges[here] = edges = self._next(here)
            for after, *_ in edges:
                if after in seen:
                    continue
                if len(seen) >= _LIMIT:
                    self.complete = False
                    continue
                seen.add(after)
                todo.append(after)

    def _closure(self, start: set[Node], *, forward: bool, allowed_only: bool) -> set[Node]:
        step: dict[Node, set[Node]] = {}
        for here, edges in self._edges.items():
            for after, guarded, ready, _ in edges:
                if ready and (guarded or not allowed_only):
                    a, b = (here, after) if forward else (after, here)
                    step.setdefault(a, set()).add(b)
        return closure(start, step)

    def ended(self) -> set[Node]:
        """Walked nodes in a terminal state."""
        return {n for n in self._edges if self.workflow.state(n[0][0]).terminal}

    def can_end(self, *, allowed_only: bool) -> set[Node]:
        """Walked nodes from which a terminal one can be reached.

        With ``allowed_only`` by steps their ``in_state`` guards allow; otherwise with
        those guards ignored.
        """
        return self._closure(self.ended(), forward=False, allowed_only=allowed_only)

    def active_somewhere(self) -> set[str]:
        """Every state active in some reached node."""
        return {s for c, _ in self.reached for s in self._tree.active(c)}

    def taken(self) -> set[int]:
        """Indexes of the transitions some reached node can take."""
        return {i for n in self.reached for _, g, r, i in self._edges[n] if g and r}

    def waiting(self, bad: set[Node]) -> set[Node]:
        """The nodes of ``bad`` held there by ``in_state`` guards.

        Every step allowed from them stays in ``bad``, and some step is blocked by such
        a guard.
        """
        out = set()
        for n in bad:
            edges = self._edges[n]
            blocked = any(r and not g for _, g, r, _ in edges)
            if blocked and all(a in bad for a, g, r, _ in edges if g and r):
                out.add(n)
        return out

    def done_somewhere(self) -> set[str]:
        """Every stage done in some reached node."""
        out: set[str] = set()
        for c, _ in self.reached:
            active = self._tree.active(c)
            out.update(
                s for s in active if self._tree.children(s) and self._tree.is_done(s, active)
            )
        return out
