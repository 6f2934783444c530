"""The random tools find, with their defaults, the flaws planted in the story's workflow.

Each variant of the seed workflow carries one flaw a tester planted, and the rule a
practitioner would write against it: a family judged unresponsive after two contact
attempts instead of three, a shortcut from rehabilitation to closed with no termination
review, a referral sent without the client's consent, a termination decided by the
case's own worker. `explore` finds each at once; `check_rules` and `workflow_machine`
must too, with no setting changed, and what they report must be a real trail.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from casework_flow import State, Transition, Workflow, replay
from casework_flow import seed as demo
from casework_flow.guards import (
    always,
    consent,
    count,
    evidence,
    fact,
    not_assignee,
    span,
    time_in_state,
)
from casework_flow.testing import (
    Rule,
    RuleViolated,
    always_before,
    check_rules,
    eventually_terminal,
    explore,
    fires,
    never,
    only_roles,
    reach,
    workflow_machine,
)

ALWAYS = always()

SEED = demo.build_workflow()
ATTEMPTS = "record_contact_attempt"


def _change(workflow: Workflow, event: str, version: int, **changes: object) -> Workflow:
    moved = [attrs.evolve(t, **changes) if t.event == event else t for t in workflow.transitions]
    return attrs.evolve(workflow, version=version, transitions=moved)


def _without(workflow: Workflow, event: str, version: int, kind: str) -> Workflow:
    """The workflow with one kind of guard dropped from ``event``'s conjuncts."""
    t = next(t for t in workflow.transitions if t.event == event)
    kept = [g for g in t.conjuncts if type(g).__name__ != kind]
    assert len(kept) == len(t.conjuncts) - 1
    guard = kept[0]
    for g in kept[1:]:
        guard = guard & g
    return _change(workflow, event, version, guard=guard)


TWO_ATTEMPTS = _change(
    SEED,
    "family_unresponsive",
    2,
    guard=((count(ATTEMPTS) >= 2) & (span(ATTEMPTS) >= timedelta(days=7)))
    | (time_in_state() >= timedelta(days=14)),
)
SHORTCUT = attrs.evolve(
    SEED,
    version=3,
    transitions=[
        *SEED.transitions,
        Transition(
            "close_early",
            source="rehabilitation",
            dest="closed_independent",
            roles={"shelter_worker"},
        ),
    ],
)
NO_CONSENT = _without(SEED, "refer_to_shelter_unit", 4, "Consent")
OWN_WORKER = _without(SEED, "terminate", 5, "NotAssignee")

UNRESPONSIVE_RULE = never(
    fires("family_unresponsive"),
    unless=(count(ATTEMPTS) >= 3) | (time_in_state() >= timedelta(days=14)),
)
REVIEWED_RULES = tuple(
    never(reach(state), unless=count("terminate") >= 1)
    for state in ("closed_reunified", "closed_independent", "closed_returned_to_origin")
)
CONSENT_RULE = never(reach("referral_pending"), unless=consent("shelter_referral"))
OTHERS_RULE = never(reach("follow_up"), unless=not_assignee())
ALL_RULES = (UNRESPONSIVE_RULE, *REVIEWED_RULES, CONSENT_RULE, OTHERS_RULE)

PLANTED = [
    (TWO_ATTEMPTS, (UNRESPONSIVE_RULE,), "did family_unresponsive although", "recorded 2 times"),
    (SHORTCUT, REVIEWED_RULES, "reached closed_independent although", "terminate was recorded 0"),
    (NO_CONSENT, (CONSENT_RULE,), "reached referral_pending although", "no consent"),
    (OWN_WORKER, (OTHERS_RULE,), "reached follow_up although", "the case's own worker"),
]
IDS = ["two-attempts", "shortcut-to-closed", "referral-without-consent", "own-worker-terminates"]


def _is_real(workflow: Workflow, rules: tuple[Rule, ...], err: RuleViolated) -> None:
    """The counterexample verifies, replays on the workflow and breaks the rule at its end."""
    replay(workflow, err.trail)
    assert any(rule.violation(workflow, err.trail) == err.why for rule in rules)
    assert all(rule.violation(workflow, err.trail[:-1]) is None for rule in rules)


