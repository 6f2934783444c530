"""Every refusal, word for word: what a host shows the person who was refused.

Each check's verdict is pinned whole (kind, check, passed, why), since a host renders
them and an auditor reads them in the trail.
"""

from __future__ import annotations

import attrs
import pytest

from casework_flow import Actor, Engine, HandoverRule, ManualClock, TransitionRejected
from casework_flow.guards import CheckKind, Verdict

from .test_core import HEAD, SPV, START, SW, WF

UNIT_WF = attrs.evolve(
    WF, handovers=[HandoverRule("transfer", send={"supervisor"}, answer={"supervisor"})]
)
MEDAN_SPV = Actor("spv-002", {"supervisor"}, units={"medan"})
BINJAI_SPV = Actor("spv-bnj", {"supervisor"}, units={"binjai"})
BINJAI_SW = Actor("sw-bnj", {"social_worker"}, units={"binjai"})


def engine() -> Engine:
    eng = Engine([UNIT_WF], clock=ManualClock(START))
    eng.open(WF.name, "FW-1", actor=SW, assignee=SW.id, unit="medan")
    return eng


def reasons(call) -> list[tuple[CheckKind, str, bool, str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(TransitionRejected) as caught:
        call()
    return [(v.kind, v.check, v.passed, v.why) for v in caught.value.reasons]


def role(why: str, check: str = "role") -> tuple[CheckKind, str, bool, str]:
    return (CheckKind.ROLE, check, False, why)


def test_a_move_or_the_same_request_while_a_request_waits():
    eng = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    waiting = [
        (CheckKind.STATE, "pending", False,
         "propose_plan, requested by sw-031, is waiting for approval; approve or reject it first"),
    ]  # fmt: skip
    assert reasons(lambda: eng.fire("FW-1", "propose_plan", actor=SW)) == waiting
    eng.fire("FW-1", "family_silent", actor=SW)
    assert reasons(lambda: eng.approve("FW-1", actor=SPV, kind="family_silent")) == waiting
    assert reasons(lambda: eng.approve("FW-1", actor=SPV)) == [
        (CheckKind.STATE, "pending", False,
         ("several requests wait for approval on FW-1 (family_silent, propose_plan);"
          " name the kind")),
    ]  # fmt: skip
    assert reasons(lambda: eng.reject("FW-1", actor=SPV, reason="r", kind="closure")) == [
        (CheckKind.STATE, "pending", False,
         "no closure request waits for approval on FW-1 (waiting: family_silent, propose_plan)"),
    ]  # fmt: skip


def test_overrides_that_cannot_apply():
    eng = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    fire = eng.fire
    assert reasons(lambda: fire("FW-1", "close", actor=SW, override_by=HEAD))[-1] == (
        CheckKind.GUARD, "override",
        False, "only missing consent can be overridden, and only where the workflow allows it",
    )  # fmt: skip
    assert reasons(lambda: fire("FW-1", "refer", actor=SW, override_by=SW))[1:] == [
        (CheckKind.ROLE, "override", False,
         "sw-031 cannot override their own step; a second person must"),
        (CheckKind.ROLE, "override", False, "an override of refer needs head_of_division"),
        (CheckKind.REASON, "override", False,
         "an override needs a reason code: one of IMMINENT_DANGER"),
        (CheckKind.REASON, "override", False, "an override needs a written reason"),
    ]  # fmt: skip
    ok = fire(
        "FW-1", "refer", actor=SW, override_by=HEAD, reason_code="IMMINENT_DANGER", reason="Now."
    )
    assert ok.approvals
    entry = eng.trail("FW-1")[-1]
    assert dict(entry.details) == {
        "overridden_by": "kabid-01",
        "overridden_by_roles": "head_of_division",
        "overridden": "consent to referral",
        "dest": "referred",
        "approvers": "supervisor",
        "approval_kind": "refer",
    }
    assert entry.verdicts == (
        Verdict(CheckKind.GUARD, "consent to referral", passed=False,
                why="no consent to referral is recorded; the client must consent",
                dest="referred"),
    )  # fmt: skip


def test_approvals_by_the_wrong_person():
    eng = engine()
    assert reasons(lambda: eng.approve("FW-1", actor=SPV)) == [
        (CheckKind.STATE, "pending", False, "nothing on FW-1 is waiting for approval"),
    ]
    eng.fire("FW-1", "propose_plan", actor=SW)
    assert reasons(lambda: eng.approve("FW-1", actor=SW)) == [
        (CheckKind.ROLE, "four_eyes", False,
         "sw-031 requested propose_plan; someone else must approve it"),
        (CheckKind.ROLE, "approver", False,
         "sw-031 acts as social_worker; to approve needs supervisor"),
    ]  # fmt: skip
    assert reasons(lambda: eng.reject("FW-1", actor=SPV, reason=" ")) == [
        (CheckKind.REASON, "reason", False, "a rejection needs a written reason"),
    ]


def test_records_on_a_closed_case_or_without_a_role():
    eng = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    eng.fire("FW-1", "close", actor=SPV)
    outsider = Actor("x-1", {"driver"})
    assert reasons(lambda: eng.record("FW-1", "visit", actor=outsider)) == [
        role("x-1 acts as driver; recording needs social_worker or supervisor or system"),
        (CheckKind.STATE, "state", False, "the case is closed (closed); reopen it to record more"),
    ]  # fmt: skip


def test_transfers_asked_and_answered_by_the_wrong_side():
    eng = engine()
    assert reasons(lambda: eng.transfer("FW-1", "medan", actor=SW, reason="r")) == [
        role("sw-031 acts as social_worker; transferring a case needs supervisor"),
        (CheckKind.ROLE, "unit", False, "the case already belongs to medan"),
    ]
    nothing = [(CheckKind.STATE, "handover", False, "no transfer of FW-1 is waiting")]
    assert reasons(lambda: eng.accept_transfer("FW-1", actor=BINJAI_SPV)) == nothing
    eng.transfer("FW-1", "binjai", actor=MEDAN_SPV, reason="Shelter needed.")
    assert reasons(lambda: eng.transfer("FW-1", "deli", actor=MEDAN_SPV, reason="r")) == [
        (CheckKind.STATE, "handover", False,
         "transfer-4 to binjai is already waiting for an answer"),
    ]  # fmt: skip
    assert reasons(lambda: eng.refuse_transfer("FW-1", actor=BINJAI_SW, reason="")) == [
        role("sw-bnj may not reject transfer-4; only supervisor of binjai may", "party"),
        (CheckKind.REASON, "reason", False, "to reject transfer-4 needs a written reason"),
    ]
    assert reasons(lambda: eng.accept_transfer("FW-1", actor=MEDAN_SPV)) == [
        role("spv-002 may not accept transfer-4; only supervisor of binjai may", "party"),
    ]
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    eng.fire("FW-1", "close", actor=SPV)
    cancelled = eng.trail("FW-1")[-1]
    assert (cancelled.kind, cancelled.details["status"]) == ("handover_answered", "cancelled")
    assert reasons(lambda: eng.accept_transfer("FW-1", actor=BINJAI_SPV)) == nothing
    assert eng.get("FW-1").handovers["transfer-4"].status == "cancelled"


def test_an_event_from_the_wrong_state_says_where_it_is_possible():
    eng = engine()
    assert reasons(lambda: eng.fire("FW-1", "close", actor=SPV)) == [
        (CheckKind.STATE, "state", False,
         ("close is not possible while the case is in tracing (tracing);"
         " it is possible from plan, referred")),
    ]  # fmt: skip


def test_an_actor_without_roles_and_one_with_several_are_named_as_such():
    eng = engine()
    nobody = Actor("x-0", set())
    both = Actor("x-2", {"driver", "cook"})
    assert reasons(lambda: eng.assign("FW-1", "sw-2", actor=nobody)) == [
        role("x-0 acts as no role; assigning cases needs supervisor"),
    ]
    assert reasons(lambda: eng.assign("FW-1", "sw-2", actor=both)) == [
        role("x-2 acts as cook, driver; assigning cases needs supervisor"),
    ]


def test_a_closed_case_cannot_be_transferred_and_answers_name_every_receiving_role():
    rule = HandoverRule("transfer", send={"supervisor"}, answer={"supervisor", "shelter_head"})
    wf = attrs.evolve(UNIT_WF, handovers=[rule], roles={*UNIT_WF.roles, "shelter_head"})
    eng = Engine([wf], clock=ManualClock(START))
    eng.open(WF.name, "FW-1", actor=SW, unit="medan")
    eng.transfer("FW-1", "binjai", actor=MEDAN_SPV, reason="Shelter.")
    assert reasons(lambda: eng.accept_transfer("FW-1", actor=BINJAI_SW)) == [
        role("sw-bnj may not accept transfer-2; only shelter_head or supervisor of binjai may",
             "party"),
    ]  # fmt: skip
    assert reasons(lambda: eng.refuse_transfer("FW-1", actor=BINJAI_SPV, reason=None)) == [  # type: ignore[arg-type]
        (CheckKind.REASON, "reason", False, "to reject transfer-2 needs a written reason"),
    ]
    eng.refuse_transfer("FW-1", actor=BINJAI_SPV, reason="No bed.")
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    eng.fire("FW-1", "close", actor=SPV)
    assert reasons(lambda: eng.transfer("FW-1", "binjai", actor=MEDAN_SPV, reason="r")) == [
        (CheckKind.STATE, "state", False, "the case is closed (closed); reopen it to transfer it"),
    ]


def test_a_refusal_names_its_event_and_a_refused_decision_stays_where_it_is():
    eng = engine()
    with pytest.raises(TransitionRejected) as caught:
        eng.assign("FW-1", "sw-2", actor=SW)
    assert (caught.value.case_id, caught.value.event, caught.value.state) == (
        "FW-1", "assign", "tracing",
    )  # fmt: skip
    decision = eng.can_fire("FW-1", "close", actor=SPV)
    assert (decision.event, decision.state, decision.allowed) == ("close", "tracing", False)
    assert (decision.transition, decision.dest) == (None, "tracing")
