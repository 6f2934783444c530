"""Guards: conditions on a transition, built as values so they can explain themselves.

A guard is never an opaque lambda. It is a small tree of frozen values (comparisons on a
measure, evidence on file, separation of duties, ``&``/``|``/``~``) that can say what it
checks (`Guard.text`), why it held or failed in words a social worker reads, be drawn on
a diagram and be checked statically. A named Python callable (`check`) is the escape hatch
for rules that need the host's own code.

Measures read one number or value from the situation of an attempted transition:

- ``fact("age")``: a field of the case's data, as it would be after this step;
- ``time_in_state()`` and ``time_since_opened()``: durations from the injected clock;
- ``count("record_contact_attempt")``: how often an event was committed on the case;
- ``span("record_contact_attempt")``: time from its first to its last occurrence.

Comparing a measure (``>=``, ``==``, ``.one_of(...)``...) gives a guard:

>>> from datetime import timedelta
>>> contacts = count("record_contact_attempt")
>>> g = (contacts >= 3) & (span("record_contact_attempt") >= timedelta(days=7))
>>> g.text
'count(record_contact_attempt) >= 3 and span(record_contact_attempt) >= 7 days'
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from attrs import field, frozen

from ._audit import EntryKind
from ._frozen import FrozenMap, freeze

if TYPE_CHECKING:
    from ._audit import AuditEntry
    from ._case import Actor, Case

__all__ = [
    "ALWAYS",
    "Guard",
    "GuardContext",
    "Measure",
    "always",
    "check",
    "consent",
    "count",
    "evidence",
    "fact",
    "not_actor_of",
    "not_assignee",
    "span",
    "time_in_state",
    "time_since_opened",
]

_MISSING: Final = object()
_TRANSITION: Final = EntryKind.TRANSITION


class GuardContext:
    """Everything a guard may look at for one attempted transition. Built by the engine.

    Attributes:
        case: The case before the step.
        actor: Who attempts it.
        event: The event attempted.
        payload: The data supplied with this step.
        data: The case's data as it would be after the step (``case.data`` + ``payload``).
        evidence: Documents on file after the step.
        supplied_evidence: Documents supplied with this step.
        now: The injected clock's time for this step.
        reason_code: The reason code given, if any.
    """

    __slots__ = (
        "_history",
        "_load_history",
        "actor",
        "case",
        "data",
        "event",
        "evidence",
        "now",
        "payload",
        "reason_code",
        "supplied_evidence",
    )

    def __init__(
        self,
        *,
        case: Case,
        actor: Actor,
        event: str,
        payload: FrozenMap[Any],
        evidence: FrozenMap[str],
        now: datetime,
        reason_code: str | None,
        history: Callable[[], Sequence[AuditEntry]],
    ) -> None:
        self.case = case
        self.actor = actor
        self.event = event
        self.payload = payload
        self.data = case.data.merged(payload)
        self.evidence = case.evidence.merged(evidence)
        self.supplied_evidence = evidence
        self.now = now
        self.reason_code = reason_code
        self._load_history = history
        self._history: Sequence[AuditEntry] | None = None

    def history(self) -> Sequence[AuditEntry]:
        """Return the case's audit trail so far, loaded on first use only."""
        if self._history is None:
            self._history = self._load_history()
        return self._history

    def committed(self, event: str) -> list[AuditEntry]:
        """Return the committed transitions of ``event`` in the trail, oldest first."""
        return [e for e in self.history() if e.kind is _TRANSITION and e.event == event]


def _duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds < 0:
        return f"minus {_duration(-d)}"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes and not days:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) or "less than a minute"


def _show(value: object) -> str:
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, tuple | list | frozenset | set):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, str):
        return repr(value)
    return str(value)


