"""Rules over time: the monitors agree with the patterns read segment by segment."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import Actor, seed
from casework_flow._audit import AuditEntry, EntryKind, build_entry, genesis_hash
from casework_flow.exceptions import InvalidInput
from casework_flow.testing import (
    Standing,
    absence,
    after,
    after_until,
    before,
    between,
    existence,
    globally,
    precedence,
    response,
    universality,
    when,
)
from casework_flow.testing._monitors import monitored

from .conftest import START

WORKFLOW = seed.build_workflow()
LETTERS = ("p", "s", "q", "r")
WITHIN = timedelta(hours=10)


def letter(name: str):  # type: ignore[no-untyped-def]
    return when(name, lambda m: name in m.entry.event.split("+"))


P, S, Q, R = (letter(x) for x in LETTERS)
SCOPES = {
    "globally": globally(),
    "before": before(R),
    "after": after(Q),
    "between": between(Q, R),
    "after_until": after_until(Q, R),
}
PATTERNS = {
    "absence": lambda scope: absence(P, scope=scope),
    "existence": lambda scope: existence(P, scope=scope),
    "universality": lambda scope: universality(P, scope=scope),
    "precedence": lambda scope: precedence(S, P, scope=scope),
    "response": lambda scope: response(P, S, scope=scope),
    "bounded": lambda scope: response(P, S, within=WITHIN, scope=scope),
}


def trail_of(steps: list[tuple[frozenset[str], int]]) -> tuple[AuditEntry, ...]:
    """Entries whose events name the letters that hold there, ``hours`` apart."""
    entries, prev, at = [], genesis_hash("T"), START
    for seq, (letters, hours) in enumerate(steps, start=1):
        at += timedelta(hours=hours)
        e = build_entry(
            case_id="T", seq=seq, kind=EntryKind.RECORDED, at=at, actor=Actor("w", {"w"}),
            event="+".join(sorted(letters)) or "-", from_state="reported", to_state="reported",
            workflow=WORKFLOW.name, workflow_version=1, prev_hash=prev, assignee=None,
        )  # fmt: skip
        entries.append(e)
        prev = e.hash
    return tuple(entries)


def windows(scope: str, marks: list[frozenset[str]]) -> list[tuple[int, int, bool]]:
    """(start, end, closed by R) of every stretch the scope checks, one per Q."""
    n = len(marks)
    if scope == "globally":
        return [(0, n, False)]
    if scope == "before":
        end = next((i for i, m in enumerate(marks) if "r" in m), n)
        return [(0, end, end < n)]
    found = []
    for q in (i for i, m in enumerate(marks) if "q" in m):
        if scope == "after":
            found.append((q, n, False))
            continue
        end = next((j for j in range(q + 1, n) if "r" in marks[j]), n)
        if scope == "after_until" or end < n:
            found.append((q, end, end < n))
    return found


def judged(kind: str, window: tuple[int, int, bool], marks, times):  # type: ignore[no-untyped-def]  # noqa: PLR0911 - one per pattern
    """(where it broke, or None; whether something is still owed at the end)."""
    a, b, closed = window
    span = range(a, b)
    if kind == "absence":
        return next((i for i in span if "p" in marks[i]), None), False
    if kind == "universality":
        return next((i for i in span if "p" not in marks[i]), None), False
    if kind == "existence":
        if any("p" in marks[i] for i in span):
            return None, False
        return (b if closed else None), not closed
    if kind == "precedence":
        for i in span:
            if "s" in marks[i]:
                return None, False
            if "p" in marks[i]:
                return i, False
        return None, False
    breaks, owed = [], False
    for i in (i for i in span if "p" in marks[i]):
        due = times[i] + WITHIN if kind == "bounded" else None
        answer = next((j for j in range(i + 1, b) if "s" in marks[j]), None)
        late = None if due is None else next((k for k in range(i + 1, b) if times[k] > due), None)
        if late is not None and (answer is None or late <= answer):
            breaks.append(late)
        elif answer is None and closed:
            breaks.append(b)
        elif answer is None:
            owed = True
    return (min(breaks) if breaks else None), owed


def reference(pattern: str, scope: str, steps):  # type: ignore[no-untyped-def]
    marks = [m for m, _ in steps]
    times = list(itertools.accumulate(timedelta(hours=h) for _, h in steps))
    results = [judged(pattern, w, marks, times) for w in windows(scope, marks)]
    broken = [i for i, _ in results if i is not None]
    if broken:
        return Standing.BROKEN, min(broken) + 1
    if scope == "between":
        open_windows = [(q, b) for q, b, closed in windows("after_until", marks) if not closed]
        owed = any(
            judged(pattern, (q, b, True), marks, times)[0] is not None for q, b in open_windows
        )
        return (Standing.PENDING if owed else Standing.HOLDS), None
    return (Standing.PENDING if any(o for _, o in results) else Standing.HOLDS), None


STEPS = st.lists(
    st.tuples(st.frozensets(st.sampled_from(LETTERS), max_size=2), st.integers(0, 8)),
    max_size=12,
)


@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@settings(max_examples=150, deadline=None)
@given(steps=STEPS)
def test_every_pattern_in_every_scope_agrees_with_the_segments_read_one_by_one(
    pattern, scope, steps
):
    prop = PATTERNS[pattern](SCOPES[scope])
    trail = trail_of(steps)
    state = prop.monitor(WORKFLOW, trail)
    verdict, _ = prop.verdict(WORKFLOW, state)
    seq = state.broken[0] if state.broken is not None else None
    assert (verdict, seq) == reference(pattern, scope, steps)


@settings(max_examples=100, deadline=None)
@given(
    steps=STEPS, pattern=st.sampled_from(sorted(PATTERNS)), scope=st.sampled_from(sorted(SCOPES))
)
def test_a_monitor_kept_per_beginning_equals_one_folded_from_scratch(steps, pattern, scope):
    prop = PATTERNS[pattern](SCOPES[scope])
    trail = trail_of(steps)
    for end in range(1, len(trail) + 1):
        assert monitored(prop, WORKFLOW, trail[:end]) == prop.monitor(WORKFLOW, trail[:end])


def test_a_deadline_passed_by_now_breaks_a_response_and_a_finished_case_owes_nothing_more():
    prop = response(P, S, within="PT10H")
    trail = trail_of([(frozenset("p"), 1)])
    state = prop.monitor(WORKFLOW, trail)
    at = trail[-1].at
    assert prop.verdict(WORKFLOW, state, now=at + timedelta(hours=10))[0] is Standing.PENDING
    verdict, why = prop.verdict(WORKFLOW, state, now=at + timedelta(hours=11))
    assert verdict is Standing.BROKEN
    assert why == f"the p of entry 1 had no s by {(at + WITHIN).isoformat()}"
    assert prop.verdict(WORKFLOW, state, finished=True)[0] is Standing.BROKEN
    owed = existence(P).monitor(WORKFLOW, trail_of([(frozenset("s"), 1)]))
    assert existence(P).verdict(WORKFLOW, owed, finished=True) == (Standing.BROKEN, "no p yet")


def test_properties_say_themselves_in_words_and_refuse_what_they_cannot_mean():
    assert response(P, S, within="P14D", scope=after(Q)).text == (
        "p is followed by s within 14 days after each q"
    )
    assert precedence(S, P, scope=between(Q, R)).text == "p only after s between q and r"
    assert absence(P & ~S | Q).text == "never ((p and not s) or q)"
    named = absence(P, name="no p", requirements=["SOP-1"])
    assert (named.text, named.requirements) == ("no p", ("SOP-1",))
    with pytest.raises(InvalidInput, match="'fortnight' is not an ISO 8601 duration"):
        response(P, S, within="fortnight")
    with pytest.raises(InvalidInput, match="requirements"):
        absence(P, requirements=[""])
