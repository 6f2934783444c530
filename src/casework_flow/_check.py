"""Static checks: is a workflow sound before a single case runs on it?

`check` returns findings, each with a severity, a code, a sentence and a path into the
definition. Errors mean cases can get stuck or steps can never happen; warnings are worth
a reviewer's look. The guard analysis is sound but not complete: it reports a guard as
impossible only when it is certain (``x > 3 and x < 2``, ``p and not p``), never a guard
that some case could satisfy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import product
from typing import Final

from ._configurations import closure
from ._definition import Transition, Workflow
from ._finding import ORDER, Finding
from ._guard_base import show
from ._guards import (
    ALWAYS,
    AllOf,
    AnyOf,
    Compare,
    Count,
    Fact,
    Guard,
    Not,
    Present,
    Span,
    TimeInState,
    TimeSinceOpened,
    walk,
)
from ._link_findings import link_findings
from ._stage_findings import staged_findings

__all__ = ["Finding", "check_workflow"]

_MAX_TERMS: Final = 256


def check_workflow(workflow: Workflow) -> tuple[Finding, ...]:
    """Check a workflow statically; return every finding, errors first.

    Codes: ``unreachable-state``, ``trap-state``, ``no-terminal-state``,
    ``dead-transition`` (unreachable sources or a guard that can never hold),
    ``shadowed-transition`` (a higher-priority candidate always wins), ``missing-label``,
    ``unused-role``, ``unsupplied-data``, ``deadline-on-terminal-state``,
    ``timer-on-terminal-state``, ``timer-cannot-fire`` (its event has no transition from
    the state), ``timer-without-system-role`` (the event needs roles the system actor
    lacks, so the timer would always be refused), ``member-orphaned`` (a member of a kind
    that closes with its family cannot be closed from some state), and as ``info`` every
    membership kind whose members outlive their family's case (``member-left-open``) and
    every transition that
    allows a consent override (``consent-override``), needs approval (``approval``) or
    reopens a closed case (``reopening``).
    """
    flat = [*_reachability(workflow), *_dead(workflow)]
    found = [
        *(staged_findings(workflow) if workflow.staged else flat),
        *_impossible(workflow),
        *_shadowed(workflow),
        *_labels(workflow),
        *_roles(workflow),
        *_data(workflow),
        *_timing(workflow),
        *_operations(workflow),
        *link_findings(workflow, set() if workflow.staged else reachable(workflow)),
    ]
    return tuple(sorted(found, key=lambda f: ORDER[f.severity]))


def _edges(wf: Workflow) -> Iterator[tuple[str, str]]:
    for t in wf.transitions:
        for src in t.source:
            yield src, t.dest or src


def reachable(wf: Workflow) -> set[str]:
    """States reachable from the initial state, guards ignored."""
    forward: dict[str, set[str]] = {}
    for src, dst in _edges(wf):
        forward.setdefault(src, set()).add(dst)
    return closure({wf.initial}, forward)


def can_end(wf: Workflow) -> set[str]:
    """States from which some terminal state is reachable, guards ignored."""
    backward: dict[str, set[str]] = {}
    for src, dst in _edges(wf):
        backward.setdefault(dst, set()).add(src)
    return closure({s.id for s in wf.states if s.terminal}, backward)


def _reachability(wf: Workflow) -> Iterator[Finding]:
    index = {s.id: i for i, s in enumerate(wf.states)}
    seen = reachable(wf)
    for s in wf.states:
        if s.id not in seen:
            yield Finding(
                "error", "unreachable-state",
                f"no path leads from {wf.initial} to {s.id}", f"states[{index[s.id]}]",
            )  # fmt: skip
    terminals = {s.id for s in wf.states if s.terminal}
    if not terminals:
        yield Finding(
            "error", "no-terminal-state", "no state is terminal: no case can end", "states"
        )
        return
    backward: dict[str, set[str]] = {}
    for src, dst in _edges(wf):
        backward.setdefault(dst, set()).add(src)
    can_end = closure(terminals, backward)
    for s in wf.states:
        if s.id in seen and s.id not in can_end:
            yield Finding(
                "error", "trap-state",
                f"a case in {s.id} can never reach a terminal state", f"states[{index[s.id]}]",
            )  # fmt: skip


def _dead(wf: Workflow) -> Iterator[Finding]:
    seen = reachable(wf)
    for i, t in enumerate(wf.transitions):
        if not any(src in seen for src in t.source):
            yield Finding(
                "error", "dead-transition",
                f"{t.event} can never fire: none of its sources"
                f" ({', '.join(t.source)}) is reachable",
                f"transitions[{i}].source",
            )  # fmt: skip


def _impossible(wf: Workflow) -> Iterator[Finding]:
    for i, t in enumerate(wf.transitions):
        why = impossible(t.guard)
        if why is not None:
            yield Finding(
                "error", "dead-transition", f"{t.event} can never fire: {why}",
                f"transitions[{i}].guard",
            )  # fmt: skip


def _shadowed(wf: Workflow) -> Iterator[Finding]:
    index = {id(t): i for i, t in enumerate(wf.transitions)}
    reported: set[int] = set()
    for state in wf.all_states:
        for event in wf.events:
            candidates = wf.candidates(state.id, event)
            for k, first in enumerate(candidates):
                for later in candidates[k + 1 :]:
                    if id(later) not in reported and _always_wins(first, later):
                        reported.add(id(later))
                        yield Finding(
                            "error", "shadowed-transition",
                            f"{event} to {later.dest or state.id} can never fire from {state.id}:"
                            f" the higher-priority {event} to {first.dest or state.id} always"
                            " takes it first",
                            f"transitions[{index[id(later)]}].priority",
                        )  # fmt: skip


def _always_wins(first: Transition, later: Transition) -> bool:
    return (
        first.guard is ALWAYS
        and (not first.roles or (bool(later.roles) and later.roles <= first.roles))
        and set(first.requires) <= set(later.requires)
        and (not first.reason_required or later.reason_required)
        and (not first.reason_codes or set(later.reason_codes) <= set(first.reason_codes))
        and bool(later.reason_codes or not first.reason_codes)
    )


def _labels(wf: Workflow) -> Iterator[Finding]:
    for s in wf.all_states:
        missing = [loc for loc in wf.locales if not s.labels.get(loc)]
        if missing:
            yield Finding(
                "warning", "missing-label",
                f"state {s.id} has no label in {', '.join(missing)}",
                f"{wf.tree.paths[s.id]}.labels",
            )  # fmt: skip
    for i, t in enumerate(wf.transitions):
        missing = [loc for loc in wf.locales if not t.labels.get(loc)]
        if missing:
            yield Finding(
                "warning", "missing-label",
                f"{t.event} has no label in {', '.join(missing)}", f"transitions[{i}].labels",
            )  # fmt: skip


def _roles(wf: Workflow) -> Iterator[Finding]:
    used = {r for t in wf.transitions for r in t.roles}
    for role in sorted(wf.roles - used):
        yield Finding(
            "warning", "unused-role", f"role {role} is allowed to do nothing", "roles",
        )  # fmt: skip


def _timing(wf: Workflow) -> Iterator[Finding]:
    for s in wf.all_states:
        where = wf.tree.paths[s.id]
        if s.terminal and s.deadline is not None:
            yield Finding(
                "error", "deadline-on-terminal-state",
                f"terminal state {s.id} has a deadline: every closed case would fall overdue",
                f"{where}.deadline",
            )  # fmt: skip
        for j, timer in enumerate(s.timers):
            at = f"{where}.timers[{j}]"
            candidates = wf.candidates(s.id, timer.event)
            if s.terminal:
                yield Finding(
                    "error", "timer-on-terminal-state",
                    f"terminal state {s.id} has timer {timer.name}: nothing can leave a"
                    " terminal state", at,
                )  # fmt: skip
            elif not candidates:
                yield Finding(
                    "error", "timer-cannot-fire",
                    f"timer {timer.name} fires {timer.event}, which has no transition from"
                    f" {s.id}", at,
                )  # fmt: skip
            elif all(t.roles and "system" not in t.roles for t in candidates):
                yield Finding(
                    "warning", "timer-without-system-role",
                    f"timer {timer.name} fires {timer.event}, which only"
                    f" {' or '.join(sorted({r for t in candidates for r in t.roles}))} may do:"
                    " the system actor (role system) would be refused", at,
                )  # fmt: skip


def _operations(wf: Workflow) -> Iterator[Finding]:
    for i, t in enumerate(wf.transitions):
        at = f"transitions[{i}]"
        if t.override is not None:
            yield Finding(
                "info", "consent-override",
                f"{t.event} allows missing consent to be overridden by"
                f" {' or '.join(sorted(t.override.roles))} with reason code"
                f" {' or '.join(t.override.reason_codes)}", f"{at}.override",
            )  # fmt: skip
        if t.approval is not None:
            yield Finding(
                "info", "approval",
                f"{t.event} waits for approval by {' or '.join(sorted(t.approval.roles))}",
                f"{at}.approval",
            )  # fmt: skip
        if t.reopens:
            yield Finding(
                "info", "reopening",
                f"{t.event} reopens closed cases ({', '.join(t.source)}) for"
                f" {' or '.join(sorted(t.roles))}, with a reason", at,
            )  # fmt: skip


def _data(wf: Workflow) -> Iterator[Finding]:
    supplied = {name for t in wf.transitions for name in t.requires}
    for i, t in enumerate(wf.transitions):
        read = {
            g.measure.name
            for g in walk(t.guard)
            if isinstance(g, Compare | Present) and isinstance(g.measure, Fact)
        }
        for name in sorted(read - supplied):
            yield Finding(
                "warning", "unsupplied-data",
                f"{t.event} reads {name}, which no transition requires: it can only come"
                " with the intake data or as optional data",
                f"transitions[{i}].guard",
            )  # fmt: skip


# --- can a guard ever hold? ------------------------------------------------------------

Literal_ = tuple[Guard, bool]


def _dnf(g: Guard, *, positive: bool = True) -> list[list[Literal_]] | None:  # noqa: PLR0911 - per node kind
    """Disjunctive normal form of ``g`` (or its negation); None when it grows too big."""
    if g is ALWAYS:
        return [[]] if positive else []
    if isinstance(g, Not):
        return _dnf(g.inner, positive=not positive)
    if isinstance(g, AllOf | AnyOf):
        parts = [_dnf(p, positive=positive) for p in g.parts]
        if any(p is None for p in parts):
            return None
        conj = isinstance(g, AllOf) == positive
        if not conj:
            return [term for p in parts for term in p]  # type: ignore[union-attr]
        terms: list[list[Literal_]] = [[]]
        for p in parts:
            terms = [a + b for a, b in product(terms, p)]  # type: ignore[arg-type]
            if len(terms) > _MAX_TERMS:
                return None
        return terms
    return [[(g, positive)]]


def impossible(g: Guard) -> str | None:
    """Say why ``g`` can never hold, or None if some case could satisfy it (or if unsure)."""
    terms = _dnf(g)
    if terms is None:
        return None
    if not terms:
        return f"the guard '{g.text}' is the negation of always"
    whys = [_term_conflict(t) for t in terms]
    if all(w is not None for w in whys):
        return f"'{g.text}' can never hold: {whys[0]}"
    return None


def _term_conflict(term: list[Literal_]) -> str | None:
    signs: dict[Guard, set[bool]] = {}
    for leaf, positive in term:
        signs.setdefault(leaf, set()).add(positive)
        if signs[leaf] == {True, False}:
            return f"'{leaf.text}' and its negation cannot both hold"
    bounds: dict[tuple[str, str], _Range] = {}
    for leaf, positive in term:
        measure = getattr(leaf, "measure", None)
        if measure is None:
            continue
        key = (type(measure).__name__, measure.name)
        r = bounds.setdefault(key, _Range(measure.name, floor=_floor(measure)))
        if isinstance(leaf, Present):
            if positive:
                r.present = True
            else:
                r.absent = True
        elif isinstance(leaf, Compare) and positive:
            r.present = True
            r.add(leaf.op, leaf.value)
    for r in bounds.values():
        why = r.conflict()
        if why is not None:
            return why
    return None


def _floor(measure: object) -> object:
    if isinstance(measure, Count):
        return 0
    if isinstance(measure, Span | TimeInState | TimeSinceOpened):
        return timedelta(0)
    return None


def _number(v: object) -> bool:
    return isinstance(v, int | float | timedelta) and not isinstance(v, bool)


class _Range:
    """What the positive constraints in one conjunction say about one measure."""

    def __init__(self, name: str, floor: object) -> None:
        self.name = name
        self.present = False
        self.absent = False
        self.low: tuple[object, bool] | None = (floor, True) if floor is not None else None
        self.high: tuple[object, bool] | None = None
        self.equal: list[object] = []
        self.allowed: set[object] | None = None
        self.banned: set[object] = set()
        self.texts: list[str] = []

    def add(self, op: str, value: object) -> None:
        self.texts.append(f"{self.name} {op} {value!r}")
        if op in {">=", ">"} and _number(value):
            if self.low is None or value > self.low[0] or (value == self.low[0] and op == ">"):  # type: ignore[operator]
                self.low = (value, op == ">=")
        elif op in {"<=", "<"} and _number(value):
            if self.high is None or value < self.high[0] or (value == self.high[0] and op == "<"):  # type: ignore[operator]
                self.high = (value, op == "<=")
        elif op == "==":
            self.equal.append(value)
        elif op == "!=":
            self.banned.add(value)
        elif op == "in" and isinstance(value, tuple):
            self.allowed = set(value) if self.allowed is None else self.allowed & set(value)
        elif op == "not in" and isinstance(value, tuple):
            self.banned |= set(value)

    def conflict(self) -> str | None:  # noqa: C901, PLR0911 - one return per kind of conflict
        name = self.name
        if self.present and self.absent:
            return f"{name} cannot be both recorded and absent"
        if len({repr(v) for v in self.equal}) > 1:
            return f"{name} cannot equal {' and '.join(map(repr, self.equal))} at once"
        if self.low and self.high:
            (lo, lo_in), (hi, hi_in) = self.low, self.high
            try:
                if lo > hi or (lo == hi and not (lo_in and hi_in)):  # type: ignore[operator]
                    above = f"{'>=' if lo_in else '>'} {show(lo)}"
                    below = f"{'<=' if hi_in else '<'} {show(hi)}"
                    return f"no value of {name} is both {above} and {below}"
            except TypeError:
                return None
        for v in self.equal:
            if v in self.banned:
                return f"{name} cannot both be and not be {v!r}"
            if self.allowed is not None and v not in self.allowed:
                return f"{name} == {v!r} is not among the allowed values"
            if _number(v) and not self._inside(v):
                return f"{name} == {v!r} is outside its bounds"
            if not _number(v) and (self.low or self.high) and self.low != (0, True):
                return f"{name} == {v!r} cannot also be compared as a number"
        if self.allowed is not None and not (self.allowed - self.banned):
            return f"no value is left for {name}"
        return None

    def _inside(self, v: object) -> bool:
        try:
            if self.low and (v < self.low[0] or (v == self.low[0] and not self.low[1])):  # type: ignore[operator]
                return False
            if self.high and (v > self.high[0] or (v == self.high[0] and not self.high[1])):  # type: ignore[operator]
                return False
        except TypeError:
            return True
        return True
