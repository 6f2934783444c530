"""Rules over time and order: the property specification patterns, each within a scope.

A `Property` is a pattern (`absence`, `existence`, `universality`, `precedence`,
`response`) over propositions about entries, within a scope (`globally`, `before`,
`after`, `between`, `after_until`), after Dwyer, Avrunin and Corbett's patterns. It is
a `Rule`, so `explore`, `check_rules` and `workflow_machine` check it after every step;
`check_trails` checks it on stored cases, as of a given time.

A property is read as a monitor folded over the trail, one entry at a time, so each
check after a step costs only the new entries. The monitor ends in one of three
verdicts: *broken* (at an entry, or at the given time when a deadline passed),
*pending* (an obligation still owed: a response not yet given, an existence not yet
seen, which a longer trail may still settle) and *holds*.

Scopes, on a trail's entries in order (an entry matching Q opens a segment there,
one matching R closes the segment before it):

- ``globally()``: the whole trail;
- ``before(R)``: from the opening to the first R;
- ``after(Q)``: from the first Q on;
- ``between(Q, R)``: from a Q to the next R; what breaks in a segment R never closes
  does not count;
- ``after_until(Q, R)``: from a Q to the next R, or on to the end.

Each Q counts afresh from itself, as in the patterns' LTL forms (``□(Q → …)``): in a
segment already open, a later Q restarts what is counted from it (the S a precedence
needs, the P an existence needs: "since the last reopening"), while an obligation or a
break already incurred stands.

A case in a terminal state is finished: what it still owes then is broken.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import attrs
from attrs import field, frozen

from .._audit import AuditEntry
from .._calendar import DEFAULT_CALENDAR, Calendar
from .._definition import Workflow
from .._guard_data import parse_duration
from ..exceptions import InvalidInput
from ._propositions import Moment, Prop, _grouped
from ._rules import Rule

__all__ = [
    "Pattern",
    "Property",
    "Scope",
    "Standing",
    "absence",
    "after",
    "after_until",
    "before",
    "between",
    "existence",
    "globally",
    "precedence",
    "response",
    "universality",
]


class Standing(enum.Enum):
    """What a property says of a trail so far."""

    HOLDS = "holds"
    PENDING = "pending"
    BROKEN = "broken"


@frozen
class Scope:
    """Where a pattern applies: ``kind`` with its opening ``q`` and closing ``r``."""

    kind: str
    q: Prop | None = None
    r: Prop | None = None

    @property
    def text(self) -> str:
        """The scope in words."""
        q = self.q.text if self.q is not None else ""
        r = self.r.text if self.r is not None else ""
        return {
            "globally": "",
            "before": f" before {r}",
            "after": f" after each {q}",
            "between": f" between {q} and {r}",
            "after_until": f" after each {q} until {r}",
        }[self.kind]


def globally() -> Scope:
    """The whole trail."""
    return Scope("globally")


def before(r: Prop) -> Scope:
    """From the opening up to the first entry where ``r`` holds."""
    return Scope("before", r=r)


def after(q: Prop) -> Scope:
    """From the latest entry where ``q`` holds on to the end."""
    return Scope("after", q=q)


def between(q: Prop, r: Prop) -> Scope:
    """Each stretch from a ``q`` to the next ``r`` (one ``r`` never closes does not count)."""
    return Scope("between", q=q, r=r)


def after_until(q: Prop, r: Prop) -> Scope:
    """Each stretch from a ``q`` to the next ``r``, or to the end if none comes."""
    return Scope("after_until", q=q, r=r)


@frozen
class Pattern:
    """One of the five patterns: ``kind`` over ``p`` (and ``s``), with a time bound."""

    kind: str
    p: Prop
    s: Prop | None = None
    within: timedelta | None = None
    working: bool = False

    @property
    def text(self) -> str:
        """The pattern in words."""
        p, s = _grouped(self.p), _grouped(self.s) if self.s is not None else ""
        bound = ""
        if self.within is not None:
            days = self.within / timedelta(days=1)
            unit = "working days" if self.working else "days"
            bound = f" within {days:g} {unit}"
        return {
            "absence": f"never {p}",
            "existence": f"eventually {p}",
            "universality": f"always {p}",
            "precedence": f"{p} only after {s}",
            "response": f"{p} is followed by {s}{bound}",
        }[self.kind]


@frozen
class State:
    """The monitor after some entries: a segment open or not, and what it has seen.

    Attributes:
        open: Whether the scope's segment is open after the last entry.
        done: The scope is over for good (``before``, once R came).
        seen: Precedence: S came in the segment; existence: P came.
        pending: Response: the entry and time of the oldest P not answered yet.
        tentative: ``between``: how the open segment broke, if R comes to close it.
        broken: The entry where the property broke, and why.
    """

    open: bool = False
    done: bool = False
    seen: bool = False
    pending: tuple[int, datetime] | None = None
    tentative: tuple[int, str] | None = None
    broken: tuple[int, str] | None = None


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    """Requirement ids, each a non-empty string."""
    ids = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(i, str) and i.strip() for i in ids):
        raise InvalidInput("requirements", f"must be non-empty ids, got {value!r}")
    return ids


@frozen
class Property(Rule):
    """A rule over time: ``pattern`` within ``scope``, named and traced to requirements.

    Attributes:
        pattern: What must (not) happen.
        scope: Where in a trail it applies.
        name: What the rule is called in messages (its words, by default).
        requirements: The ids of the policy rules it checks (``SOP-4.2``).
        workflow: The workflow's name it is about (None: any).
    """

    pattern: Pattern
    scope: Scope = field(factory=globally)
    name: str | None = None
    requirements: tuple[str, ...] = field(default=(), converter=_ids)
    workflow: str | None = None

    @property
    def text(self) -> str:  # type: ignore[override]
        """The rule in words."""
        return self.name or f"{self.pattern.text}{self.scope.text}"

    def start(self) -> State:
        """The monitor before the first entry."""
        return State(open=self.scope.kind in {"globally", "before"})

    def step(self, state: State, m: Moment, calendar: Calendar = DEFAULT_CALENDAR) -> State:
        """The monitor after entry ``m``."""
        if state.broken is not None or state.done:
            return state
        sc, seq = self.scope, m.entry.seq
        if state.open and sc.r is not None and sc.r.at(m):
            state = self._closed(state, seq)
            if state.broken is not None or state.done:
                return state
        if sc.q is not None and sc.q.at(m):
            state = attrs.evolve(state, seen=False) if state.open else State(open=True)
        if not state.open:
            return state
        return self._pattern(state, m, calendar)

    @property
    def _s(self) -> Prop:
        """The second proposition (of precedence and response; ``p`` for the others)."""
        return self.pattern.s or self.pattern.p

    def _closed(self, state: State, seq: int) -> State:
        """The segment closed by R at entry ``seq``: what it still owed is broken."""
        pat, why = self.pattern, state.tentative
        closing = self.scope.r.text if self.scope.r is not None else ""
        if why is None and pat.kind == "existence" and not state.seen:
            why = (seq, f"entry {seq}: {closing} came with no {pat.p.text} before it")
        if why is None and pat.kind == "response" and state.pending is not None:
            first = state.pending[0]
            said = f"the {pat.p.text} of entry {first} had no {self._s.text} yet"
            why = (seq, f"entry {seq}: {closing} came, and {said}")
        return State(done=self.scope.kind == "before", broken=why)

    def _pattern(self, state: State, m: Moment, calendar: Calendar) -> State:
        pat, seq = self.pattern, m.entry.seq
        if pat.kind == "response":
            return self._response(state, m, calendar)
        if pat.kind == "precedence":
            return self._precedence(state, m)
        held = pat.p.at(m)
        if pat.kind == "existence":
            return attrs.evolve(state, seen=True) if held else state
        if held == (pat.kind == "absence"):
            return self._break(state, seq, f"entry {seq}: {'' if held else 'not '}{pat.p.text}")
        return state

    def _precedence(self, state: State, m: Moment) -> State:
        if self._s.at(m):
            return attrs.evolve(state, seen=True)
        if not state.seen and self.pattern.p.at(m):
            seq = m.entry.seq
            return self._break(state, seq, f"entry {seq}: {self.pattern.p.text} with no"
                                           f" {self._s.text} before it")  # fmt: skip
        return state

    def _response(self, state: State, m: Moment, calendar: Calendar) -> State:
        if state.pending is not None:
            due = self.due(state.pending[1], calendar)
            if due is not None and m.entry.at > due:
                return self._break(state, m.entry.seq, self._late(state.pending[0], due))
            if self._s.at(m):
                state = attrs.evolve(state, pending=None)
        if state.pending is None and self.pattern.p.at(m):
            state = attrs.evolve(state, pending=(m.entry.seq, m.entry.at))
        return state

    def _break(self, state: State, seq: int, why: str) -> State:
        if self.scope.kind == "between":
            return state if state.tentative else attrs.evolve(state, tentative=(seq, why))
        return attrs.evolve(state, broken=(seq, why))

    def _late(self, seq: int, due: datetime) -> str:
        return (
            f"the {self.pattern.p.text} of entry {seq} had no {self._s.text} by {due.isoformat()}"
        )

    def due(self, since: datetime, calendar: Calendar = DEFAULT_CALENDAR) -> datetime | None:
        """When a response to a P at ``since`` is due (None: no bound)."""
        within = self.pattern.within
        if within is None:
            return None
        return calendar.add(since, within) if self.pattern.working else since + within

    def verdict(
        self,
        workflow: Workflow,
        state: State,
        *,
        now: datetime | None = None,
        finished: bool = False,
        calendar: Calendar = DEFAULT_CALENDAR,
    ) -> tuple[Standing, str | None]:
        """The verdict at the end of a trail, as of ``now`` (a deadline may have passed).

        ``finished``: the case can take no further step (a terminal state), so what it
        still owes is broken.
        """
        del workflow
        if state.broken is not None:
            return Standing.BROKEN, state.broken[1]
        owed = self._owed(state, now, calendar) if state.open else None
        if owed is None:
            return Standing.HOLDS, None
        late, why = owed
        if self.scope.kind == "between":
            return (Standing.HOLDS, None) if finished else (Standing.PENDING, why)
        return (Standing.BROKEN if late or finished else Standing.PENDING), why

    def _owed(
        self, state: State, now: datetime | None, calendar: Calendar
    ) -> tuple[bool, str] | None:
        """What the open segment still owes: (whether a deadline passed by ``now``, why)."""
        pat = self.pattern
        if state.tentative is not None:
            return False, f"{state.tentative[1]}, if {self.scope.r.text if self.scope.r else ''}"
        if pat.kind == "response" and state.pending is not None:
            due = self.due(state.pending[1], calendar)
            if now is not None and due is not None and now > due:
                return True, self._late(state.pending[0], due)
            return False, f"the {pat.p.text} of entry {state.pending[0]} awaits {self._s.text}"
        if pat.kind == "existence" and not state.seen:
            return False, f"no {pat.p.text} yet"
        return None

    def monitor(
        self,
        workflow: Workflow,
        trail: Sequence[AuditEntry],
        calendar: Calendar = DEFAULT_CALENDAR,
    ) -> State:
        """The monitor after ``trail``, folded entry by entry."""
        state = self.start()
        for i in range(len(trail)):
            state = self.step(state, Moment(workflow, trail, i), calendar)
        return state

    def applies(self, trail: Sequence[AuditEntry]) -> bool:
        """Whether the property is about the trail's workflow."""
        return self.workflow is None or not trail or trail[0].workflow == self.workflow

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """How the trail so far breaks the property, or None."""
        if not self.applies(trail):
            return None
        from ._monitors import monitored  # noqa: PLC0415 - the tools' cache of monitors

        state = monitored(self, workflow, trail)
        return None if state.broken is None else state.broken[1]


