"""Guards: verdicts and the sentences that explain them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework_flow import Actor, AuditEntry, Case, EntryKind, InvalidInput
from casework_flow._audit import build_entry, genesis_hash
from casework_flow._frozen import FrozenMap, freeze
from casework_flow._history import History
from casework_flow.guards import (
    GuardContext,
    always,
    check,
    consent,
    count,
    evidence,
    fact,
    not_actor_of,
    not_assignee,
    span,
    time_in_state,
    time_since_opened,
)

from .conftest import START

WORKER = Actor("sw-017", {"social_worker"})


def context(
    *,
    data: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    evidence_: dict[str, str] | None = None,
    now_after: timedelta = timedelta(0),
    in_state_for: timedelta = timedelta(0),
    history: list[AuditEntry] | None = None,
    actor: Actor = WORKER,
    assignee: str | None = "sw-017",
) -> GuardContext:
    now = START + now_after
    case = Case(
        id="MDN-2024-0173",
        workflow="w",
        version=1,
        state="family_work",
        data=freeze(data or {}),
        evidence=evidence_ or {},
        revision=3,
        opened_at=START,
        state_entered_at=now - in_state_for,
        assignee=assignee,
    )
    return GuardContext(
        case=case,
        actor=actor,
        event="terminate",
        payload=freeze(payload or {}),
        evidence=FrozenMap(),
        now=now,
        reason_code=None,
        history=History(history or ()),
    )


def entries(event: str, *, days: list[int], actor: str = "sw-017") -> list[AuditEntry]:
    out = []
    prev = genesis_hash("MDN-2024-0173")
    for seq, day in enumerate(days, 1):
        e = build_entry(
            case_id="MDN-2024-0173",
            seq=seq,
            kind=EntryKind.TRANSITION,
            at=START + timedelta(days=day),
            actor=Actor(actor, {"social_worker"}),
            event=event,
            from_state="family_work",
            to_state="family_work",
            workflow="w",
            workflow_version=1,
            prev_hash=prev,
            assignee=None,
        )
        prev = e.hash
        out.append(e)
    return out


def test_fact_comparison_explains_a_failure_in_plain_words():
    g = fact("family_contact_attempts") >= 3
    assert g.text == "family_contact_attempts >= 3"
    assert g.test(context(data={"family_contact_attempts": 1})) == (
        False,
        "family_contact_attempts is 1; at least 3 needed",
    )
    assert g.test(context(data={"family_contact_attempts": 3})) == (
        True,
        "family_contact_attempts is 3 (at least 3 needed)",
    )


def test_a_missing_fact_fails_and_says_it_is_not_recorded():
    assert (fact("age") < 18).test(context()) == (False, "age is not recorded; less than 18 needed")


def test_a_fact_of_the_wrong_type_fails_instead_of_raising():
    ok, why = (fact("age") < 18).test(context(data={"age": "unknown"}))
    assert not ok
    assert why == "age is 'unknown', which cannot be compared; less than 18 needed"


def test_facts_read_the_data_as_it_would_be_after_the_step():
    g = fact("outcome") == "reunified"
    assert g.test(context(data={"outcome": "independent"}, payload={"outcome": "reunified"}))[0]


@pytest.mark.parametrize(
    ("guard", "value", "expected"),
    [
        (fact("x") == "a", "a", True),
        (fact("x") != "a", "a", False),
        (fact("x") > 2, 3, True),
        (fact("x") <= 2, 3, False),
        (fact("x").one_of("a", "b"), "b", True),
        (fact("x").none_of("a", "b"), "b", False),
        (fact("x").present(), "", False),
        (fact("x").present(), 0, True),
        (fact("x").absent(), None, True),
    ],
)
def test_comparison_operators(guard, value, expected):
    assert guard.test(context(data={"x": value}))[0] is expected


def test_membership_and_presence_texts():
    assert fact("outcome").one_of("reunified", "independent").text == (
        "outcome in ('reunified', 'independent')"
    )
    assert fact("family_contact_person").present().text == "family_contact_person present"
    ok, why = fact("family_contact_person").present().test(context())
    assert (ok, why) == (False, "family_contact_person is not recorded; it is needed")


def test_guard_values_must_be_json_data():
    with pytest.raises(InvalidInput, match="guard value"):
        fact("x") == object()  # noqa: B015 - builds a guard


def test_evidence_and_consent():
    assert evidence("assessment_report").test(context()) == (
        False,
        "no assessment_report on file; it is needed",
    )
    ctx = context(evidence_={"assessment_report": "DOC-2", "consent:shelter_referral": "DOC-8"})
    assert evidence("assessment_report").test(ctx) == (True, "assessment_report is on file (DOC-2)")
    assert consent("shelter_referral").test(ctx)[0]
    assert consent("shelter_admission").test(ctx) == (
        False,
        "no consent to shelter_admission is recorded; the client must consent",
    )
    with pytest.raises(TypeError):
        evidence()


def test_time_in_state_and_since_opening_use_the_context_clock():
    g = time_in_state() >= timedelta(days=14)
    assert g.text == "time_in_state >= 14 days"
    assert g.test(
        context(now_after=timedelta(days=20), in_state_for=timedelta(days=3, hours=4))
    ) == (
        False,
        "the case has been in this state for 3 days 4 hours; at least 14 days needed",
    )
    assert (time_since_opened() >= timedelta(days=14)).test(context(now_after=timedelta(days=20)))[
        0
    ]


def test_count_and_span_read_committed_events_from_the_trail():
    history = entries("record_contact_attempt", days=[0, 3, 8])
    assert (count("record_contact_attempt") >= 3).test(context(history=history[:1])) == (
        False,
        "record_contact_attempt was recorded 1 time; at least 3 needed",
    )
    assert (count("record_contact_attempt") >= 3).test(context(history=history))[0]
    assert (span("record_contact_attempt") >= timedelta(days=7)).test(context(history=history)) == (
        True,
        "record_contact_attempt entries span 8 days (at least 7 days needed)",
    )
    assert (span("record_contact_attempt") >= timedelta(days=7)).test(context()) == (
        False,
        "record_contact_attempt was never recorded; at least 7 days needed",
    )


def test_refusals_in_the_trail_do_not_count():
    refused = entries("record_contact_attempt", days=[0])
    object.__setattr__(refused[0], "kind", EntryKind.REFUSED)
    assert (count("record_contact_attempt") >= 1).test(context(history=refused))[0] is False


def test_separation_of_duties():
    history = entries("handover_done", days=[1])
    g = not_actor_of("handover_done")
    assert g.test(context(history=history)) == (
        False,
        "sw-017 did handover_done on this case; someone else must do terminate",
    )
    assert g.test(context(history=history, actor=Actor("spv-002", {"supervisor"})))[0]
    assert not_assignee().test(context())[0] is False
    assert not_assignee().test(context(assignee=None))[0] is True


def test_and_or_not_combine_and_explain():
    a, b = fact("x") >= 3, fact("y") == "yes"
    both = a & b
    assert both.conjuncts() == (a, b)
    assert both.text == "x >= 3 and y == 'yes'"
    assert (a & b & a).conjuncts() == (a, b, a)
    either = a | b
    assert either.text == "x >= 3 or y == 'yes'"
    assert either.test(context(data={"x": 1, "y": "no"})) == (
        False,
        "none of these held: [x is 1; at least 3 needed] or [y is 'no'; must be 'yes']",
    )
    assert (~a).text == "not x >= 3"
    assert ~~a == a
    assert (~a).test(context(data={"x": 5})) == (
        False,
        "x is 5 (at least 3 needed), which must not be the case",
    )
    assert ((a | b) & ~a).text == "(x >= 3 or y == 'yes') and not x >= 3"
    nested_fail = (a & b) | always()
    assert nested_fail.test(context())[0]


def test_a_named_check_is_the_escape_hatch():
    g = check("bed_available", lambda ctx: (ctx.data.get("beds", 0) > 0, "the unit has beds"))
    assert g.text == "check bed_available"
    assert g.test(context(data={"beds": 2})) == (True, "the unit has beds")
    plain = check("weekday", lambda ctx: ctx.now.weekday() < 5)
    assert plain.test(context()) == (True, "weekday holds")


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_comparisons_agree_with_python(actual, threshold):
    ctx = context(data={"n": actual})
    assert (fact("n") >= threshold).test(ctx)[0] == (actual >= threshold)
    assert (fact("n") < threshold).test(ctx)[0] == (actual < threshold)
    assert (~(fact("n") < threshold)).test(ctx)[0] == (actual >= threshold)
    assert ((fact("n") > threshold) | (fact("n") == threshold)).test(ctx)[0] == (
        actual >= threshold
    )


def test_guards_are_equal_by_structure():
    assert (fact("a") >= 3) == (fact("a") >= 3)
    assert (fact("a") >= 3) != (fact("a") >= 4)
    assert (count("a") >= 3) != (fact("count(a)") >= 3)
    assert hash(fact("a") >= 3) == hash(fact("a") >= 3)
    assert consent("x") == consent("x")


def test_a_comparison_with_several_durations_keeps_them_as_durations():
    g = time_in_state().one_of(timedelta(days=1), timedelta(days=2))
    assert g.value == (timedelta(days=1), timedelta(days=2))
    assert g.test(context(in_state_for=timedelta(days=2)))[0]


def test_the_handover_guard_holds_only_for_an_accepted_open_handover_of_its_kind():
    import attrs  # noqa: PLC0415 - only this test changes the case

    from casework_flow import Handover  # noqa: PLC0415
    from casework_flow.guards import handover  # noqa: PLC0415

    guard = handover("referral")
    sent = Handover("referral-4", "referral", "in_progress", "sw-017", START, 4, to_unit="upt")
    taken = attrs.evolve(sent, status="accepted", answered_by="head")
    other = attrs.evolve(taken, id="transfer-5", kind="transfer", seq=5)
    ctx = context()
    for handovers, held in (
        ({}, False),
        ({"referral-4": sent}, False),
        ({"transfer-5": other}, False),
        ({"referral-4": taken}, True),
        ({"referral-4": attrs.evolve(taken, status="done")}, False),
    ):
        ctx.case = attrs.evolve(ctx.case, handovers=handovers)
        assert guard.test(ctx) == (
            (True, "referral-4 to upt was accepted by head")
            if held
            else (False, "no referral of this case has been accepted")
        )
    assert guard.text == "referral accepted"
