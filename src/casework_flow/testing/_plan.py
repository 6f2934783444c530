"""What `explore` tries and what it tells apart: the plan made before the walk.

A *situation* is what the guards and the rules can tell apart (see `explore`); `_plan`
works out, once per workflow and rules, which data values, documents, actors, waits and
measures matter, and `_Plan.key` reduces a case and its trail to its situation.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import timedelta
from itertools import product
from typing import Any, Final

from attrs import frozen

from .._audit import AuditEntry, EntryKind
from .._case import Actor, Case
from .._definition import Workflow
from .._frozen import EMPTY, FrozenMap, freeze
from .._guards import (
    CONSENT_PREFIX,
    Compare,
    Count,
    Fact,
    Guard,
    Handed,
    NotActorOf,
    NotAssignee,
    Present,
    Span,
    TimeInState,
    TimeSinceOpened,
    walk,
)
from ._kit import _Kit, _kit
from ._monitors import monitored
from ._rules import AlwaysBefore, Never, Rule
from ._strategies import _fact_values
from ._temporal import Property

__all__ = ["_ASSIGNEE", "_Plan", "_Variant", "_plan"]

_ASSIGNEE: Final = "worker-a"
_TICK: Final = timedelta(seconds=1)


@frozen
class _Variant:
    payload: FrozenMap[Any]
    evidence: FrozenMap[str]
    code: str | None
    override_by: Actor | None = None


Clocks = tuple[tuple[Callable[[Case, Sequence[AuditEntry]], timedelta | None], list[Any]], ...]


@frozen
class _Plan:
    """Everything fixed before the walk: what to try, and what a situation is."""

    actors: dict[str, tuple[Actor, ...]]
    variants: dict[str, tuple[_Variant, ...]]
    waits: tuple[timedelta, ...]
    facts: tuple[str, ...]
    docs: frozenset[str]
    counted: tuple[tuple[str, int], ...]
    doers: tuple[str, ...]
    watched: tuple[str, ...]
    clocks: Clocks
    handed: dict[str, tuple[str, ...]]
    workflow: Workflow | None = None
    properties: tuple[Property, ...] = ()

    def key(self, case: Case, trail: Sequence[AuditEntry]) -> tuple[object, ...]:
        """The situation a case and its trail are in, as the guards and rules see it."""
        done = [e for e in trail if e.kind is EntryKind.TRANSITION]
        events = [e.event for e in done]
        counts = tuple(min(events.count(ev), cap) for ev, cap in self.counted)
        doers = tuple(frozenset(e.actor_id for e in done if e.event == ev) for ev in self.doers)
        watched = tuple(ev in events for ev in self.watched)
        clocks = []
        for measure, marks in self.clocks:
            value = measure(case, trail)
            clocks.append(
                None if value is None else (bisect_left(marks, value), bisect_right(marks, value))
            )
        return (
            case.configuration,
            tuple(sorted(case.history.items())),
            tuple(case.data.get(k) for k in self.facts),
            frozenset(k for k in case.evidence if k in self.docs),
            counts,
            doers,
            watched,
            tuple(clocks),
            frozenset((str(h.kind), str(h.status)) for h in case.open_handovers),
            case.unit,
            case.timer,
            self._monitors(trail),
        )

    def _monitors(self, trail: Sequence[AuditEntry]) -> tuple[object, ...]:
        """What each rule over time has seen, as far as its future verdict can tell."""
        if self.workflow is None or not self.properties:
            return ()
        found: list[object] = []
        for prop in self.properties:
            m = monitored(prop, self.workflow, trail)
            late = None
            if m.pending is not None:
                due = prop.due(m.pending[1])
                late = due is not None and trail[-1].at > due
            found.append((m.open, m.done, m.seen, m.pending is not None, late,
                          m.tentative is not None, m.broken is not None))  # fmt: skip
        return tuple(found)


def _guards(workflow: Workflow, rules: Sequence[Rule]) -> list[Guard]:
    found = [g for t in workflow.transitions for g in walk(t.guard)]
    for rule in rules:
        if isinstance(rule, Never) and rule.unless is not None:
            found.extend(walk(rule.unless))
    return found


def _time_in_state(case: Case, trail: Sequence[AuditEntry]) -> timedelta:
    return trail[-1].at - case.state_entered_at


def _time_since_opened(case: Case, trail: Sequence[AuditEntry]) -> timedelta:
    return trail[-1].at - case.opened_at


def _span(event: str) -> Callable[[Case, Sequence[AuditEntry]], timedelta | None]:
    def measure(case: Case, trail: Sequence[AuditEntry]) -> timedelta | None:
        del case
        ats = [e.at for e in trail if e.kind is EntryKind.TRANSITION and e.event == event]
        return ats[-1] - ats[0] if ats else None

    return measure


def _numbers(value: object) -> list[Any]:
    items = value if isinstance(value, tuple) else (value,)
    return [v for v in items if isinstance(v, int | float | timedelta) and not isinstance(v, bool)]


def _measures(guards: Sequence[Guard]) -> tuple[dict[str, int], Clocks]:
    """Caps of the counted events, and each time measure with its thresholds."""
    caps: dict[str, int] = {}
    spans: dict[str, list[Any]] = {}
    in_state: list[Any] = []
    since_open: list[Any] = []
    for g in guards:
        if not isinstance(g, Compare):
            continue
        m = g.measure
        marks = _numbers(g.value)
        if isinstance(m, Count):
            caps[m.event] = max([caps.get(m.event, 0), *(int(v) + 1 for v in marks)])
        elif isinstance(m, Span):
            spans.setdefault(m.event, []).extend(marks)
        elif isinstance(m, TimeInState):
            in_state.extend(marks)
        elif isinstance(m, TimeSinceOpened):
            since_open.extend(marks)
    clocks: list[tuple[Callable[[Case, Sequence[AuditEntry]], timedelta | None], list[Any]]] = []
    if in_state:
        clocks.append((_time_in_state, sorted(set(in_state))))
    if since_open:
        clocks.append((_time_since_opened, sorted(set(since_open))))
    clocks += [(_span(ev), sorted(set(marks))) for ev, marks in sorted(spans.items())]
    return caps, tuple(clocks)


def _crew(workflow: Workflow, event: str, *, who_matters: bool) -> tuple[Actor, ...]:
    """The kinds of actor worth trying for an event."""
    ts = [t for t in workflow.transitions if t.event == event]
    roles = sorted({r for t in ts for r in t.roles})
    every = set(roles) or {"worker"}
    crew = [Actor(_ASSIGNEE, every)]
    if who_matters:
        crew.append(Actor("worker-b", every))
    if len(roles) > 1:
        crew += [Actor(f"{r}-1", {r}) for r in roles]
    if any(not t.roles for t in ts):
        crew.append(Actor("visitor-1", {"visitor"}))
    return tuple(crew)


def _variants(kit: _Kit, pools: dict[str, list[Any]]) -> tuple[_Variant, ...]:
    """Every combination of the data values, documents and codes an event's guards read."""
    fields = sorted(kit.data)
    choices: list[list[Any]] = [
        [None, *dict.fromkeys(pools.get(name) or [f"{name} value"])] for name in fields
    ]
    papers = [EMPTY, FrozenMap(dict.fromkeys(sorted(kit.evidence), "DOC"))]
    codes: list[str | None] = [*kit.codes] or [None]
    return tuple(
        _Variant(
            freeze({k: v for k, v in zip(fields, values, strict=True) if v is not None}),
            paper,
            code,
        )
        for values in product(*choices)
        for paper in (papers if kit.evidence else papers[:1])
        for code in codes
    )