class Guard:
    """Base of every guard. Combine guards with ``&``, ``|`` and ``~``.

    Subclasses implement `test`, returning whether the guard holds and a sentence saying
    why, and set `text`, a short formula used on diagrams and in audit entries.
    """

    __slots__ = ()
    text: str

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Evaluate against ``ctx``; return (held, a sentence saying why)."""
        raise NotImplementedError

    def conjuncts(self) -> tuple[Guard, ...]:
        """Return the parts that must all hold (self alone unless this is an ``&``)."""
        return (self,)

    def __and__(self, other: Guard) -> Guard:
        return AllOf(self.conjuncts() + other.conjuncts())

    def __or__(self, other: Guard) -> Guard:
        left = self.parts if isinstance(self, AnyOf) else (self,)
        right = other.parts if isinstance(other, AnyOf) else (other,)
        return AnyOf(left + right)

    def __invert__(self) -> Guard:
        if isinstance(self, Not):
            return self.inner
        return Not(self)


def walk(g: Guard) -> Iterator[Guard]:
    """Yield a guard and every guard inside it, depth first."""
    yield g
    if isinstance(g, AllOf | AnyOf):
        for part in g.parts:
            yield from walk(part)
    elif isinstance(g, Not):
        yield from walk(g.inner)


def referenced_events(g: Guard) -> set[str]:
    """The events a guard reads from the trail (counts, spans, separation of duties)."""
    out: set[str] = set()
    for part in walk(g):
        measure = getattr(part, "measure", None)
        if isinstance(measure, _Count | _Span):
            out.add(measure.event)
        elif isinstance(part, NotActorOf):
            out.add(part.event)
    return out


def _paren(g: Guard) -> str:
    return f"({g.text})" if isinstance(g, AllOf | AnyOf) else g.text


@frozen
class Always(Guard):
    """The guard that always holds: the default of a transition without conditions."""

    text: str = field(default="always", init=False, eq=False, repr=False)

    def test(self, ctx: GuardContext) -> tuple[bool, str]:  # noqa: ARG002 - ctx unused by design
        """Always hold."""
        return True, "no condition"


ALWAYS: Final[Guard] = Always()


def always() -> Guard:
    """Return the guard that always holds."""
    return ALWAYS


@frozen
class AllOf(Guard):
    """Holds when every part holds; ``a & b``."""

    parts: tuple[Guard, ...]
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return " and ".join(_paren(p) for p in self.parts)

    def conjuncts(self) -> tuple[Guard, ...]:
        """Return the parts."""
        return self.parts

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold if all parts hold; on failure, say every part that failed."""
        failed = []
        for part in self.parts:
            ok, why = part.test(ctx)
            if not ok:
                failed.append(why)
        if failed:
            return False, " and ".join(failed)
        return True, "all of: " + self.text


@frozen
class AnyOf(Guard):
    """Holds when at least one part holds; ``a | b``."""

    parts: tuple[Guard, ...]
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return " or ".join(_paren(p) for p in self.parts)

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold at the first part that holds; on failure, say why each failed."""
        whys = []
        for part in self.parts:
            ok, why = part.test(ctx)
            if ok:
                return True, why
            whys.append(why)
        return False, "none of these held: " + " or ".join(f"[{w}]" for w in whys)


@frozen
class Not(Guard):
    """Holds when its inner guard fails; ``~g``."""

    inner: Guard
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"not {_paren(self.inner)}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Invert the inner guard, keeping its explanation."""
        ok, why = self.inner.test(ctx)
        if ok:
            return False, f"{why}, which must not be the case"
        return True, why


# --- measures and comparisons -------------------------------------------------------

_OPS: Final[dict[str, tuple[Callable[[Any, Any], bool], str]]] = {
    ">=": (operator.ge, "at least {} needed"),
    ">": (operator.gt, "more than {} needed"),
    "<=": (operator.le, "at most {} allowed"),
    "<": (operator.lt, "less than {} needed"),
    "==": (operator.eq, "must be {}"),
    "!=": (operator.ne, "must not be {}"),
    "in": (lambda a, b: a in b, "must be one of {}"),
    "not in": (lambda a, b: a not in b, "must not be any of {}"),
}


class Measure:
    """Something a guard reads and compares: a fact, a duration, a count.

    Use the comparison operators, `one_of`, `none_of`, `present` and `absent` to turn it
    into a guard.
    """

    __slots__ = ()
    name: str

    def read(self, ctx: GuardContext) -> object:
        """Return the measured value, or ``_MISSING`` when there is none."""
        raise NotImplementedError

    def says(self, value: object) -> str:
        """Say what the measure is ("age is 17")."""
        return f"{self.name} is {_show(value)}"

    def missing(self) -> str:
        """Say that there is nothing to measure."""
        return f"{self.name} is not recorded"

    def _compare(self, op: str, value: object) -> Guard:
        return Compare(self, op, value)

    def __ge__(self, value: object) -> Guard:
        return self._compare(">=", value)

    def __gt__(self, value: object) -> Guard:
        return self._compare(">", value)

    def __le__(self, value: object) -> Guard:
        return self._compare("<=", value)

    def __lt__(self, value: object) -> Guard:
        return self._compare("<", value)

    def __eq__(self, value: object) -> Guard:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: object) -> Guard:  # type: ignore[override]
        return self._compare("!=", value)

    __hash__ = None  # type: ignore[assignment]

    def one_of(self, *values: object) -> Guard:
        """Guard that the value is one of ``values``."""
        return self._compare("in", tuple(values))

    def none_of(self, *values: object) -> Guard:
        """Guard that the value is none of ``values``."""
        return self._compare("not in", tuple(values))

    def present(self) -> Guard:
        """Guard that there is a value at all (a fact is recorded and not empty)."""
        return Present(self)

    def absent(self) -> Guard:
        """Guard that there is no value."""
        return Not(Present(self))


