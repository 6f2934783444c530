"""casework_flow.testing: every rule type catches its planted violation, passes a sound process."""

from __future__ import annotations

import attrs
import pytest

from casework_flow import State, Transition, Workflow, count, demo, fact
from casework_flow.testing import (
    RuleViolated,
    always_before,
    check_rules,
    eventually_terminal,
    holds,
    never,
    only_roles,
    reach,
)

SEED = demo.build_workflow()
REFERRAL_RULE = never(reach("referral_pending"), unless=count("record_contact_attempt") >= 3)


def elderly(*extra: Transition, states: tuple[State, ...] = ()) -> Workflow:
    return Workflow(
        name="elderly-neglect",
        version=1,
        initial="reported",
        states=[
            State("reported"),
            State("home_visit"),
            State("review"),
            State("closed", terminal=True),
            *states,
        ],
        transitions=[
            Transition(
                "visit",
                source="reported",
                dest="home_visit",
                roles={"social_worker"},
                requires=("visit_date",),
            ),
            Transition("ask_review", source="home_visit", dest="review", roles={"social_worker"}),
            Transition("close", source="review", dest="closed", roles={"supervisor"}),
            *extra,
        ],
    )


SOUND = elderly()


def test_the_seed_keeps_its_rules():
    check_rules(
        SEED,
        REFERRAL_RULE,
        only_roles("refer_to_shelter_unit", {"supervisor"}),
        always_before("terminate", "complete_follow_up"),
        eventually_terminal(),
        max_examples=100,
    )


def test_a_broken_seed_variant_is_caught_with_the_shortest_path():
    lax = [
        attrs.evolve(t, guard=t.conjuncts[0]) if t.event == "refer_to_shelter_unit" else t
        for t in SEED.transitions
    ]
    broken = attrs.evolve(SEED, transitions=lax, version=2)
    with pytest.raises(RuleViolated) as info:
        check_rules(broken, REFERRAL_RULE, max_examples=300)
    err = info.value
    assert err.rule == "never reach referral_pending unless count(record_contact_attempt) >= 3"
    assert "record_contact_attempt was recorded 0 times; at least 3 needed" in err.why
    assert [e.event for e in err.trail] == [
        "open",
        "first_contact",
        "admit_to_shelter",
        "begin_assessment",
        "complete_assessment",
        "tracing_failed",
        "refer_to_shelter_unit",
    ]
    assert "refer_to_shelter_unit (Rujuk ke UPT · Refer to the shelter unit)" in err.table


@pytest.mark.parametrize(
    ("planted", "rule", "expected"),
    [
        (
            elderly(
                Transition("close_now", source="home_visit", dest="closed", roles={"social_worker"})
            ),
            only_roles("close_now", {"supervisor"}),
            "did close_now",
        ),
        (
            elderly(
                Transition("close_now", source="home_visit", dest="closed", roles={"supervisor"})
            ),
            always_before("ask_review", "close_now"),
            "close_now happened with no ask_review",
        ),
        (
            elderly(
                Transition("park", source="home_visit", dest="parked"), states=(State("parked"),)
            ),
            eventually_terminal(),
            "from parked no terminal state can be reached",
        ),
        (
            elderly(Transition("skip", source="reported", dest="review", roles={"social_worker"})),
            never(reach("review"), unless=fact("visit_date").present()),
            "visit_date is not recorded",
        ),
        (
            SOUND,
            holds("at most 3 revisions", lambda case, _: case.revision <= 3),
            "at most 3 revisions does not hold",
        ),
    ],
    ids=["only_roles", "always_before", "eventually_terminal", "never", "holds"],
)
def test_each_rule_type_catches_a_planted_violation(planted, rule, expected):
    with pytest.raises(RuleViolated, match=expected):
        check_rules(planted, rule, max_examples=200)


@pytest.mark.parametrize(
    "rule",
    [
        only_roles("close", {"supervisor"}),
        always_before("ask_review", "close"),
        eventually_terminal(),
        never(reach("review"), unless=fact("visit_date").present()),
        holds("at most 4 revisions", lambda case, _: case.revision <= 4),
    ],
    ids=["only_roles", "always_before", "eventually_terminal", "never", "holds"],
)
def test_a_sound_process_passes_every_rule_type(rule):
    check_rules(SOUND, rule, max_examples=150)