@pytest.mark.parametrize(("planted", "rules", "what", "why"), PLANTED, ids=IDS)
def test_explore_finds_the_planted_flaw(planted, rules, what, why):
    found = explore(planted, *rules, depth=16)
    assert found.violation is not None
    assert what in found.violation.why
    assert why in found.violation.why


@pytest.mark.parametrize(("planted", "rules", "what", "why"), PLANTED, ids=IDS)
def test_check_rules_finds_the_planted_flaw_with_its_defaults(planted, rules, what, why):
    with pytest.raises(RuleViolated) as info:
        check_rules(planted, *rules)
    assert what in info.value.why
    assert why in info.value.why
    _is_real(planted, rules, info.value)
    shortest = explore(planted, *rules, depth=16).violation
    assert shortest is not None
    assert len(info.value.trail) == len(shortest.trail)


@pytest.mark.parametrize(("planted", "rules", "what", "why"), PLANTED, ids=IDS)
def test_the_workflow_machine_finds_the_planted_flaw_with_its_defaults(planted, rules, what, why):
    machine = workflow_machine(planted, rules=rules)
    with pytest.raises(RuleViolated) as info:
        run_state_machine_as_test(machine)
    assert what in info.value.why
    assert why in info.value.why
    _is_real(planted, rules, info.value)


@pytest.mark.slow
def test_the_story_workflow_keeps_every_rule_the_flaws_break():
    check_rules(SEED, *ALL_RULES)
    run_state_machine_as_test(workflow_machine(SEED, rules=ALL_RULES))


# --- a property over random small workflows -------------------------------------------

RULE_KINDS = ["only_roles", "never_reach", "always_before", "never_fires", "eventually_terminal"]


@st.composite
def planted_workflows(draw: st.DrawFn) -> tuple[Workflow, Workflow, Rule]:
    """A small sound workflow, the same with one planted flaw, and the rule it breaks.

    The base is a chain s0 → … → end of unguarded steps by role ``a``, a ``note`` step
    that stays (counted by guards), and random extra steps between chain states, each
    with a guard from a small menu; it keeps every rule below. The flaw is one more
    step, from a random chain state, that breaks the drawn rule.
    """
    n = draw(st.integers(2, 5), label="chain length")
    chain = [f"s{i}" for i in range(n)]
    states = [State(s) for s in chain] + [State("end", terminal=True)]
    route = [*chain, "end"]
    steps = [
        Transition(f"go{i}", source=route[i], dest=route[i + 1], roles={"a"}) for i in range(n)
    ]
    steps.append(Transition("note", source=chain, dest=None, roles={"a"}))
    menu = [
        ALWAYS,
        count("note") >= 1,
        count("note") >= 2,
        fact("f").present(),
        evidence("doc"),
        not_assignee(),
    ]
    for j in range(draw(st.integers(0, 3), label="extra steps")):
        src = draw(st.sampled_from(chain), label="from")
        dst = draw(st.sampled_from(route), label="to")
        steps.append(
            Transition(
                f"extra{j}",
                source=src,
                dest=dst,
                roles={draw(st.sampled_from(["a", "b"]), label="role")},
                guard=draw(st.sampled_from(menu), label="guard"),
            )
        )
    base = Workflow(name="small", version=1, initial="s0", states=states, transitions=steps)
    at = draw(st.sampled_from(chain), label="flaw from")
    kind = draw(st.sampled_from(RULE_KINDS), label="rule")
    flaw_guard = draw(st.sampled_from(menu[:4]), label="flaw guard")
    extra_states: list[State] = []
    if kind == "only_roles":
        flaw = Transition("flaw", source=at, dest="end", roles={"b"}, guard=flaw_guard)
        rule = only_roles("flaw", {"a"})
    elif kind == "never_reach":
        extra_states = [State("forbidden", terminal=True)]
        flaw = Transition("flaw", source=at, dest="forbidden", roles={"a"}, guard=flaw_guard)
        rule = never(reach("forbidden"))
    elif kind == "always_before":
        flaw = Transition("flaw", source=at, dest="end", roles={"a"}, guard=flaw_guard)
        rule = always_before(f"go{n - 1}", "flaw")
    elif kind == "never_fires":
        flaw = Transition("flaw", source=at, dest="end", roles={"a"}, guard=count("note") >= 1)
        rule = never(fires("flaw"), unless=count("note") >= 2)
    else:
        extra_states = [State("trap")]
        flaw = Transition("flaw", source=at, dest="trap", roles={"a"}, guard=flaw_guard)
        rule = eventually_terminal()
    planted = attrs.evolve(
        base,
        version=2,
        states=[*base.states, *extra_states],
        transitions=[*base.transitions, flaw],
    )
    return base, planted, rule


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.nested_given])
@given(planted_workflows())
def test_explore_finds_any_planted_flaw_and_check_rules_reports_only_real_ones(drawn):
    base, planted, rule = drawn
    assert explore(base, rule, depth=10).ok
    check_rules(base, rule, max_examples=10, max_steps=12)
    found = explore(planted, rule, depth=10)
    assert found.violation is not None, found
    with pytest.raises(RuleViolated) as info:
        check_rules(planted, rule, max_examples=10, max_steps=12)
    _is_real(planted, (rule,), info.value)
    assert len(info.value.trail) == len(found.violation.trail)
    try:
        check_rules(planted, rule, max_examples=20, max_steps=12, budget=1)
    except RuleViolated as err:
        _is_real(planted, (rule,), err)
        event("the hunt alone found it")
    else:
        event("the hunt alone missed it")


