"""Five rules over time, each broken by one flaw planted in an intake workflow.

The sound workflow keeps all five: a referral is answered (or lapses, by its timer)
within 14 days; a case is closed only after a review since it was opened or last
reopened; no timer closes a case; no referral without the client's consent; after a
transfer, the receiving unit assesses before it refers. Each variant plants one flaw
that only a tool trying time, reopenings, timers, overrides and transfers can see:

- the referral's timer waits 20 days, so an unanswered referral misses its deadline;
- a second way to close counts reviews over the whole trail, so it breaks the rule only
  after a reopening;
- the follow-up timer closes the case;
- a senior worker may override the missing consent;
- the workflow allows transfers, and the case keeps its old assessment across one.

`explore` finds each with its shortest counterexample; `check_rules` and the random
`workflow_machine` (seeded with one situation only, so the hunt is its own) find each
too; `check_trails` finds the broken deadline in a store as of a later day.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from casework_flow import Actor, Engine, Workflow, replay
from casework_flow.files import loads_workflow
from casework_flow.stores import SQLiteStore
from casework_flow.testing import (
    Inconclusive,
    Property,
    RuleViolated,
    Standing,
    absence,
    after,
    by_timer,
    check_rules,
    check_trails,
    existence,
    explore,
    fires,
    opened,
    precedence,
    reach,
    reopened,
    response,
    transferred,
    when,
    workflow_machine,
)
from casework_flow.testing._explore import _forever
from casework_flow.time import ManualClock

from .conftest import START

SOUND = textwrap.dedent(
    """
    name: planted-intake
    version: 1
    initial: reported
    roles: [worker, senior, system]
    handovers: {}
    states:
    - {id: reported}
    - {id: assessment}
    - id: referral_pending
      timers: [{after: P14D, event: lapse}]
    - id: follow_up
      timers: [{after: P30D, event: remind}]
    - {id: reviewed}
    - {id: closed, terminal: true}
    transitions:
    - {event: assess, source: reported, dest: assessment, roles: [worker]}
    - {event: refer, source: assessment, dest: referral_pending, roles: [worker],
       guard: {consent: referral}}
    - {event: answered, source: referral_pending, dest: follow_up, roles: [worker]}
    - {event: lapse, source: referral_pending, dest: follow_up, roles: [system]}
    - {event: remind, source: follow_up, stay: true, roles: [system]}
    - {event: review, source: follow_up, dest: reviewed, roles: [worker]}
    - {event: close, source: reviewed, dest: closed, roles: [worker]}
    - {event: reopen, source: closed, dest: follow_up, roles: [worker],
       reason_required: true, reopens: true}
    """
)

FLAWS = {
    "answered": [("{after: P14D, event: lapse}", "{after: P20D, event: lapse}")],
    "reviewed": [
        (
            "- {event: close, source: reviewed,",
            (
                "- {event: close, source: follow_up, dest: closed, roles: [worker],\n"
                "   guard: {count: review, op: '>=', value: 1}}\n"
                "- {event: close, source: reviewed,"
            ),
        )
    ],
    "no-timer-close": [
        ("{after: P30D, event: remind}", "{after: P30D, event: auto_close}"),
        (
            "- {event: remind, source: follow_up, stay: true, roles: [system]}",
            "- {event: auto_close, source: follow_up, dest: closed, roles: [system]}",
        ),
    ],
    "consent": [
        (
            "guard: {consent: referral}}",
            "guard: {consent: referral}, override: {roles: [senior], reason_codes: [URGENT]}}",
        )
    ],
    "assessed-here": [
        ("handovers: {}", "handovers: {transfer: {send: [senior], answer: [senior]}}")
    ],
}


def intake(flaw: str | None = None) -> Workflow:
    """The sound intake workflow, or the variant with one flaw planted."""
    text = SOUND
    for old, new in FLAWS[flaw] if flaw else ():
        assert old in text
        text = text.replace(old, new)
    return loads_workflow(text, "yaml")


def _without_consent(m) -> bool:  # type: ignore[no-untyped-def]
    return "consent:referral" not in m.after.evidence


PROPERTIES: dict[str, Property] = {
    "answered": response(fires("refer"), reach("follow_up"), within="P14D", name="answered"),
    "reviewed": precedence(
        fires("review"), fires("close"), scope=after(opened() | reopened()), name="reviewed"
    ),
    "no-timer-close": absence(by_timer() & reach("closed"), name="no-timer-close"),
    "consent": absence(
        fires("refer") & when("no consent on file", _without_consent), name="consent"
    ),
    "assessed-here": precedence(
        fires("assess"), fires("refer"), scope=after(opened() | transferred()), name="assessed-here"
    ),
}
ALL = tuple(PROPERTIES.values())

SHORTEST = {
    "answered": ["open", "assess", "refer"],
    "reviewed": ["open", "assess", "refer", "lapse", "review", "close", "reopen", "close"],
    "no-timer-close": ["open", "assess", "refer", "lapse", "auto_close"],
    "consent": ["open", "assess", "refer"],
    "assessed-here": ["open", "assess", "transfer", "transfer", "refer"],
}
WHY = {
    "answered": "the refer of entry 3 can go unanswered past 2024-01-15T00:00:00+00:00",
    "reviewed": "entry 8: close with no review before it",
    "no-timer-close": "entry 5: a timer and reach closed",
    "consent": "entry 3: refer and no consent on file",
    "assessed-here": "entry 5: refer with no assess before it",
}


def _events(err: RuleViolated) -> list[str]:
    return [e.event for e in err.trail]


def test_the_sound_workflow_keeps_all_five_rules_with_every_tool():
    wf = intake()
    found = explore(wf, *ALL, depth=10)
    assert found.ok, str(found)
    assert found.reached == {s.id for s in wf.states}
    check_rules(wf, *ALL)
    run_state_machine_as_test(workflow_machine(wf, rules=ALL))


@pytest.mark.parametrize("flaw", list(FLAWS))
def test_explore_finds_each_planted_flaw_with_its_shortest_trail(flaw):
    wf = intake(flaw)
    found = explore(wf, *ALL, depth=10)
    assert found.violation is not None, flaw
    assert found.violation.rule == PROPERTIES[flaw].text
    assert _events(found.violation) == SHORTEST[flaw]
    assert WHY[flaw] in found.violation.why
    replay(wf, found.violation.trail)
    for other in set(FLAWS) - {flaw}:
        assert explore(wf, PROPERTIES[other], depth=10).ok, (flaw, other)


@pytest.mark.parametrize("flaw", list(FLAWS))
def test_check_rules_finds_each_planted_flaw_as_short_as_explore(flaw):
    wf = intake(flaw)
    with pytest.raises(RuleViolated) as info:
        check_rules(wf, *ALL)
    assert info.value.rule == PROPERTIES[flaw].text
    assert len(info.value.trail) == len(SHORTEST[flaw])


UNSHRUNK = settings(max_examples=400, phases=[Phase.explicit, Phase.reuse, Phase.generate])
"""Finding is quick; shrinking a stateful run takes 6 to 40 seconds a flaw, so skip it."""


@pytest.mark.parametrize("flaw", list(FLAWS))
def test_the_random_workflow_machine_finds_each_planted_flaw_on_its_own(flaw):
    wf = intake(flaw)
    with pytest.raises(RuleViolated) as info:
        run_state_machine_as_test(workflow_machine(wf, rules=ALL, budget=1), settings=UNSHRUNK)
    assert info.value.rule == PROPERTIES[flaw].text
    replay(wf, info.value.trail)
    assert PROPERTIES[flaw].violation(wf, info.value.trail) is not None


def test_a_liveness_rule_the_bound_cuts_off_is_inconclusive_never_passed():
    wf = intake()
    answered = response(fires("refer"), reach("follow_up"), name="every referral answered")
    found = explore(wf, answered, depth=2)
    assert found.violation is None
    assert not found.ok
    [open_] = found.inconclusive
    assert (open_.rule, open_.why) == (answered.text, None)
    assert [e.event for e in open_.trail] == ["open", "assess", "refer"]
    with pytest.raises(Inconclusive, match="explore deeper"):
        found.raise_for_violation()
    assert "not settled within 2 steps: every referral answered" in str(found)


def test_a_liveness_rule_a_complete_walk_settles_passes_and_a_loop_keeps_it_open():
    wf = intake()
    answered = response(fires("refer"), reach("follow_up"), name="every referral answered")
    assert explore(wf, answered, depth=10).ok
    closes = existence(reach("closed"), name="every case closes")
    [forever] = explore(wf, closes, depth=10).inconclusive
    assert forever.why == "a loop of steps from here leaves it owed forever"
    assert [e.event for e in forever.trail][-1] == "remind"


OWED = st.dictionaries(st.integers(0, 7), st.lists(st.integers(0, 9), max_size=4), max_size=8)


@given(graph=OWED, owing=st.sets(st.integers(0, 9)))
def test_a_run_owes_forever_exactly_where_owing_situations_loop_or_dead_end(graph, owing):
    nodes = owing & set(graph)
    succ = {n: set(graph[n]) & nodes for n in nodes}
    dead = {n for n in nodes if not graph[n]}
    alive = set(nodes) - dead
    while True:
        leaves = {n for n in alive if not succ[n] & alive}
        if not leaves:
            break
        alive -= leaves
    found = _forever(owing, graph)  # type: ignore[arg-type]
    assert (found is None) == (not dead and not alive)
    if found is not None:
        assert found in dead or found in alive or _on_loop(found, succ)


def _on_loop(node: int, succ: dict[int, set[int]]) -> bool:
    seen, todo = set(), list(succ[node])
    while todo:
        n = todo.pop()
        if n == node:
            return True
        if n not in seen:
            seen.add(n)
            todo.extend(succ[n])
    return False


def test_check_trails_finds_the_missed_deadline_in_a_store_as_of_a_later_day(tmp_path):
    wf = intake("answered")
    clock = ManualClock(START)
    engine = Engine([wf], store=SQLiteStore(tmp_path / "cases.db"), clock=clock)
    worker = Actor("w-1", {"worker"})
    for case_id in ("LATE", "ANSWERED", "FRESH"):
        engine.open(wf.name, case_id, actor=worker, assignee="w-1")
        engine.fire(case_id, "assess", actor=worker)
    for case_id in ("LATE", "ANSWERED"):
        engine.fire(case_id, "refer", actor=worker, evidence={"consent:referral": "F-1"})
    clock.advance(timedelta(days=3))
    engine.fire("ANSWERED", "answered", actor=worker)
    rule = PROPERTIES["answered"]
    assert list(check_trails(engine.store, [rule], workflows=[wf], now=START + timedelta(10))) == []
    pending = list(
        check_trails(engine.store, [rule], workflows=[wf], now=START + timedelta(10), pending=True)
    )
    assert [(f.case_id, f.verdict) for f in pending] == [("LATE", Standing.PENDING)]
    late = list(check_trails(engine.store, [rule], workflows=[wf], now=START + timedelta(15)))
    assert [(f.case_id, f.verdict, f.seq) for f in late] == [("LATE", Standing.BROKEN, None)]
    assert "by 2024-03-18T01:30:00+00:00" in late[0].why