class _Fact(Measure):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def read(self, ctx: GuardContext) -> object:
        value = ctx.data.get(self.name, _MISSING)
        return _MISSING if value is None else value


class _TimeInState(Measure):
    __slots__ = ()
    name = "time_in_state"

    def read(self, ctx: GuardContext) -> object:
        return ctx.now - ctx.case.state_entered_at

    def says(self, value: object) -> str:
        return f"the case has been in this state for {_show(value)}"


class _TimeSinceOpened(Measure):
    __slots__ = ()
    name = "time_since_opened"

    def read(self, ctx: GuardContext) -> object:
        return ctx.now - ctx.case.opened_at

    def says(self, value: object) -> str:
        return f"the case has been open for {_show(value)}"


class _Count(Measure):
    __slots__ = ("event", "name")

    def __init__(self, event: str) -> None:
        self.event = event
        self.name = f"count({event})"

    def read(self, ctx: GuardContext) -> object:
        return len(ctx.committed(self.event))

    def says(self, value: object) -> str:
        times = "time" if value == 1 else "times"
        return f"{self.event} was recorded {value} {times}"


class _Span(Measure):
    __slots__ = ("event", "name")

    def __init__(self, event: str) -> None:
        self.event = event
        self.name = f"span({self.event})"

    def read(self, ctx: GuardContext) -> object:
        entries = ctx.committed(self.event)
        if not entries:
            return _MISSING
        return entries[-1].at - entries[0].at

    def says(self, value: object) -> str:
        return f"{self.event} entries span {_show(value)}"

    def missing(self) -> str:
        return f"{self.event} was never recorded"


def _measure_key(m: Measure) -> tuple[str, str]:
    return type(m).__name__, m.name


def _freeze_operand(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, tuple):
        return tuple(_freeze_operand(v) for v in value)
    return freeze(value, "guard value")


@frozen
class Compare(Guard):
    """A measure compared with a value: ``fact("age") < 18``."""

    measure: Measure = field(eq=_measure_key)
    op: str
    value: object = field(converter=_freeze_operand)
    text: str = field(init=False, eq=False, repr=False)
    need: str = field(init=False, eq=False, repr=False)
    """What the comparison asks for, in words ("at least 3 needed")."""

    @text.default
    def _text(self) -> str:
        if self.op in {"in", "not in"}:
            return f"{self.measure.name} {self.op} ({_show(self.value)})"
        return f"{self.measure.name} {self.op} {_show(self.value)}"

    @need.default
    def _need(self) -> str:
        return _OPS[self.op][1].format(_show(self.value))

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Compare; a missing value or one of another type fails with a sentence."""
        func = _OPS[self.op][0]
        need = self.need
        actual = self.measure.read(ctx)
        if actual is _MISSING:
            return False, f"{self.measure.missing()}; {need}"
        try:
            ok = bool(func(actual, self.value))
        except TypeError:
            return False, f"{self.measure.says(actual)}, which cannot be compared; {need}"
        if ok:
            return True, f"{self.measure.says(actual)} ({need})"
        return False, f"{self.measure.says(actual)}; {need}"


@frozen
class Present(Guard):
    """A measure has a value: ``fact("family_contact_person").present()``."""

    measure: Measure = field(eq=_measure_key)
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"{self.measure.name} present"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when the value exists and is not an empty string or collection."""
        actual = self.measure.read(ctx)
        if actual is _MISSING or actual in ("", (), FrozenMap()):
            return False, f"{self.measure.missing()}; it is needed"
        return True, self.measure.says(actual)


