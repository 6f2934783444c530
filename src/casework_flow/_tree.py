"""The tree of a workflow's states: stages, tracks, and where a step leaves a case.

A state may hold states (a *stage*, with an ``initial`` child) or hold *tracks*
(``parallel``: every child is active at once, each with a state of its own). A case is
then in a *configuration*: one innermost (atomic) state per active track, in document
order. `StateTree` answers what the core needs of that tree, following W3C SCXML
(section 3.13, "Selecting and Executing Transitions") where the library has a rule to
follow:

- a transition is *external*: it leaves every active state below the transition's
  domain, the least compound ancestor of its source and target (SCXML's LCCA), and
  enters the target, its ancestors below the domain, and by default the rest: a
  stage's initial child (or, for a stage with ``history``, the child it was last left
  in: SCXML's shallow history), every track of a parallel stage;
- a stage is *done* when its active child is final; a parallel stage when each of its
  tracks is (SCXML's ``done.state.id``).

The tree is built once per workflow version and is pure: configurations are tuples of
state ids, history is a mapping from stage to child.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._parts import State

__all__ = ["ROOT", "StateTree"]

_REMEMBERED: Final = 4096
"""Configurations whose active states a tree keeps worked out (a workflow has few)."""

ROOT: Final = ""
"""The tree's root: the workflow itself, a stage holding the top-level states."""


