"""Handovers, the worker directory and approvals by kind: each defect found, pinned."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from casework_flow import (
    Actor,
    Approval,
    ConsentOverride,
    Engine,
    EntryKind,
    HandoverRule,
    InvalidInput,
    ManualClock,
    State,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from casework_flow.exceptions import ConcurrentModification, WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.guards import consent
from casework_flow.handovers import InMemoryDirectory, Worker

from .stores import KINDS, make_store

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
MEDAN, BINJAI = "medan", "binjai"

SW1 = Actor("sw-1", {"social_worker"}, units={MEDAN})
SW2 = Actor("sw-2", {"social_worker"}, units={MEDAN})
SPV = Actor("spv-1", {"supervisor"}, units={MEDAN})
SPV2 = Actor("spv-2", {"supervisor"}, units={MEDAN})
B_SW = Actor("sw-b1", {"social_worker"}, units={BINJAI})
B_SW2 = Actor("sw-b2", {"social_worker"}, units={BINJAI})
B_SPV = Actor("spv-b", {"supervisor"}, units={BINJAI})
HEAD = Actor("head-1", {"head_of_office", "supervisor"}, units={MEDAN})

DIRECTORY = InMemoryDirectory(
    [
        Worker("sw-1", {MEDAN: {"social_worker"}}, groups={"north"}),
        Worker("sw-2", {MEDAN: {"social_worker"}}, groups={"south"}),
        Worker("spv-1", {MEDAN: {"supervisor"}}, groups={"north"}),
        Worker("spv-2", {MEDAN: {"supervisor"}}, groups={"south"}),
        Worker("head-1", {MEDAN: {"supervisor", "head_of_office"}}, groups={"north"}),
        Worker("sw-b1", {BINJAI: {"social_worker"}}),
        Worker("sw-b2", {BINJAI: {"social_worker"}}, receives={"referral"}),
        Worker("spv-b", {BINJAI: {"supervisor"}}),
        Worker("sw-gone", {MEDAN: {"social_worker"}}, active=False),
        Worker("sw-two", {MEDAN: {"social_worker"}, BINJAI: {"social_worker"}}),
    ]
)

RULES = [
    HandoverRule(
        "referral", send={"social_worker", "supervisor"}, on_behalf={"supervisor"},
        guard=consent("referral"),
        override=ConsentOverride({"head_of_office"}, ("IMMINENT_DANGER",)),
        access={"read", "record", "note"},
    ),
    HandoverRule(
        "transfer", send={"supervisor"}, on_behalf={"supervisor"}, guard=consent("transfer")
    ),
    HandoverRule("transfer_request", send={"supervisor"}, answer={"supervisor"}),
]  # fmt: skip


def homelessness(**changes: object) -> Workflow:
    """A homelessness case with a case plan and a closure that each need approval."""
    fields: dict[str, object] = {
        "name": "homelessness",
        "version": 1,
        "initial": "intake",
        "states": [State("intake"), State("assessment"), State("closed", terminal=True)],
        "transitions": [
            Transition("assess", source="intake", dest="assessment", roles={"social_worker"}),
            Transition(
                "note", source=("intake", "assessment"), dest=None,
                roles={"social_worker", "supervisor"},
            ),
            Transition(
                "propose_plan", source="assessment", dest=None, roles={"social_worker"},
                approval=Approval({"supervisor"}, kind="case_plan", on_move="cancel"),
            ),
            Transition(
                "close", source=("intake", "assessment"), dest="closed",
                roles={"social_worker", "supervisor"},
                approval=Approval({"supervisor"}, kind="closure", not_assignee=True,
                                  self_approve={"head_of_office"}),
            ),
            Transition(
                "close_now", source="intake", dest="closed", roles={"supervisor"},
                approval=Approval({"supervisor"}, kind="closure", direct=True),
            ),
            Transition(
                "reopen", source="closed", dest="assessment", roles={"supervisor"},
                reason_required=True, reopens=True,
            ),
        ],
        "handovers": RULES,
        "roles": {"social_worker", "supervisor", "head_of_office"},
    }  # fmt: skip
    fields.update(changes)
    return Workflow(**fields)  # type: ignore[arg-type]


WF = homelessness()
CONSENTS = {"consent:referral": "F-1", "consent:transfer": "F-2"}


def engine(store=None, *, directory=DIRECTORY, wf=WF):  # type: ignore[no-untyped-def]
    clock = ManualClock(START)
    eng = Engine([wf], clock=clock, directory=directory, **({"store": store} if store else {}))
    eng.open(wf.name, "H-1", actor=SW1, assignee=SW1.id, unit=MEDAN, evidence=CONSENTS)
    return eng


def whys(call) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(TransitionRejected) as caught:
        call()
    return [r.why for r in caught.value.reasons]


def refused_and_recorded(eng: Engine, call) -> list[str]:  # type: ignore[no-untyped-def]
    before = eng.get("H-1")
    found = whys(call)
    assert eng.get("H-1") == before
    assert eng.trail("H-1")[-1].kind is EntryKind.REFUSED
    return found


# --- 1. workers are not bare ids ----------------------------------------------------------


def test_an_assignment_names_a_worker_of_the_case_who_is_not_its_worker_already():
    eng = engine()
    assert refused_and_recorded(eng, lambda: eng.assign("H-1", "sw-1", actor=SPV)) == [
        "H-1 is already assigned to sw-1"
    ]
    assert refused_and_recorded(eng, lambda: eng.assign("H-1", "user9", actor=SPV)) == [
        "user9 is not a worker"
    ]
    assert refused_and_recorded(eng, lambda: eng.assign("H-1", "sw-gone", actor=SPV)) == [
        "sw-gone is not active"
    ]
    assert refused_and_recorded(eng, lambda: eng.assign("H-1", "sw-b1", actor=SPV)) == [
        "sw-b1 is not of medan"
    ]
    assert eng.assign("H-1", "sw-2", actor=SPV).assignee == "sw-2"
    assert replay(WF, eng.trail("H-1")) == eng.get("H-1")


def test_without_a_directory_workers_stay_bare_ids_but_self_assignment_is_refused():
    eng = engine(directory=None)
    assert eng.assign("H-1", "user9", actor=SPV).assignee == "user9"
    assert whys(lambda: eng.assign("H-1", "user9", actor=SPV)) == [
        "H-1 is already assigned to user9"
    ]


def test_group_scoped_assignment_stays_within_the_assigners_group():
    eng = engine(wf=homelessness(assign_scope="group"))
    assert whys(lambda: eng.assign("H-1", "sw-2", actor=SPV)) == [
        "sw-2 is in another group than spv-1"
    ]
    assert eng.assign("H-1", "sw-2", actor=SPV2).assignee == "sw-2"


def test_the_unit_follows_the_assignee_where_the_workflow_says_so():
    eng = engine(wf=homelessness(unit_follows_assignee=True))
    assert whys(lambda: eng.assign("H-1", "sw-two", actor=SPV)) == [
        "sw-two works in 2 units; the case's unit cannot follow"
    ]
    moved = eng.assign("H-1", "sw-b1", actor=SPV)
    assert (moved.assignee, moved.unit) == ("sw-b1", BINJAI)
    entry = eng.trail("H-1")[-1]
    assert (entry.details["from_unit"], entry.details["unit"]) == (MEDAN, BINJAI)
    assert whys(lambda: eng.assign("H-1", "sw-1", actor=SPV)) == [
        "spv-1 is not of binjai, which owns H-1, and no open handover lets them act on it"
    ]
    assert replay(homelessness(unit_follows_assignee=True), eng.trail("H-1")) == eng.get("H-1")


def test_a_transfer_to_a_named_worker_is_answered_by_them_or_their_manager_only():
    eng = engine()
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves to Binjai.", to_worker="sw-b1")
    assert refused_and_recorded(eng, lambda: eng.accept_transfer("H-1", actor=B_SW2)) == [
        "sw-b2 may not accept transfer-2; only sw-b1, or supervisor for them may"
    ]
    moved = eng.accept_transfer("H-1", actor=B_SPV)
    assert (moved.unit, moved.assignee) == (BINJAI, "sw-b1")


def test_addressees_of_handovers_are_checked_in_the_directory():
    eng = engine()
    assert whys(lambda: eng.transfer("H-1", BINJAI, actor=SPV, reason="r", to_worker="sw-b2")) == [
        "sw-b2 does not receive transfers"
    ]
    assert whys(lambda: eng.refer("H-1", actor=SW1, to_worker="nobody")) == [
        "nobody is not a worker"
    ]
    assert whys(lambda: eng.refer("H-1", actor=SW1, to_unit=BINJAI, to_worker="sw-2")) == [
        "sw-2 is not of binjai"
    ]
    assert whys(lambda: eng.refer("H-1", actor=SW1, to_worker="sw-1")) == [
        "sw-1 already works on H-1"
    ]
    assert whys(lambda: eng.refer("H-1", actor=SW1)) == [
        "a referral needs a unit or a worker to go to"
    ]


# --- 2. a referral is a thing -------------------------------------------------------------


def test_several_referrals_are_open_at_once_and_each_is_answered_by_its_party():
    eng = engine()
    eng.refer("H-1", actor=SW1, to_unit=BINJAI, service="shelter", reason="A bed for tonight.")
    eng.refer("H-1", actor=SW1, to_worker="sw-2", service="legal_aid")
    case = eng.get("H-1")
    assert [(h.id, h.addressee, h.status) for h in case.open_handovers] == [
        ("referral-2", BINJAI, "in_progress"),
        ("referral-3", "sw-2", "in_progress"),
    ]
    assert whys(lambda: eng.refer("H-1", actor=SW1, to_worker="sw-2")) == [
        "referral-3 to sw-2 is already open"
    ]
    assert whys(lambda: eng.accept_handover("H-1", "referral-2", actor=SW2)) == [
        "sw-2 may not accept referral-2; only binjai may"
    ]
    eng.accept_handover("H-1", "referral-2", actor=B_SW)
    eng.reject_handover("H-1", "referral-3", actor=SPV, reason="Sw-2 is on leave.")
    assert whys(lambda: eng.accept_handover("H-1", "referral-3", actor=SW2)) == [
        "referral-3 is already rejected by spv-1"
    ]
    assert whys(lambda: eng.complete_handover("H-1", "referral-2", actor=SW1)) == [
        "sw-1 may not done referral-2; only binjai may"
    ]
    done = eng.complete_handover("H-1", "referral-2", actor=B_SW, reason="Placed.")
    assert [(h.id, h.status, h.answered_by) for h in done.handovers.values()] == [
        ("referral-2", "done", "sw-b1"),
        ("referral-3", "rejected", "spv-1"),
    ]
    assert (done.unit, done.assignee) == (MEDAN, "sw-1")
    assert replay(WF, eng.trail("H-1")) == eng.get("H-1")


def test_a_referral_is_withdrawn_by_its_sender_or_the_owner_with_a_reason():
    eng = engine()
    eng.refer("H-1", actor=SW1, to_unit=BINJAI)
    assert whys(lambda: eng.revoke_handover("H-1", "referral-2", actor=B_SW, reason="r")) == [
        "sw-b1 may not revoke referral-2; only its sender or the case's owner may"
    ]
    assert whys(lambda: eng.revoke_handover("H-1", "referral-2", actor=SW1, reason=" ")) == [
        "to revoke referral-2 needs a written reason"
    ]
    revoked = eng.revoke_handover("H-1", "referral-2", actor=SPV, reason="Family took him in.")
    assert revoked.handovers["referral-2"].status == "revoked"


def test_a_referral_needs_consent_to_share_or_a_declared_override():
    no_consent = Engine([WF], clock=ManualClock(START), directory=DIRECTORY)
    no_consent.open(WF.name, "H-1", actor=SW1, assignee=SW1.id, unit=MEDAN)
    assert whys(lambda: no_consent.refer("H-1", actor=SW1, to_unit=BINJAI)) == [
        "no consent to referral is recorded; the client must consent"
    ]
    assert whys(
        lambda: no_consent.refer("H-1", actor=SW1, to_unit=BINJAI, override_by=SPV, reason="r")
    )[1:] == [
        "an override of referral needs head_of_office",
        "an override needs a reason code: one of IMMINENT_DANGER",
    ]
    sent = no_consent.refer(
        "H-1", actor=SW1, to_unit=BINJAI, override_by=HEAD, reason_code="IMMINENT_DANGER",
        reason="He sleeps under the bridge tonight.",
    )  # fmt: skip
    assert sent.handovers["referral-4"].overridden_by == HEAD.id
    entry = no_consent.trail("H-1")[-1]
    assert entry.details["overridden"] == "consent to referral"
    with_paper = no_consent.refer(
        "H-1", actor=SW1, to_worker="sw-2", evidence={"consent:referral": "F-9"}
    )
    assert with_paper.handovers["referral-5"].evidence == {"consent:referral": "F-9"}


def test_access_follows_an_open_referral_and_ends_with_it():
    eng = engine()
    outsider = whys(lambda: eng.record("H-1", "shelter_note", actor=B_SW))
    assert outsider == [
        "sw-b1 is not of medan, which owns H-1, and no open handover lets them do record on it"
    ]
    eng.refer("H-1", actor=SW1, to_unit=BINJAI)
    eng.accept_handover("H-1", "referral-3", actor=B_SW)
    assert eng.record("H-1", "shelter_note", actor=B_SW, data={"bed": 4}).data["bed"] == 4
    assert eng.fire("H-1", "note", actor=B_SW).revision > 1
    assert eng.read("H-1", actor=B_SW).case.id == "H-1"
    assert whys(lambda: eng.fire("H-1", "assess", actor=B_SW)) == [
        "sw-b1 is not of medan, which owns H-1, and no open handover lets them do assess on it"
    ]
    assert whys(lambda: eng.assign("H-1", "sw-2", actor=B_SPV))[-1].startswith(
        "spv-b is not of medan"
    )
    eng.complete_handover("H-1", "referral-3", actor=B_SW)
    assert whys(lambda: eng.read("H-1", actor=B_SW)) == [
        "sw-b1 is not of medan, which owns H-1, and no open handover lets them do read on it"
    ]


# --- 3. transfers ---------------------------------------------------------------------------


def test_a_transfer_needs_consent_and_its_sender_can_withdraw_it():
    eng = Engine([WF], clock=ManualClock(START), directory=DIRECTORY)
    eng.open(WF.name, "H-1", actor=SW1, assignee=SW1.id, unit=MEDAN)
    assert whys(lambda: eng.transfer("H-1", BINJAI, actor=SPV, reason="r")) == [
        "no consent to transfer is recorded; the client must consent"
    ]
    eng.transfer("H-1", BINJAI, actor=SPV, reason="r", evidence={"consent:transfer": "F-2"})
    withdrawn = eng.revoke_handover("H-1", "transfer", actor=SPV, reason="He stays in Medan.")
    assert (withdrawn.unit, withdrawn.open_handovers) == (MEDAN, ())
    assert withdrawn.handovers["transfer-3"].status == "revoked"


def test_the_receiving_side_asks_for_a_case_and_the_owner_answers():
    eng = engine()
    assert whys(lambda: eng.request_transfer("H-1", actor=SPV, reason="r")) == [
        "spv-1 is of medan, which owns the case",
        "the case already belongs to medan",
    ]
    asked = eng.request_transfer("H-1", actor=B_SPV, reason="He lives in Binjai now.")
    request = asked.handover("transfer_request")
    assert request is not None
    assert (request.to_unit, request.to_worker) == (BINJAI, "spv-b")
    assert whys(lambda: eng.accept_handover("H-1", request.id, actor=B_SPV)) == [
        "spv-b may not accept transfer_request-3; only the case's worker or medan may"
    ]
    moved = eng.accept_handover("H-1", request.id, actor=SW1, assignee="sw-b1")
    assert (moved.unit, moved.assignee) == (BINJAI, "sw-b1")
    entry = eng.trail("H-1")[-1]
    assert (entry.details["from_assignee"], entry.details["from_unit"]) == ("sw-1", MEDAN)


def test_an_accepted_transfer_names_the_previous_worker_and_a_refused_one_is_recorded():
    eng = engine()
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    assert whys(lambda: eng.refuse_transfer("H-1", actor=SW1, reason="no")) == [
        "sw-1 may not reject transfer-2; only binjai may"
    ]
    assert eng.trail("H-1")[-1].kind is EntryKind.REFUSED
    moved = eng.accept_transfer("H-1", actor=B_SPV, assignee="sw-b1")
    accepted = eng.trail("H-1")[-1]
    assert (accepted.details["from_assignee"], accepted.assignee) == ("sw-1", "sw-b1")
    assert (moved.unit, moved.assignee) == (BINJAI, "sw-b1")
    assert whys(lambda: eng.fire("H-1", "note", actor=SW1))[-1].startswith("sw-1 is not of binjai")


def test_closing_a_case_cancels_its_waiting_transfer_so_it_cannot_move_closed():
    eng = engine()
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    eng.fire("H-1", "close_now", actor=SPV)
    cancelled = eng.trail("H-1")[-1]
    assert (cancelled.kind, cancelled.details["status"]) == (
        EntryKind.HANDOVER_ANSWERED,
        "cancelled",
    )
    assert whys(lambda: eng.accept_transfer("H-1", actor=B_SPV)) == [
        "no transfer of H-1 is waiting"
    ]
    case = eng.get("H-1")
    assert (case.state, case.unit) == ("closed", MEDAN)
    assert replay(WF, eng.trail("H-1")) == case


def test_an_open_handover_that_refuses_closing_keeps_the_case_open():
    rules = [*RULES[1:], HandoverRule("referral", send={"social_worker"}, on_close="refuse")]
    eng = engine(wf=homelessness(handovers=rules))
    eng.refer("H-1", actor=SW1, to_unit=BINJAI)
    assert whys(lambda: eng.fire("H-1", "close_now", actor=SPV)) == [
        "referral-2 to binjai is open; end it before closing the case"
    ]


def test_a_transfer_cancels_the_old_units_waiting_approvals():
    eng = engine()
    eng.fire("H-1", "close", actor=SW1)
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    eng.accept_transfer("H-1", actor=B_SPV, assignee="sw-b1")
    kinds = [e.kind for e in eng.trail("H-1")[-2:]]
    assert kinds == [EntryKind.HANDOVER_ANSWERED, EntryKind.APPROVAL_CANCELLED]
    assert eng.get("H-1").approvals == {}
    assert whys(lambda: eng.approve("H-1", actor=SPV)) == ["nothing on H-1 is waiting for approval"]


def test_a_carried_approval_is_decided_only_by_the_receiving_unit():
    close = Transition(
        "close", source=("intake", "assessment"), dest="closed", roles={"social_worker"},
        approval=Approval({"supervisor"}, kind="closure", on_transfer="carry"),
    )  # fmt: skip
    wf = homelessness(transitions=[*(t for t in WF.transitions if t.event != "close"), close])
    eng = engine(wf=wf)
    eng.fire("H-1", "close", actor=SW1)
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    eng.accept_transfer("H-1", actor=B_SPV, assignee="sw-b1")
    assert eng.get("H-1").approvals.keys() == {"closure"}
    assert whys(lambda: eng.approve("H-1", actor=SPV)) == [
        "spv-1 is not of binjai, which owns H-1, and no open handover lets them act on it"
    ]
    assert eng.approve("H-1", actor=B_SPV).state == "closed"


# --- 4. approvals by kind -------------------------------------------------------------------


def test_a_pending_case_plan_does_not_block_a_closure_request():
    eng = engine()
    eng.fire("H-1", "assess", actor=SW1)
    eng.fire("H-1", "propose_plan", actor=SW1)
    asked = eng.fire("H-1", "close", actor=SW1)
    assert asked.approvals.keys() == {"case_plan", "closure"}
    assert whys(lambda: eng.approve("H-1", actor=SPV)) == [
        "several requests wait for approval on H-1 (case_plan, closure); name the kind"
    ]
    closed = eng.approve("H-1", actor=SPV, kind="closure")
    assert (closed.state, closed.approvals) == ("closed", {})
    assert [e.kind for e in eng.trail("H-1")[-2:]] == [
        EntryKind.TRANSITION,
        EntryKind.APPROVAL_CANCELLED,
    ]
    assert replay(WF, eng.trail("H-1")) == closed


def test_the_case_worker_may_not_approve_where_the_approval_says_so():
    eng = engine()
    eng.assign("H-1", "spv-2", actor=SPV)
    eng.fire("H-1", "close", actor=SW1)
    assert whys(lambda: eng.approve("H-1", actor=SPV2)) == [
        "spv-2 is the worker of H-1; someone else must approve it"
    ]
    assert eng.approve("H-1", actor=SPV).state == "closed"


def test_a_role_may_approve_its_own_request_where_declared():
    eng = engine()
    eng.fire("H-1", "close", actor=SPV)
    assert whys(lambda: eng.approve("H-1", actor=SPV)) == [
        "spv-1 requested close; someone else must approve it"
    ]
    eng.reject("H-1", actor=SPV2, reason="Not yet.")
    eng.fire("H-1", "close", actor=HEAD)
    assert eng.approve("H-1", actor=HEAD).state == "closed"


def test_an_approver_may_take_a_step_directly_where_declared():
    eng = engine()
    assert whys(lambda: eng.fire("H-1", "close_now", actor=SW1)) == [
        "sw-1 acts as social_worker; close_now needs supervisor"
    ]
    closed = eng.fire("H-1", "close_now", actor=SPV)
    entry = eng.trail("H-1")[-1]
    assert closed.state == "closed"
    assert (entry.details["decision"], entry.details["approval"]) == ("approved", "direct")
    assert replay(WF, eng.trail("H-1")) == closed


def test_a_reopened_case_starts_with_nothing_waiting():
    eng = engine()
    eng.refer("H-1", actor=SW1, to_unit=BINJAI)
    eng.fire("H-1", "close_now", actor=SPV)
    reopened = eng.fire("H-1", "reopen", actor=SPV, reason="He came back.")
    assert (reopened.state, reopened.open_handovers, reopened.approvals) == (
        "assessment", (), {},
    )  # fmt: skip


# --- bad input and failure ---------------------------------------------------------------


def test_an_unknown_handover_and_a_handover_on_a_closed_case_are_refused_and_recorded():
    eng = engine()
    assert refused_and_recorded(eng, lambda: eng.accept_handover("H-1", "referral-9", actor=SPV))
    eng.fire("H-1", "close_now", actor=SPV)
    found = refused_and_recorded(eng, lambda: eng.refer("H-1", actor=SW1, to_unit=BINJAI))
    assert found == ["the case is closed (closed); reopen it to refer it"]
    with pytest.raises(InvalidInput, match="handover_id"):
        eng.accept_handover("H-1", "", actor=SPV)
    with pytest.raises(InvalidInput, match="directory"):
        Engine([WF], directory=object())  # type: ignore[arg-type]


def test_two_managers_accepting_one_transfer_at_once_exactly_one_wins(store):
    eng = engine(store)
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    other = Actor("spv-b2", {"supervisor"}, units={BINJAI})
    directory = InMemoryDirectory([*(DIRECTORY.worker(i) for i in ("sw-b1", "spv-b")), Worker(
        "spv-b2", {BINJAI: {"supervisor"}})])  # fmt: skip
    second = Engine([WF], store=eng.store, clock=ManualClock(START), directory=directory)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(engine_: Engine, actor: Actor) -> None:
        barrier.wait()
        try:
            engine_.accept_transfer("H-1", actor=actor, assignee="sw-b1")
            outcomes.append("won")
        except (ConcurrentModification, TransitionRejected):
            outcomes.append("lost")

    threads = [
        threading.Thread(target=accept, args=(eng, B_SPV)),
        threading.Thread(target=accept, args=(second, other)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    answers = [e for e in eng.trail("H-1") if e.kind is EntryKind.HANDOVER_ANSWERED]
    assert len(answers) == 1
    assert eng.get("H-1").unit == BINJAI
    assert eng.verify("H-1").ok


# --- workflow files -----------------------------------------------------------------------


def test_handover_rules_and_approval_options_round_trip_through_files():
    assert loads_workflow(dump_workflow(WF, "yaml"), "yaml") == WF
    assert loads_workflow(dump_workflow(WF, "json"), "json") == WF


def test_bad_handover_declarations_are_reported_with_their_place():
    text = dump_workflow(WF, "yaml").replace("transfer_request:", "transfer_requests:", 1)
    with pytest.raises(WorkflowError) as info:
        loads_workflow(text, "yaml", source="hl.yaml")
    assert any(
        "'transfer_requests' is not a kind of handover" in str(p) and "hl.yaml:" in str(p)
        for p in info.value.details
    )
    with pytest.raises(WorkflowError, match="access names 'nap'"):
        homelessness(handovers=[HandoverRule("referral", send={"social_worker"}, access={"nap"})])
    with pytest.raises(WorkflowError, match="no role may send a referral"):
        homelessness(handovers=[HandoverRule("referral")])
    with pytest.raises(WorkflowError, match="role 'boss' is not one of the workflow's roles"):
        homelessness(handovers=[HandoverRule("transfer", send={"boss"})])
    bad_choice = dump_workflow(WF, "yaml").replace("on_move: cancel", "on_move: later", 1)
    with pytest.raises(WorkflowError, match="on_move must be one of refuse, cancel"):
        loads_workflow(bad_choice, "yaml")


@pytest.fixture(params=KINDS)
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    with make_store(request.param, tmp_path) as s:
        yield s


def test_a_guard_asking_for_a_handover_the_workflow_does_not_declare_is_refused():
    from casework_flow.guards import handover  # noqa: PLC0415 - the guard under test

    wait = Transition("wait", source="intake", dest="assessment", guard=handover("referral"))
    with pytest.raises(WorkflowError, match="asks for an accepted referral, which the workflow"):
        homelessness(transitions=[*WF.transitions, wait], handovers=RULES[1:])
    assert homelessness(transitions=[*WF.transitions, wait]).transitions[-1] == wait


def test_only_declared_overrides_of_missing_consent_let_a_handover_go():
    eng = Engine([WF], clock=ManualClock(START), directory=DIRECTORY)
    eng.open(WF.name, "H-1", actor=SW1, assignee=SW1.id, unit=MEDAN)
    undeclared = "only missing consent can be overridden, and only where the workflow allows it"
    assert whys(
        lambda: eng.transfer(
            "H-1", BINJAI, actor=SPV, reason="r", override_by=HEAD, reason_code="IMMINENT_DANGER"
        )
    ) == ["no consent to transfer is recorded; the client must consent", undeclared]
    assert eng.get("H-1").open_handovers == ()


def test_a_listener_sees_every_entry_of_a_step_that_cancels_what_waits():
    eng = engine()
    eng.fire("H-1", "close", actor=SW1)
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    seen = []
    eng.on_commit(seen.append)
    eng.accept_transfer("H-1", actor=B_SPV, assignee="sw-b1")
    (step,) = seen
    assert [e.kind for e in step.entries] == [
        EntryKind.HANDOVER_ANSWERED,
        EntryKind.APPROVAL_CANCELLED,
    ]
    assert step.entry is step.entries[0]
    assert step.entries == tuple(eng.trail("H-1")[-2:])


def test_answers_that_do_not_fit_the_handovers_status_are_refused():
    eng = engine()
    eng.refer("H-1", actor=SW1, to_unit=BINJAI)
    assert whys(lambda: eng.complete_handover("H-1", "referral-2", actor=B_SW)) == [
        "only an accepted referral can be marked done; referral-2 is in_progress"
    ]
    eng.accept_handover("H-1", "referral-2", actor=B_SW)
    assert whys(lambda: eng.accept_handover("H-1", "referral-2", actor=B_SW)) == [
        "referral-2 is already accepted"
    ]
    assert whys(lambda: eng.reject_handover("H-1", "referral-2", actor=B_SW, reason="r")) == [
        "referral-2 is already accepted"
    ]
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    assert whys(lambda: eng.complete_handover("H-1", "transfer", actor=B_SPV)) == [
        "only an accepted referral can be marked done; transfer-7 is in_progress"
    ]


def test_a_transfer_to_a_unit_may_be_accepted_into_its_queue_with_no_worker():
    eng = engine()
    eng.transfer("H-1", BINJAI, actor=SPV, reason="Moves.")
    moved = eng.accept_transfer("H-1", actor=B_SPV)
    assert (moved.unit, moved.assignee) == (BINJAI, None)


def test_a_transfer_request_is_withdrawn_by_its_sender_not_by_the_owner():
    eng = engine()
    eng.request_transfer("H-1", actor=B_SPV, reason="He lives in Binjai now.")
    for who in (B_SW, SPV):
        assert whys(
            lambda who=who: eng.revoke_handover("H-1", "transfer_request", actor=who, reason="r")
        ) == [f"{who.id} may not revoke transfer_request-2; only its sender or their unit may"]
    withdrawn = eng.revoke_handover("H-1", "transfer_request", actor=B_SPV, reason="Stays.")
    assert withdrawn.handovers["transfer_request-2"].status == "revoked"


def test_a_referral_to_a_named_worker_lets_only_them_in_not_their_unit():
    eng = engine()
    eng.refer("H-1", actor=SW1, to_unit=BINJAI, to_worker="sw-b1")
    eng.accept_handover("H-1", "referral-2", actor=B_SW)
    assert eng.record("H-1", "visit", actor=B_SW).revision > 1
    assert whys(lambda: eng.record("H-1", "visit", actor=B_SW2)) == [
        "sw-b2 is not of medan, which owns H-1, and no open handover lets them do record on it"
    ]


def test_undeclared_kinds_and_unknown_workers_in_a_group_are_named():
    eng = engine(wf=homelessness(handovers=RULES[1:], assign_scope="group"))
    assert whys(lambda: eng.refer("H-1", actor=SW1, to_unit=BINJAI)) == [
        "homelessness declares no referrals"
    ]
    assert whys(lambda: eng.assign("H-1", "user9", actor=SPV)) == ["user9 is not a worker"]


def test_an_approval_that_would_now_lead_elsewhere_is_refused():
    from casework_flow.guards import evidence  # noqa: PLC0415 - the guard of the example

    ends = [
        Transition("end", source="intake", dest="closed", roles={"social_worker"}, priority=2,
                   approval=Approval({"supervisor"})),
        Transition("end", source="intake", dest="referred", roles={"social_worker"},
                   priority=1, guard=evidence("referral_letter"),
                   approval=Approval({"supervisor"})),
    ]  # fmt: skip
    wf = homelessness(
        states=[*WF.states, State("referred", terminal=True)],
        transitions=[*WF.transitions, *ends],
    )
    eng = engine(wf=wf)
    eng.fire("H-1", "end", actor=SW1)
    eng.record("H-1", "letter", actor=SW1, evidence={"referral_letter": "L-1"})
    dest = "end would now lead to referred, not to closed as requested; reject the request"
    assert whys(lambda: eng.approve("H-1", actor=SPV)) == [f"{dest} and ask again"]


def test_the_directory_values_and_the_engine_inputs_say_what_is_wrong():
    w = Worker("sw-two", {MEDAN: {"social_worker"}, BINJAI: {"coordinator"}})
    assert (w.roles_in(BINJAI), w.roles_in("deli"), w.home) == ({"coordinator"}, set(), None)
    assert (len(DIRECTORY), repr(DIRECTORY)) == (10, "<InMemoryDirectory workers=10>")
    with pytest.raises(TypeError, match="not a Worker"):
        InMemoryDirectory(["sw-1"])  # type: ignore[list-item]
    eng = engine()
    with pytest.raises(InvalidInput, match="to_unit"):
        eng.transfer("H-1", " ", actor=SPV, reason="r")
    both = Actor("x", {"supervisor"}, units={BINJAI, "deli"})
    with pytest.raises(InvalidInput, match="the unit asking for the case"):
        eng.request_transfer("H-1", actor=both, reason="r")
    assert len(eng.trail("H-1")) == 1


def test_an_answer_to_a_kind_the_workflow_no_longer_declares_is_refused_in_the_core():
    from casework_flow._catalog import Catalog  # noqa: PLC0415 - the pure core under test
    from casework_flow._commands import Answer  # noqa: PLC0415
    from casework_flow._decide import decide  # noqa: PLC0415

    eng = engine()
    eng.refer("H-1", actor=SW1, to_unit=BINJAI)
    bare = homelessness(handovers=RULES[1:])
    snap = eng.store.load("H-1")
    result = decide(Catalog([bare]), snap, Answer("referral-2", "accept", B_SW), START)
    assert [v.why for v in result.refused] == [
        "homelessness v1 declares no referrals; referral-2 cannot be answered"
    ]
    assert [e.kind for e in result.entries] == [EntryKind.REFUSED]


def test_handover_refusals_say_what_kind_of_check_failed_and_rules_read_the_past():
    from casework_flow.guards import CheckKind, count  # noqa: PLC0415

    assessed = consent("referral") & (count("assess") >= 1)
    rules = [*RULES[1:], HandoverRule("referral", send={"social_worker"}, guard=assessed)]
    eng = engine(wf=homelessness(handovers=rules))
    with pytest.raises(TransitionRejected) as caught:
        eng.refer("H-1", actor=SW1, to_unit=BINJAI, evidence={"consent:referral": "F"})
    assert [(r.kind, r.check, r.passed) for r in caught.value.reasons] == [
        (CheckKind.GUARD, "count(assess) >= 1", False)
    ]
    eng.fire("H-1", "assess", actor=SW1)
    assert eng.refer("H-1", actor=SW1, to_unit=BINJAI).open_handovers
    with pytest.raises(TransitionRejected) as caught:
        eng.record("H-1", "visit", actor=B_SW)
    assert [(r.kind, r.check) for r in caught.value.reasons] == [(CheckKind.ROLE, "access")]
