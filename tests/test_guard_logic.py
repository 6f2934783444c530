"""The guard analysis on random conjunctions over facts: sound, and complete on this fragment.

A guard is called impossible exactly when no value of its facts (absent, or any number)
satisfies it, with the real guards deciding: every threshold lies on an integer, so the
numbers between and around them (halves) stand for every value there is.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow._guard_base import AllOf, Guard, Not
from casework_flow._guard_logic import impossible
from casework_flow.guards import fact

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