def fact(name: str) -> Measure:
    """Measure a field of the case's data, as it would be after the step.

    >>> (fact("family_contact_attempts") >= 3).text
    'family_contact_attempts >= 3'
    """
    return _Fact(name)


def time_in_state() -> Measure:
    """Measure how long the case has been in its current state, by the injected clock."""
    return _TimeInState()


def time_since_opened() -> Measure:
    """Measure how long the case has been open, by the injected clock."""
    return _TimeSinceOpened()


def count(event: str) -> Measure:
    """Measure how many times ``event`` was committed on this case (refusals not counted)."""
    return _Count(event)


def span(event: str) -> Measure:
    """Measure the time from the first to the last committed ``event``; missing if none."""
    return _Span(event)


# --- records and people -----------------------------------------------------------


@frozen
class Evidence(Guard):
    """A document of this kind is on file (or is supplied with the step)."""

    kind: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"evidence {self.kind}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when the case's evidence has this kind of document."""
        ref = ctx.evidence.get(self.kind)
        if ref:
            return True, f"{self.kind} is on file ({ref})"
        return False, f"no {self.kind} on file; it is needed"


def evidence(*kinds: str) -> Guard:
    """Guard that each document kind is on file.

    >>> evidence("referral_letter", "health_certificate").text
    'evidence referral_letter and evidence health_certificate'
    """
    if not kinds:
        msg = "evidence() needs at least one document kind"
        raise TypeError(msg)
    guards: tuple[Guard, ...] = tuple(Evidence(k) for k in kinds)
    return guards[0] if len(guards) == 1 else AllOf(guards)


CONSENT_PREFIX: Final = "consent:"


@frozen
class Consent(Guard):
    """The client's informed consent for this purpose is on file.

    Consent is recorded as evidence of kind ``consent:<purpose>`` (the signed form's
    reference), so it travels with the case's other documents and its audit entries.
    """

    purpose: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"consent to {self.purpose}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when consent for the purpose is on file."""
        ref = ctx.evidence.get(CONSENT_PREFIX + self.purpose)
        if ref:
            return True, f"the client's consent to {self.purpose} is recorded ({ref})"
        return False, f"no consent to {self.purpose} is recorded; the client must consent"


def consent(purpose: str) -> Guard:
    """Guard that the client's informed consent for ``purpose`` is recorded."""
    return Consent(purpose)


@frozen
class NotActorOf(Guard):
    """Separation of duties: the actor did not commit ``event`` earlier on this case."""

    event: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"not the actor of {self.event}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Fail when the same actor id committed ``event`` before."""
        if any(e.actor_id == ctx.actor.id for e in ctx.committed(self.event)):
            return False, (
                f"{ctx.actor.id} did {self.event} on this case; someone else must do {ctx.event}"
            )
        return True, f"{ctx.actor.id} did not do {self.event} on this case"


def not_actor_of(event: str) -> Guard:
    """Guard that the actor is not the one who committed ``event`` on this case."""
    return NotActorOf(event)


@frozen
class NotAssignee(Guard):
    """Separation of duties: the actor is not the case's assigned worker."""

    text: str = field(default="not the assigned worker", init=False, eq=False, repr=False)

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Fail when the actor is the assignee."""
        if ctx.case.assignee is not None and ctx.case.assignee == ctx.actor.id:
            return False, f"{ctx.actor.id} is the case's own worker; someone else must decide"
        return True, f"{ctx.actor.id} is not the case's own worker"


def not_assignee() -> Guard:
    """Guard that the actor is not the case's assigned worker (four eyes)."""
    return NotAssignee()


@frozen
class Check(Guard):
    """The escape hatch: a named host function ``fn(ctx) -> bool | (bool, why)``."""

    name: str
    fn: Callable[[GuardContext], bool | tuple[bool, str]]
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"check {self.name}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Call the function and normalise its answer."""
        result = self.fn(ctx)
        if isinstance(result, tuple):
            ok, why = result
            return bool(ok), why
        return bool(result), f"{self.name} {'holds' if result else 'does not hold'}"


def check(name: str, fn: Callable[[GuardContext], bool | tuple[bool, str]]) -> Guard:
    """Wrap a host function as a named guard.

    Args:
        name: A stable name, shown on diagrams and in audit entries.
        fn: Called with the `GuardContext`; returns a bool or (bool, sentence). It may
            call ``ctx.history()`` for the trail.
    """
    return Check(name, fn)
