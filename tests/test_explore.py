"""explore: exhaustive bounded search; cases and contexts strategies; the pytest plugin."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Engine,
    InvalidInput,
    ManualClock,
    State,
    Transition,
    Workflow,
    replay,
    verify,
)
from casework_flow.guards import always, count, evidence, fact, not_actor_of, time_in_state
from casework_flow.testing import (
    RuleViolated,
    always_before,
    cases,
    contexts,
    eventually_terminal,
    explore,
    holds,
    never,
    only_roles,
    reach,
)

from .test_testing_kit import (
    LAX_SEED,
    PLANTED,
    REFERRAL_RULE,
    RULE_TYPES,
    SEED,
    SHORTEST_BREAK,
    SOUND,
    SOUND_RULES,
)

pytest_plugins = ["pytester"]


def test_the_seed_keeps_its_rules_within_twelve_steps():
    found = explore(
        SEED,
        REFERRAL_RULE,
        only_roles("refer_to_shelter_unit", {"supervisor"}),
        always_before("terminate", "complete_follow_up"),
        eventually_terminal(),
        depth=12,
    )
    assert found.ok
    assert found.violation is None
    found.raise_for_violation()
    assert found.reached == {s.id for s in SEED.states}
    assert found.visited == len(found.trails) > len(SEED.states)
    assert str(found).startswith(
        "street-beggar-family-conflict@1: no rule broken within 12 steps ("
    )
    assert f"{found.visited:,} situations visited" in str(found)


def test_a_broken_seed_variant_gives_the_shortest_counterexample():
    found = explore(LAX_SEED, REFERRAL_RULE, depth=12)
    assert not found.ok
    assert found.violation is not None
    assert [e.event for e in found.violation.trail] == SHORTEST_BREAK
    assert "record_contact_attempt was recorded 0 times" in found.violation.why
    with pytest.raises(RuleViolated, match="never reach referral_pending"):
        found.raise_for_violation()
    assert verify(found.violation.trail).ok


@pytest.mark.parametrize(("planted", "rule", "expected"), PLANTED, ids=RULE_TYPES)
def test_each_rule_type_catches_a_planted_violation(planted, rule, expected):
    found = explore(planted, rule, depth=6)
    assert found.violation is not None
    assert expected in str(found.violation)


@pytest.mark.parametrize("rule", SOUND_RULES, ids=RULE_TYPES)
def test_a_sound_process_passes_every_rule_type(rule):
    found = explore(SOUND, rule, depth=10)
    assert found.ok, str(found)
    assert found.reached == {"reported", "home_visit", "review", "closed"}


def test_the_bound_is_a_bound():
    planted = PLANTED[0][0]
    rule = only_roles("close_now", {"supervisor"})
    assert explore(planted, rule, depth=1).ok
    shallow = explore(planted, rule, depth=1)
    assert "no rule broken within 1 steps" in str(shallow)
    deep = explore(planted, rule, depth=2)
    assert deep.violation is not None
    assert len(deep.violation.trail) == 3


def test_bad_depth_is_refused():
    with pytest.raises(InvalidInput, match="depth"):
        explore(SOUND, depth=-1)
    with pytest.raises(InvalidInput, match="depth"):
        explore(SOUND, depth="3")  # type: ignore[arg-type]


def chain(edges: list[tuple[int, int]], size: int) -> Workflow:
    states = [State(f"s{i}") for i in range(size)] + [State("end", terminal=True)]
    transitions = [Transition(f"go_{a}_{b}", source=f"s{a}", dest=f"s{b}") for a, b in edges]
    transitions += [Transition("finish", source=f"s{i}", dest="end") for i in range(size)]
    return Workflow(name="graph", version=1, initial="s0", states=states, transitions=transitions)


def distance(edges: list[tuple[int, int]], target: int) -> int | None:
    seen = {0: 0}
    todo = deque([0])
    while todo:
        here = todo.popleft()
        for a, b in edges:
            if a == here and b not in seen:
                seen[b] = seen[here] + 1
                todo.append(b)
    return seen.get(target)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(2, 7),
    data=st.data(),
    depth=st.integers(0, 6),
)
def test_a_violation_is_found_exactly_when_it_is_within_the_bound_and_shortest(size, data, depth):
    pairs = st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)).filter(
        lambda p: p[0] != p[1]
    )
    edges = sorted(set(data.draw(st.lists(pairs, max_size=12), label="edges")))
    target = data.draw(st.integers(1, size - 1), label="target")
    found = explore(chain(edges, size), never(reach(f"s{target}")), depth=depth)
    hops = distance(edges, target)
    if hops is None or hops > depth:
        assert found.ok
    else:
        assert found.violation is not None
        assert len(found.violation.trail) == hops + 1


def counted(threshold: int) -> Workflow:
    return Workflow(
        name="contacts",
        version=1,
        initial="tracing",
        states=[State("tracing"), State("referred"), State("closed", terminal=True)],
        transitions=[
            Transition("attempt", source="tracing", dest=None, roles={"social_worker"}),
            Transition(
                "refer",
                source="tracing",
                dest="referred",
                roles={"supervisor"},
                guard=count("attempt") >= threshold,
            ),
            Transition("close", source="referred", dest="closed", roles={"supervisor"}),
        ],
    )


def test_counts_are_abstracted_so_the_walk_ends():
    rule = never(reach("referred"), unless=count("attempt") >= 3)
    at_20 = explore(counted(3), rule, depth=20)
    at_40 = explore(counted(3), rule, depth=40)
    assert at_20.ok
    assert at_20.visited == at_40.visited
    assert at_20.reached == {"tracing", "referred", "closed"}
    found = explore(counted(2), rule, depth=20)
    assert found.violation is not None
    assert [e.event for e in found.violation.trail] == ["open", "attempt", "attempt", "refer"]


def test_time_thresholds_are_crossed_by_waiting():
    wf = Workflow(
        name="deadline",
        version=1,
        initial="waiting",
        states=[State("waiting"), State("escalated", terminal=True)],
        transitions=[
            Transition(
                "escalate",
                source="waiting",
                dest="escalated",
                guard=time_in_state() >= timedelta(days=14),
            )
        ],
    )
    found = explore(wf, never(reach("escalated")), depth=2)
    assert found.violation is not None
    opened, escalated = found.violation.trail
    assert escalated.at - opened.at > timedelta(days=14)


def four_eyes(*, guarded: bool) -> Workflow:
    return Workflow(
        name="four-eyes",
        version=1,
        initial="draft",
        states=[State("draft"), State("proposed"), State("approved", terminal=True)],
        transitions=[
            Transition("propose", source="draft", dest="proposed", roles={"social_worker"}),
            Transition(
                "approve",
                source="proposed",
                dest="approved",
                roles={"supervisor"},
                guard=not_actor_of("propose") if guarded else always(),
            ),
        ],
    )


def proposer_did_not_approve(case: object, trail: object) -> bool:
    del case
    done = {e.event: e.actor_id for e in trail}  # type: ignore[attr-defined]
    return "approve" not in done or done["approve"] != done["propose"]


def test_who_did_what_is_part_of_the_situation():
    rule = holds("the proposer does not approve", proposer_did_not_approve)
    assert explore(four_eyes(guarded=True), rule, depth=4).ok
    found = explore(four_eyes(guarded=False), rule, depth=4)
    assert found.violation is not None


def test_an_unsatisfiable_path_is_not_reported():
    wf = Workflow(
        name="age",
        version=1,
        initial="a",
        states=[State("a"), State("adult_only"), State("closed", terminal=True)],
        transitions=[
            Transition("go", source="a", dest="adult_only", guard=fact("age") >= 18),
            Transition("close", source=("a", "adult_only"), dest="closed"),
        ],
    )
    rule = never(reach("adult_only"), unless=fact("age") >= 18)
    found = explore(wf, rule, depth=4)
    assert found.ok
    assert "adult_only" in found.reached


# --- strategies ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(cases(SEED, depth=6))
def test_cases_are_real_cases_with_verified_trails(reached):
    assert verify(reached.trail).ok
    assert replay(SEED, reached.trail) == reached.case
    engine = Engine([SEED], clock=ManualClock(reached.trail[-1].at))
    assert reached.into(engine) == engine.get(reached.case.id)
    assert tuple(engine.trail(reached.case.id)) == reached.trail
    assert engine.verify(reached.case.id).ok


@settings(max_examples=20, deadline=None)
@given(cases(SEED, depth=8, states={"family_tracing"}))
def test_cases_can_be_asked_for_in_given_states(reached):
    assert reached.case.state == "family_tracing"
    engine = Engine([SEED], clock=ManualClock(reached.trail[-1].at))
    reached.into(engine)
    attempt = engine.fire(
        reached.case.id,
        "record_contact_attempt",
        actor=Actor("worker-a", {"social_worker"}),
        data={"contact_method": "phone", "contact_outcome": "no answer"},
    )
    assert attempt.revision == reached.case.revision + 1


def test_asking_for_an_unreachable_state_says_so():
    @given(cases(SEED, depth=2, states={"closed_reunified"}))
    def never_runs(reached):
        raise AssertionError(reached)

    with pytest.raises(ValueError, match="reaches closed_reunified within 2 steps"):
        never_runs()


GUARDS = [
    g for t in SEED.transitions if t.guard is not None for g in [t.guard] if "check " not in g.text
]


@pytest.mark.parametrize("guard", GUARDS, ids=[g.text[:40] for g in GUARDS])
@pytest.mark.parametrize("wanted", [True, False], ids=["holds", "fails"])
def test_contexts_make_each_seed_guard_hold_or_fail(guard, wanted):
    if not wanted and guard.text == "always":
        with pytest.raises(ValueError, match="cannot fail"):
            contexts(guard, holds=False)
        return

    @settings(max_examples=15, deadline=None)
    @given(contexts(guard, holds=wanted, workflow=SEED))
    def check(ctx):
        ok, why = guard.test(ctx)
        assert ok is wanted
        assert why

    check()


@settings(max_examples=30, deadline=None)
@given(contexts(count("record_contact_attempt") >= 3, holds=True))
def test_contexts_build_the_history_a_count_guard_reads(ctx):
    assert len(ctx.committed("record_contact_attempt")) >= 3
    assert all(e.at <= ctx.now for e in ctx.history.entries)


@settings(max_examples=30, deadline=None)
@given(contexts(evidence("referral_letter") & (fact("age") >= 18), holds=False))
def test_failing_contexts_break_one_part_or_another(ctx):
    assert not ctx.evidence.get("referral_letter") or not (
        isinstance(ctx.data.get("age"), int) and ctx.data["age"] >= 18
    )


def test_contexts_refuse_a_guard_that_can_never_hold():
    with pytest.raises(ValueError, match="can never hold"):
        contexts((fact("age") > 30) & (fact("age") < 18))


# --- the pytest plugin ---------------------------------------------------------------


def test_the_plugin_gives_fixtures_without_an_import(pytester):
    pytester.makepyfile(
        """
        from datetime import timedelta
        from casework_flow import Actor, State, Transition, Workflow
        from casework_flow.testing import never, reach, only_roles

        WF = Workflow(
            name="w", version=1, initial="a",
            states=[State("a"), State("b", terminal=True)],
            transitions=[Transition("go", source="a", dest="b", roles={"social_worker"})],
        )

        def test_engine_and_clock(casework_engine, casework_clock):
            engine = casework_engine(WF)
            engine.open("w", "C-1", actor=Actor("sw-1", {"social_worker"}))
            casework_clock.advance(days=2)
            engine.fire("C-1", "go", actor=Actor("sw-1", {"social_worker"}))
            assert engine.trail("C-1")[-1].at - engine.trail("C-1")[0].at == timedelta(days=2)

        def test_rules_hold(process_rules):
            found = process_rules.explore(WF, only_roles("go", {"social_worker"}), depth=3)
            assert found.ok
            process_rules.check(WF, only_roles("go", {"social_worker"}), max_examples=20)

        def test_rules_break(process_rules):
            process_rules.explore(WF, never(reach("b")), depth=3)
        """
    )
    # The outer run has set Django up for the adapter's tests; the inner one needs none.
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:django")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*RuleViolated*never reach b*", "*| go (go)*"])
