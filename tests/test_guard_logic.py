"""The guard analysis on random conjunctions over facts: sound, and complete on this fragment.

A guard is called impossible exactly when no value of its facts (absent, or any number)
satisfies it, with the real guards deciding: every threshold lies on an integer, so the
numbers between and around them (halves) stand for every value there is.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow._guard_base import ALWAYS, AllOf, AnyOf, Guard, Not
from casework_flow._guard_logic import impossible
from casework_flow.guards import count, fact, span

from .test_guards import context

_ABSENT = object()
VALUES = [_ABSENT, *(n / 2 for n in range(-6, 17))]
OPS = [">=", ">", "<=", "<", "==", "!="]


@st.composite
def _literal(draw: st.DrawFn) -> Guard:
    name = draw(st.sampled_from(["x", "y"]))
    kind = draw(st.sampled_from(["compare", "compare", "compare", "in", "present"]))
    if kind == "compare":
        op = draw(st.sampled_from(OPS))
        g = _compare(name, op, draw(st.integers(-1, 6)))
    elif kind == "in":
        values = tuple(sorted(draw(st.sets(st.integers(-1, 6), min_size=1, max_size=3))))
        g = fact(name).one_of(*values) if draw(st.booleans()) else fact(name).none_of(*values)
    else:
        g = fact(name).present()
    return Not(g) if draw(st.booleans()) else g


def _compare(name: str, op: str, value: int) -> Guard:
    f = fact(name)
    return {
        ">=": f >= value, ">": f > value, "<=": f <= value, "<": f < value,
        "==": f == value, "!=": f != value,
    }[op]  # fmt: skip


def _holds_somewhere(g: Guard) -> bool:
    for x, y in itertools.product(VALUES, VALUES):
        data = {k: v for k, v in (("x", x), ("y", y)) if v is not _ABSENT}
        if g.test(context(data=data))[0]:
            return True
    return False


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_literal(), min_size=1, max_size=4))
def test_a_conjunction_is_impossible_exactly_when_no_value_satisfies_it(parts):
    g = parts[0] if len(parts) == 1 else AllOf(tuple(parts))
    said = impossible(g)
    assert (said is not None) == (not _holds_somewhere(g)), (g.text, said)


X = fact("x")
CONFLICTS = [
    (X == 1) & (X == 2),
    (X == 3) & (X != 3),
    (X == 3) & X.one_of(1, 2),
    (X == "a") & (X >= 1),
    X.one_of(1, 2) & X.none_of(1, 2),
    Not(ALWAYS),
    AllOf((ALWAYS, Not(ALWAYS))),
    count("record_visit") < 0,
    span("record_visit") < timedelta(0),
]
POSSIBLE = [
    (X == 1) & (X == 1),
    (X == 3) & X.one_of(3, 4),
    X.one_of("a") & (X != "b"),
    ALWAYS,
    count("record_visit") < 1,
    span("record_visit") <= timedelta(0),
]


def test_known_conflicts_are_found_and_satisfiable_guards_are_not():
    assert [g.text for g in CONFLICTS if impossible(g) is None] == []
    assert [g.text for g in POSSIBLE if impossible(g) is not None] == []


def test_a_guard_too_large_to_expand_is_never_called_impossible():
    """Nine choices of two make 512 terms, over the analysis's bound: it says nothing."""
    contradiction = (X > 5) & (X < 1)
    wide = AllOf(tuple(AnyOf((contradiction, contradiction)) for _ in range(9)))
    assert impossible(AllOf((contradiction, AnyOf((contradiction, contradiction))))) is not None
    assert impossible(wide) is None
    assert impossible(AllOf((wide, X == 1))) is None
