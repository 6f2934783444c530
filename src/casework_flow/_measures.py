"""Measures (facts, durations, counts, spans) and the comparisons that make them guards."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from attrs import field, frozen

from ._case import MASK
from ._frozen import FrozenMap, freeze
from ._guard_base import MISSING, Guard, GuardContext, Not, show

__all__ = [
    "Compare",
    "Count",
    "Fact",
    "Linked",
    "Measure",
    "Present",
    "Span",
    "TimeInState",
    "TimeSinceOpened",
    "count",
    "fact",
    "linked",
    "span",
    "time_in_state",
    "time_since_opened",
]

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
        """Return the measured value, or ``MISSING`` when there is none."""
        raise NotImplementedError

    def says(self, value: object) -> str:
        """Say what the measure is ("age is 17")."""
        return f"{self.name} is {show(value)}"

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


class Fact(Measure):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def read(self, ctx: GuardContext) -> object:
        value = ctx.data.get(self.name)
        return MISSING if value is None else value


class TimeInState(Measure):
    __slots__ = ()
    name = "time_in_state"

    def read(self, ctx: GuardContext) -> object:
        return ctx.now - ctx.case.state_entered_at

    def says(self, value: object) -> str:
        return f"the case has been in this state for {show(value)}"


class TimeSinceOpened(Measure):
    __slots__ = ()
    name = "time_since_opened"

    def read(self, ctx: GuardContext) -> object:
        return ctx.now - ctx.case.opened_at

    def says(self, value: object) -> str:
        return f"the case has been open for {show(value)}"


class Count(Measure):
    __slots__ = ("event", "name")

    def __init__(self, event: str) -> None:
        self.event = event
        self.name = f"count({event})"

    def read(self, ctx: GuardContext) -> object:
        return len(ctx.committed(self.event))

    def says(self, value: object) -> str:
        times = "time" if value == 1 else "times"
        return f"{self.event} was recorded {value} {times}"


class Linked(Measure):
    __slots__ = ("kind", "name", "within")

    def __init__(self, kind: str, within: timedelta | None = None) -> None:
        self.kind = kind
        self.within = within
        self.name = (
            f"linked({kind})" if within is None else f"linked({kind}, within {show(within)})"
        )

    def read(self, ctx: GuardContext) -> object:
        since = None if self.within is None else ctx.now - self.within
        return sum(
            1
            for link in ctx.case.links
            if link.kind == self.kind
            and link.side == "to"
            and (since is None or link.other_opened_at >= since)
        )

    def says(self, value: object) -> str:
        cases = "case" if value == 1 else "cases"
        span = "" if self.within is None else f" opened within {show(self.within)}"
        return f"{value} {self.kind} {cases}{span} linked"


class Span(Measure):
    __slots__ = ("event", "name")

    def __init__(self, event: str) -> None:
        self.event = event
        self.name = f"span({self.event})"

    def read(self, ctx: GuardContext) -> object:
        entries = ctx.committed(self.event)
        if not entries:
            return MISSING
        return entries[-1].at - entries[0].at

    def says(self, value: object) -> str:
        return f"{self.event} entries span {show(value)}"

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


def _shown(measure: Measure, value: object, ctx: GuardContext) -> object:
    """The value a verdict may show: a personal field's is masked."""
    if isinstance(measure, Fact) and measure.name in ctx.personal:
        return MASK
    return value


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
            return f"{self.measure.name} {self.op} ({show(self.value)})"
        return f"{self.measure.name} {self.op} {show(self.value)}"

    @need.default
    def _need(self) -> str:
        return _OPS[self.op][1].format(show(self.value))

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Compare; a missing value or one of another type fails with a sentence."""
        func = _OPS[self.op][0]
        need = self.need
        actual = self.measure.read(ctx)
        if actual is MISSING:
            return False, f"{self.measure.missing()}; {need}"
        says = self.measure.says(_shown(self.measure, actual, ctx))
        try:
            ok = bool(func(actual, self.value))
        except TypeError:
            return False, f"{says}, which cannot be compared; {need}"
        if ok:
            return True, f"{says} ({need})"
        return False, f"{says}; {need}"


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
        if actual is MISSING or actual in ("", (), FrozenMap()):
            return False, f"{self.measure.missing()}; it is needed"
        return True, self.measure.says(_shown(self.measure, actual, ctx))


def fact(name: str) -> Measure:
    """Measure a field of the case's data, as it would be after the step.

    >>> (fact("family_contact_attempts") >= 3).text
    'family_contact_attempts >= 3'
    """
    return Fact(name)


def time_in_state() -> Measure:
    """Measure how long the case has been in its current state, by the injected clock."""
    return TimeInState()


def time_since_opened() -> Measure:
    """Measure how long the case has been open, by the injected clock."""
    return TimeSinceOpened()


def count(event: str) -> Measure:
    """Measure how many times ``event`` was committed on this case (refusals not counted)."""
    return Count(event)


def linked(kind: str, *, within: timedelta | None = None) -> Measure:
    """Measure how many cases this case links to as ``kind``.

    For a re-entry, the same client's earlier cases (``within``: only those opened in
    that span before the step); for membership, the family case (0 or 1).
    """
    return Linked(kind, within)


def span(event: str) -> Measure:
    """Measure the time from the first to the last committed ``event``; missing if none."""
    return Span(event)
