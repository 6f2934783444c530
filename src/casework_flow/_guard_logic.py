"""Can a guard ever hold? Its disjunctive normal form, and conflicts within each term.

Sound by construction: a guard is called impossible only when every term of its normal
form holds two things that cannot both be true (a leaf and its negation, bounds on one
measure that leave no value, a fact both recorded and absent). A host `check` is a leaf
the analysis cannot see into, so it never makes a guard impossible on its own.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import product
from typing import Final

from ._guard_base import ALWAYS, AllOf, AnyOf, Guard, Not, show, untraced
from ._measures import Compare, Count, Present, Span, TimeInState, TimeSinceOpened

__all__ = ["impossible"]

_MAX_TERMS: Final = 256

Literal_ = tuple[Guard, bool]


def _dnf(g: Guard, *, positive: bool = True) -> list[list[Literal_]] | None:  # noqa: PLR0911 - per node kind
    """Disjunctive normal form of ``g`` (or its negation); None when it grows too big."""
    g = untraced(g)
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
    for r in _bounds(term).values():
        why = r.conflict()
        if why is not None:
            return why
    return None


def _bounds(term: list[Literal_]) -> dict[tuple[str, str], _Range]:
    """What the term's comparisons say about each measure."""
    bounds: dict[tuple[str, str], _Range] = {}
    negated: list[tuple[_Range, Compare]] = []
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
        elif isinstance(leaf, Compare):
            negated.append((r, leaf))
    # "not x >= 3" is "x < 3" where x has a value: always for counts and times, and for a
    # fact where the same conjunction also asks for its value (an absent fact fails every
    # comparison, so its negation would hold).
    for r, leaf in negated:
        if (r.present or r.always) and leaf.op in _FLIPPED:
            r.add(_FLIPPED[leaf.op], leaf.value)
    return bounds


_FLIPPED: Final = {
    ">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "==",
    "in": "not in", "not in": "in",
}  # fmt: skip
"""The comparison that holds where another does not, for a measure with a value."""


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
        self.always = floor is not None
        """Whether the measure always has a value (a count, a time), as a fact may not."""
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
        pinned = self.low and self.high and self.low == (self.high[0], True) and self.high[1]
        if pinned and self.low is not None and self.low[0] in self.banned:
            return f"{name} can only be {show(self.low[0])}, which it may not be"
        if self.allowed is not None and not [
            v for v in self.allowed - self.banned if self._fits(v)
        ]:
            return f"no value is left for {name}"
        return None

    def _fits(self, v: object) -> bool:
        """Whether ``v`` may be the measure's value, as far as its bounds go."""
        if _number(v):
            return self._inside(v)
        return not (self.low or self.high) or self.low == (0, True)

    def _inside(self, v: object) -> bool:
        try:
            if self.low and (v < self.low[0] or (v == self.low[0] and not self.low[1])):  # type: ignore[operator]
                return False
            if self.high and (v > self.high[0] or (v == self.high[0] and not self.high[1])):  # type: ignore[operator]
                return False
        except TypeError:
            return True
        return True