def _bounds(rules: Sequence[Rule]) -> set[timedelta]:
    """Waits that cross each bounded response's deadline (on working days, past a weekend)."""
    found: set[timedelta] = set()
    for r in rules:
        if isinstance(r, Property) and r.pattern.within is not None:
            within = r.pattern.within
            found.add(within * 7 / 5 + timedelta(days=3) if r.pattern.working else within)
    return found


def _overrides(
    workflow: Workflow, event: str, kit: _Kit, pools: dict[str, list[Any]]
) -> tuple[_Variant, ...]:
    """The event's variants with no consent on file, each overridden by a senior actor.

    Only for an event with a transition whose consent may be overridden: the override
    is tried with every documents-but-consent combination and each allowed code.
    """
    found: list[_Variant] = []
    for t in workflow.transitions:
        if t.event != event or t.override is None:
            continue
        senior = Actor("overrider-1", t.override.roles)
        for v in _variants(kit, pools):
            papers = FrozenMap({k: d for k, d in v.evidence.items()
                                if not k.startswith(CONSENT_PREFIX)})  # fmt: skip
            found.extend(_Variant(v.payload, papers, c, senior) for c in t.override.reason_codes)
    return tuple(dict.fromkeys(found))


def _plan(workflow: Workflow, rules: Sequence[Rule]) -> _Plan:
    guards = _guards(workflow, rules)
    caps, clocks = _measures(guards)
    thresholds = {v for _, marks in clocks for v in marks} | _bounds(rules)
    pools = _fact_values(workflow)
    facts = {
        g.measure.name
        for g in guards
        if isinstance(g, Compare | Present) and isinstance(g.measure, Fact)
    }
    who_matters = any(isinstance(g, NotActorOf | NotAssignee) for g in guards)
    kits = {event: _kit(workflow, event) for event in workflow.events}
    return _Plan(
        actors={e: _crew(workflow, e, who_matters=who_matters) for e in workflow.events},
        variants={e: _variants(kit, pools) + _overrides(workflow, e, kit, pools)
                  for e, kit in kits.items()},
        waits=(timedelta(0), *sorted(v + _TICK for v in thresholds)),
        facts=tuple(sorted(facts | {n for t in workflow.transitions for n in t.requires})),
        docs=frozenset(d for kit in kits.values() for d in kit.evidence),
        counted=tuple(sorted(caps.items())),
        doers=tuple(sorted({g.event for g in guards if isinstance(g, NotActorOf)})),
        watched=tuple(
            sorted({e for r in rules if isinstance(r, AlwaysBefore) for e in (r.first, r.then)})
        ),
        clocks=clocks,
        handed={
            e: tuple(sorted({g.kind for t in workflow.transitions if t.event == e
                             for g in walk(t.guard) if isinstance(g, Handed)}))
            for e in workflow.events
        },
        workflow=workflow,
        properties=tuple(r for r in rules if isinstance(r, Property)),
    )  # fmt: skip
