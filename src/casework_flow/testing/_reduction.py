"""Partial-order reduction for `explore`: independent tracks move one at a time.

In a parallel stage, a step of one track and a step of another often commute: taking
them in either order leads to the same situation, and nothing a rule checks can tell
the orders apart. The full search still visits every mix of the tracks' positions (the
product of their states). The reduction picks, in each situation, an *ample* set: the
steps of the first track that has any, plus every step that is not a track's own (the
stage's exits, its completion); the other tracks wait their turn. This is the ample-set
method (Peled 1993; Clarke, Grumberg and Peled, *Model Checking*, ch. 10), made safe
here by taking it only where its conditions are known to hold:

- only *plain* tracks wait: a plain track's events stay inside it (none leads out),
  read nothing that another event writes, and no event outside it reads anything its
  events write or where it is (no ``in_state`` on its states, no counts or spans of
  its events, no data or documents its steps supply); its events read no clock, call
  no host function, and no state in it keeps history;
- no rule can see a track's step: no ``never`` of a state inside it, no
  ``always_before`` or ``only_roles`` of its events, no ``holds`` at all;
- the cycle proviso: when an ample step leads back to a situation already seen, the
  situation is expanded in full, so no track waits forever.

Where they do not hold the search expands every step, as without the reduction.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._definition import Workflow
from .._guards import (
    Check,
    Compare,
    Consent,
    Count,
    Evidence,
    Fact,
    Guard,
    InState,
    NotActorOf,
    Present,
    Span,
    TimeInState,
    TimeSinceOpened,
    walk,
)
from ._propositions import Fires
from ._rules import AlwaysBefore, EventuallyTerminal, Never, OnlyRoles, Rule

__all__ = ["Reduction"]

Reads = tuple[set[str], set[str], set[str], bool]


def _read_by(g: Guard, found: Reads) -> None:
    states, events, data, _ = found
    measure = getattr(g, "measure", None)
    if isinstance(g, InState):
        states.add(g.state)
    elif isinstance(g, NotActorOf):
        events.add(g.event)
    elif isinstance(g, Evidence):
        data.add(f"doc:{g.kind}")
    elif isinstance(g, Consent):
        data.add(f"doc:consent:{g.purpose}")
    elif isinstance(g, Compare | Present) and isinstance(measure, Count | Span):
        events.add(measure.event)
    elif isinstance(g, Compare | Present) and isinstance(measure, Fact):
        data.add(measure.name)


def _reads(guard: Guard) -> Reads:
    """What a guard reads: states, counted events, data and documents, and a clock.

    The last is true too for a host function, which may read anything.
    """
    found: Reads = (set(), set(), set(), False)
    timed = False
    for g in walk(guard):
        _read_by(g, found)
        measure = getattr(g, "measure", None)
        timed = (
            timed
            or isinstance(g, Check)
            or isinstance(measure, Span | TimeInState | TimeSinceOpened)
        )
    return (*found[:3], timed)


def _sees(rule: Rule, inside: frozenset[str], local: frozenset[str]) -> bool:
    """Whether ``rule`` can tell a step of the track (``inside``, ``local``) happened."""
    if isinstance(rule, Never):
        unless = _reads(rule.unless)[0] if rule.unless is not None else set()
        if isinstance(rule.target, Fires):
            return rule.target.event in local or bool(unless & inside)
        return rule.target.state in inside or bool(unless & inside)
    if isinstance(rule, AlwaysBefore):
        return bool({rule.first, rule.then} & local)
    if isinstance(rule, OnlyRoles):
        return rule.event in local
    return isinstance(rule, EventuallyTerminal)


class Reduction:
    """Which tracks may wait their turn, worked out once for a workflow and its rules.

    Attributes:
        plain: The parallel stages with two plain tracks or more, each with its plain
            tracks and the events local to each.
    """

    def __init__(self, workflow: Workflow, rules: Sequence[Rule]) -> None:
        self.workflow = workflow
        tree = workflow.tree
        self.plain: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {}
        known = (Never, AlwaysBefore, OnlyRoles, EventuallyTerminal)
        if not workflow.staged or any(not isinstance(r, known) for r in rules):
            return
        by_event: dict[str, set[str]] = {}
        for t in workflow.transitions:
            by_event.setdefault(t.event, set()).update(t.source)
        for stage in workflow.all_states:
            if not stage.parallel:
                continue
            tracks = []
            for track in stage.states:
                local = frozenset(
                    e for e, sources in by_event.items()
                    if all(tree.is_within(s, track.id) for s in sources)
                )  # fmt: skip
                if self._is_plain(stage.id, track.id, local, rules):
                    tracks.append((track.id, local))
            if len(tracks) > 1:
                self.plain[stage.id] = tuple(tracks)

    def _is_plain(
        self, stage: str, track: str, local: frozenset[str], rules: Sequence[Rule]
    ) -> bool:
        wf, tree = self.workflow, self.workflow.tree
        inside = frozenset(s.id for s in wf.all_states if tree.is_within(s.id, track))
        if any(wf.state(s).history for s in inside):
            return False
        for t in wf.transitions:
            states, events, data, timed = _reads(t.guard)
            if t.event not in local:
                if states & inside or events & local:
                    return False
                continue
            elsewhere = any(
                tree.is_within(s, stage) and not tree.is_within(s, track) for s in states
            )
            leaves = t.dest is not None and not tree.is_within(t.dest, track)
            if timed or events - local or data or t.requires or t.approval or elsewhere or leaves:
                return False
        return not any(_sees(r, inside, local) for r in rules)

    def groups(
        self, configuration: tuple[str, ...], events: Sequence[str]
    ) -> tuple[str | None, list[str], list[list[str]]]:
        """The events to try: the stage reduced, those always tried, each plain track's own.

        The search tries the first plain track that has a step, and the other plain
        tracks only when the cycle proviso asks it to. With fewer than two plain tracks
        there is nothing to reduce: every event is always tried. The proviso counts only
        steps that stay in the stage: leaving it ends every track's turn alike.
        """
        active = self.workflow.tree.active(configuration)
        for stage, tracks in self.plain.items():
            if stage not in active:
                continue
            groups = [[e for e in events if e in local] for _, local in tracks]
            groups = [g for g in groups if g]
            if len(groups) > 1:
                grouped = {e for g in groups for e in g}
                return stage, [e for e in events if e not in grouped], groups
        return None, list(events), []