# --- the hunt on its own ---------------------------------------------------------------


def _small(*extra: Transition, states: tuple[State, ...] = (), **changes: object) -> Workflow:
    return Workflow(  # type: ignore[misc]
        **changes,
        name="small",
        version=1,
        initial="s0",
        states=[State("s0"), State("s1"), State("end", terminal=True), *states],
        transitions=[
            Transition("go0", source="s0", dest="s1", roles={"a"}),
            Transition("go1", source="s1", dest="end", roles={"a"}),
            Transition("note", source=["s0", "s1"], dest=None, roles={"a"}),
            *extra,
        ],
    )


def test_the_hunt_alone_finds_a_flaw_the_walk_had_no_budget_for():
    planted = _small(Transition("flaw", source="s0", dest="end", roles={"b"}))
    rule = only_roles("flaw", {"a"})
    assert explore(planted, rule, depth=0).ok
    with pytest.raises(RuleViolated) as info:
        check_rules(planted, rule, max_examples=100, max_steps=12, budget=1)
    assert [e.event for e in info.value.trail] == ["open", "flaw"]


def test_a_step_whose_handover_cannot_be_sent_is_skipped_not_a_crash():
    from casework_flow import HandoverRule  # noqa: PLC0415
    from casework_flow.guards import handover  # noqa: PLC0415

    wf = _small(
        Transition("accept", source="s1", dest="end", roles={"b"}, guard=handover("referral")),
        handovers=[
            HandoverRule("referral", send={"a"}, answer={"b"}, guard=fact("risk_score") > 5),
            HandoverRule("transfer", send={"a"}),
        ],
    )
    found = explore(wf, eventually_terminal(), depth=4)
    assert found.ok
    assert "end" in found.reached
    check_rules(wf, eventually_terminal(), max_examples=30, max_steps=8, budget=3)


@pytest.mark.parametrize(
    ("bound", "value", "problem"),
    [
        ("max_examples", -1, "must be a non-negative integer"),
        ("max_steps", True, "must be a non-negative integer"),
        ("budget", 0, "must be a positive integer"),
    ],
)
def test_check_rules_refuses_a_bad_bound(bound, value, problem):
    from casework_flow.exceptions import InvalidInput  # noqa: PLC0415

    with pytest.raises(InvalidInput, match=problem) as info:
        check_rules(_small(), eventually_terminal(), **{bound: value})
    assert info.value.field == bound