class StateTree:
    """Parents, children and document order of every state of one workflow version.

    Attributes:
        staged: Whether any state holds states (a flat workflow has only leaves).
        paths: Each state's place in the definition (``states[2].states[0]``).
    """

    __slots__ = (
        "_active",
        "_by_id",
        "_children",
        "_depth",
        "_order",
        "_parent",
        "paths",
        "staged",
    )

    def __init__(self, roots: Sequence[State]) -> None:
        self._by_id: dict[str, State] = {}
        self._parent: dict[str, str] = {}
        self._children: dict[str, tuple[str, ...]] = {ROOT: tuple(s.id for s in roots)}
        self._depth: dict[str, int] = {ROOT: 0}
        self._order: dict[str, int] = {}
        self.paths: dict[str, str] = {}
        self._active: dict[tuple[str, ...], frozenset[str]] = {}
        stack = [(s, ROOT, f"states[{i}]") for i, s in reversed(list(enumerate(roots)))]
        while stack:
            state, parent, path = stack.pop()
            if state.id in self._by_id:
                continue
            self._by_id[state.id] = state
            self._parent[state.id] = parent
            self._depth[state.id] = self._depth[parent] + 1
            self._order[state.id] = len(self._order)
            self.paths[state.id] = path
            self._children[state.id] = tuple(c.id for c in state.states)
            stack += [
                (c, state.id, f"{path}.states[{j}]")
                for j, c in reversed(list(enumerate(state.states)))
            ]
        self.staged = any(s.states for s in self._by_id.values())

    def states(self) -> tuple[State, ...]:
        """Every state, in document order (each stage before the states it holds)."""
        return tuple(self._by_id.values())

    def parent(self, state: str) -> str:
        """The stage holding ``state`` (`ROOT` for a top-level state)."""
        return self._parent[state]

    def children(self, state: str) -> tuple[str, ...]:
        """The states ``state`` holds, in document order."""
        return self._children[state]

    def depth(self, state: str) -> int:
        """1 for a top-level state, one more per stage around it."""
        return self._depth[state]

    def is_parallel(self, state: str) -> bool:
        """Whether ``state`` holds tracks."""
        return state != ROOT and self._by_id[state].parallel

    def ancestors(self, state: str) -> tuple[str, ...]:
        """The stages around ``state``, innermost first (the root not included)."""
        out = []
        up = self._parent[state]
        while up != ROOT:
            out.append(up)
            up = self._parent[up]
        return tuple(out)

    def path(self, state: str) -> str:
        """``state`` with the stages around it, outermost first (``intervention/health``)."""
        return "/".join((*reversed(self.ancestors(state)), state))

    def is_within(self, state: str, stage: str) -> bool:
        """Whether ``state`` is ``stage`` or inside it."""
        return stage in {state, ROOT} or stage in self.ancestors(state)

    def active(self, configuration: Iterable[str]) -> frozenset[str]:
        """Every active state: the configuration's leaves and every stage around them."""
        key = tuple(configuration)
        known = self._active.get(key)
        if known is not None:
            return known
        out: set[str] = set()
        for leaf in key:
            out.add(leaf)
            out.update(self.ancestors(leaf))
        if len(self._active) < _REMEMBERED:
            self._active[key] = frozenset(out)
        return frozenset(out)

    def ordered(self, states: Iterable[str]) -> tuple[str, ...]:
        """``states`` in document order."""
        return tuple(sorted(states, key=self._order.__getitem__))

    def state_of(self, configuration: Sequence[str]) -> str:
        """Where a case in ``configuration`` is.

        That is its one leaf, or the innermost stage holding every leaf (the parallel
        stage whose tracks it is in).
        """
        if len(configuration) == 1:
            return configuration[0]
        common = None
        for leaf in configuration:
            line = (leaf, *self.ancestors(leaf))
            common = line if common is None else tuple(s for s in line if s in common)
        return common[0] if common else ROOT

    def domain(self, source: str, target: str) -> str:
        """The least stage (not parallel) holding both, source excluded (SCXML's LCCA)."""
        for up in (*self.ancestors(source), ROOT):
            if not self.is_parallel(up) and self.is_within(target, up) and up != target:
                return up
        return ROOT  # pragma: no cover - the root holds every state

    def default_entry(self, state: str, history: Mapping[str, str]) -> tuple[str, ...]:
        """The leaves entered when ``state`` is entered with no inner target."""
        node = self._by_id[state]
        if not node.states:
            return (state,)
        if node.parallel:
            return tuple(leaf for c in node.states for leaf in self.default_entry(c.id, history))
        child = history.get(state) if node.history else None
        return self.default_entry(child or str(node.initial), history)

    def enter(
        self,
        configuration: Sequence[str],
        source: str,
        target: str,
        history: Mapping[str, str],
    ) -> tuple[str, ...]:
        """The configuration after a transition from ``source`` to ``target``."""
        domain = self.domain(source, target)
        kept = [leaf for leaf in configuration if not self.is_within(leaf, domain)]
        line: list[str] = []
        for stage in self.ancestors(target):
            if stage == domain:
                break
            line.append(stage)
        line.reverse()
        entered: list[str] = []
        for i, stage in enumerate(line):
            if self.is_parallel(stage):
                inner = line[i + 1] if i + 1 < len(line) else target
                for track in self._children[stage]:
                    if track != inner:
                        entered += self.default_entry(track, history)
        entered += self.default_entry(target, history)
        return self.ordered({*kept, *entered})

    def completed_entry(self, targets: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
        """The configuration that holds every state of ``targets``, and what stops it.

        Each target is entered by default; every other track of a parallel stage
        around one is entered by default too. Two targets in one stage that is not
        parallel cannot both be: that is a problem, named.
        """
        leaves: set[str] = set()
        for t in targets:
            leaves.update(self.default_entry(t, {}))
        while True:
            active = self.active(leaves)
            missing = [
                c
                for s in active
                if self.is_parallel(s)
                for c in self._children[s]
                if c not in active
            ]
            if not missing:
                break
            for c in missing:
                leaves.update(self.default_entry(c, {}))
        problems = []
        for s in (*self.ordered(active), ROOT):
            if s == ROOT or not self.is_parallel(s):
                inside = [c for c in self._children[s] if c in active]
                if len(inside) > 1:
                    where = "the workflow" if s == ROOT else s
                    problems.append(f"{' and '.join(inside)} would be active at once in {where}")
        return self.ordered(leaves), problems

    def remembered(
        self, before: Sequence[str], after: Sequence[str], history: Mapping[str, str]
    ) -> Mapping[str, str]:
        """The history after a step: each stage with ``history`` left remembers its child."""
        now_active = self.active(after)
        changed = dict(history)
        for leaf in before:
            child = leaf
            for stage in self.ancestors(leaf):
                if stage not in now_active and self._by_id[stage].history:
                    changed[stage] = child
                child = stage
        return changed

    def is_done(self, stage: str, active: frozenset[str]) -> bool:
        """Whether an active ``stage`` is done: its active child final, or each track done.

        A track is a stage by construction (the build refuses a leaf as a track).
        """
        node = self._by_id[stage]
        if node.parallel:
            return all(self.is_done(c.id, active) for c in node.states)
        return any(c.final and c.id in active for c in node.states)

    def completed(self, before: frozenset[str], after: frozenset[str]) -> tuple[str, ...]:
        """Stages done after a step and not before, innermost first."""
        done = [
            s
            for s in after
            if self._by_id[s].states
            and self.is_done(s, after)
            and not (s in before and self.is_done(s, before))
        ]
        return tuple(sorted(done, key=lambda s: (-self._depth[s], self._order[s])))

    def co_active(self, a: str, b: str) -> bool:
        """Whether ``a`` and ``b`` can be active at once.

        They can when one holds the other, or when they lie in different tracks of one
        parallel stage.
        """
        if self.is_within(a, b) or self.is_within(b, a):
            return True
        around_b = {*self.ancestors(b), ROOT}
        for up in (*self.ancestors(a), ROOT):
            if up in around_b:
                return self.is_parallel(up)
        return False  # pragma: no cover, no mutate - the root holds both, so never reached