def _bound(within: timedelta | str | None) -> timedelta | None:
    if within is None or isinstance(within, timedelta):
        return within
    try:
        return parse_duration(within)
    except ValueError as exc:
        raise InvalidInput("within", str(exc)) from None


def _property(
    pattern: Pattern,
    scope: Scope | None,
    name: str | None,
    requirements: Sequence[str],
    workflow: str | None,
) -> Property:
    return Property(pattern, scope or globally(), name, requirements, workflow)


def absence(
    p: Prop,
    *,
    scope: Scope | None = None,
    name: str | None = None,
    requirements: Sequence[str] = (),
    workflow: str | None = None,
) -> Property:
    """``p`` never happens within the scope."""
    return _property(Pattern("absence", p), scope, name, requirements, workflow)


def existence(
    p: Prop,
    *,
    scope: Scope | None = None,
    name: str | None = None,
    requirements: Sequence[str] = (),
    workflow: str | None = None,
) -> Property:
    """``p`` happens at least once within the scope (a liveness property)."""
    return _property(Pattern("existence", p), scope, name, requirements, workflow)


def universality(
    p: Prop,
    *,
    scope: Scope | None = None,
    name: str | None = None,
    requirements: Sequence[str] = (),
    workflow: str | None = None,
) -> Property:
    """``p`` holds at every entry within the scope."""
    return _property(Pattern("universality", p), scope, name, requirements, workflow)


def precedence(
    s: Prop,
    p: Prop,
    *,
    scope: Scope | None = None,
    name: str | None = None,
    requirements: Sequence[str] = (),
    workflow: str | None = None,
) -> Property:
    """``p`` happens only after an ``s`` (in the same segment of the scope)."""
    return _property(Pattern("precedence", p, s), scope, name, requirements, workflow)


def response(
    p: Prop,
    s: Prop,
    *,
    within: timedelta | str | None = None,
    working: bool = False,
    scope: Scope | None = None,
    name: str | None = None,
    requirements: Sequence[str] = (),
    workflow: str | None = None,
) -> Property:
    """Every ``p`` is followed by an ``s`` (within ``within``: ``P14D`` or a timedelta).

    With ``working``, the time counts on the workflow calendar's working days.
    """
    return _property(
        Pattern("response", p, s, _bound(within), working), scope, name, requirements, workflow
    )
