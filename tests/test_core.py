"""The pure step core: decide and evolve, and the defects found where the step was copied."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from casework_flow import (
    Actor,
    Approval,
    ConsentOverride,
    Engine,
    EntryKind,
    ManualClock,
    State,
    Timer,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from casework_flow._catalog import Catalog
from casework_flow._commands import Approve, Assign, Fire, Migrate
from casework_flow._decide import decide
from casework_flow._evolve import evolve, fold
from casework_flow._frozen import FrozenMap
from casework_flow.audit import ABSENT
from casework_flow.guards import GuardContext, History, check, consent, count, not_actor_of

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
SW = Actor("sw-031", {"social_worker"})
SW2 = Actor("sw-044", {"social_worker"})
SPV = Actor("spv-002", {"supervisor"})
SPV2 = Actor("spv-007", {"supervisor"})
HEAD = Actor("kabid-01", {"head_of_division"})


def family_work() -> Workflow:
    """Family tracing where silence for 14 days asks for a case conference, with approval."""
    return Workflow(
        name="family-work",
        version=1,
        initial="tracing",
        states=[
            State("tracing", timers=[Timer(timedelta(days=14), "family_silent")]),
            State("plan"),
            State("conference"),
            State("referred"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("record_contact", source="tracing", dest=None, roles={"social_worker"}),
            Transition(
                "family_silent", source="tracing", dest="conference",
                roles={"system", "social_worker"}, approval=Approval({"supervisor"}),
            ),
            Transition(
                "propose_plan", source="tracing", dest="plan", roles={"social_worker"},
                approval=Approval({"supervisor"}),
            ),
            Transition(
                "refer", source=("plan", "conference"), dest="referred",
                roles={"social_worker"}, guard=consent("referral"),
                override=ConsentOverride({"head_of_division"}, ("IMMINENT_DANGER",)),
                approval=Approval({"supervisor"}),
            ),
            Transition(
                "close", source=("plan", "referred"), dest="closed",
                roles={"social_worker", "supervisor"}, guard=not_actor_of("propose_plan"),
            ),
            Transition(
                "note_progress", source="plan", dest=None, roles={"social_worker"},
                guard=count("record_contact") >= 0,
            ),
        ],
        roles={"social_worker", "supervisor", "system", "head_of_division"},
        assign_roles={"supervisor"},
    )  # fmt: skip


WF = family_work()


def engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    eng = Engine([WF], clock=clock)
    eng.open(WF.name, "FW-1", actor=SW, assignee=SW.id)
    return eng, clock


def test_a_timer_whose_transition_needs_approval_becomes_a_request():
    """Four eyes hold for timers too: the system requests, a supervisor decides."""
    eng, clock = engine()
    clock.advance(days=15)
    report = eng.run_due()
    assert [r.outcome.value for r in report.runs] == ["fired"]
    case = eng.get("FW-1")
    assert case.state == "tracing"
    assert case.approvals["family_silent"].requested_by == "system"
    request = eng.trail("FW-1")[-1]
    assert (request.kind, request.timer) == (EntryKind.APPROVAL_REQUESTED, "family_silent")
    assert case.timer is None
    assert not eng.run_due().runs
    approved = eng.approve("FW-1", actor=SPV)
    assert approved.state == "conference"
    assert replay(WF, eng.trail("FW-1")) == eng.get("FW-1")


def test_can_fire_and_available_events_refuse_a_second_request_of_a_kind_that_waits():
    eng, _ = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    decision = eng.can_fire("FW-1", "propose_plan", actor=SW)
    assert not decision.allowed
    assert [r.check for r in decision.reasons] == ["pending"]
    assert eng.available_events("FW-1", SW) == ("record_contact", "family_silent")
    with pytest.raises(TransitionRejected, match="waiting for approval"):
        eng.fire("FW-1", "propose_plan", actor=SW)
    assert eng.fire("FW-1", "record_contact", actor=SW).approvals.keys() == {"propose_plan"}


def test_a_refused_assignment_is_recorded():
    eng, _ = engine()
    with pytest.raises(TransitionRejected, match="assigning cases needs supervisor"):
        eng.assign("FW-1", "sw-044", actor=SW)
    last = eng.trail("FW-1")[-1]
    assert (last.kind, last.event, last.actor_id) == (EntryKind.REFUSED, "assign", SW.id)
    assert eng.get("FW-1").assignee == SW.id


def test_a_request_made_with_a_consent_override_can_be_approved():
    eng, _ = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    asked = eng.fire(
        "FW-1", "refer", actor=SW, override_by=HEAD, reason_code="IMMINENT_DANGER",
        reason="The client is in danger on the street tonight.",
    )  # fmt: skip
    assert asked.approvals["refer"].overridden_by == HEAD.id
    approved = eng.approve("FW-1", actor=SPV)
    assert approved.state == "referred"
    entry = eng.trail("FW-1")[-1]
    assert entry.details["overridden_by"] == HEAD.id
    assert entry.details["decision"] == "approved"
    assert replay(WF, eng.trail("FW-1")) == eng.get("FW-1")


def test_a_reason_code_for_a_transition_that_declares_none_is_refused():
    eng, _ = engine()
    with pytest.raises(TransitionRejected, match="takes no reason code"):
        eng.fire("FW-1", "record_contact", actor=SW, reason_code="REUNIFIED")
    assert eng.get("FW-1").revision == 1


def test_separation_of_duties_blocks_the_requester_not_the_approver():
    """``not_actor_of(event)`` means whoever made the step: the requester of an approved one."""
    eng, _ = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    approved = eng.trail("FW-1")[-1]
    assert approved.actor_id == SPV.id
    assert approved.details["requested_by"] == SW.id
    assert approved.details["requested_roles"] == "social_worker"
    with pytest.raises(TransitionRejected, match="sw-031 did propose_plan"):
        eng.fire("FW-1", "close", actor=SW)
    assert eng.fire("FW-1", "close", actor=SPV).state == "closed"


def test_an_approval_rechecks_what_the_transition_checks():
    """Approving re-runs the transition's guards on the case as it is at approval time."""
    eng, _ = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.approve("FW-1", actor=SPV)
    eng.fire("FW-1", "refer", actor=SW, evidence={"consent:referral": "FORM-1"})
    catalog = Catalog([WF])
    snap = eng.store.load("FW-1", history=catalog.history_keys)
    pending = snap.case.approvals["refer"]
    later = START + timedelta(days=1)
    assert decide(catalog, snap, Approve(SPV), later).allowed
    withdrawn = attrs.evolve(
        snap, case=attrs.evolve(snap.case, approvals={"refer": attrs.evolve(pending, evidence={})})
    )
    refused = decide(catalog, withdrawn, Approve(SPV), later)
    assert [v.check for v in refused.refused] == ["consent to referral"]
    assert refused.entries[0].kind is EntryKind.REFUSED


def test_a_refused_manual_fire_changes_nothing_a_read_can_see():
    eng, clock = engine()
    before = eng.get("FW-1")
    clock.advance(days=3)
    with pytest.raises(TransitionRejected):
        eng.fire("FW-1", "close", actor=SW)
    assert eng.get("FW-1") == before
    assert eng.trail("FW-1")[-1].kind is EntryKind.REFUSED


def test_evolve_is_the_only_way_and_decide_writes_nothing():
    eng, clock = engine()
    catalog = Catalog([WF])
    snap = eng.store.load("FW-1", history=catalog.history_keys)
    clock.advance(days=1)
    result = decide(catalog, snap, Fire("record_contact", SW), clock())
    assert result.allowed
    assert len(eng.trail("FW-1")) == 1
    after = fold(snap.case, result.entries, catalog=catalog)
    assert after.revision == 2
    eng.fire("FW-1", "record_contact", actor=SW)
    assert eng.get("FW-1") == after
    refused = decide(catalog, snap, Assign("sw-044", SW), clock())
    assert refused.refused
    assert evolve(snap.case, refused.entries[0], catalog=catalog) == snap.case


def test_a_migration_decided_on_a_blocked_case_is_refused_with_its_blockers():
    eng, _ = engine()
    eng.fire("FW-1", "propose_plan", actor=SW)
    v2 = attrs.evolve(WF, version=2)
    catalog = Catalog([WF, v2])
    snap = eng.store.load("FW-1", history=catalog.history_keys)
    result = decide(catalog, snap, Migrate(2, FrozenMap({}), SPV), START)
    assert result.entries == ()
    assert [v.why for v in result.refused] == ["propose_plan is waiting for approval"]


def test_history_keeps_its_entries_as_a_tuple_and_reads_who_did_what():
    eng, _ = engine()
    eng.fire("FW-1", "record_contact", actor=SW)
    eng.fire("FW-1", "record_contact", actor=SW2)
    history = History(list(eng.trail("FW-1")))
    assert isinstance(history.entries, tuple)
    assert history.count("record_contact") == 2
    assert history.doers("record_contact") == {SW.id, SW2.id}
    assert len(history) == 3
    assert history.committed("propose_plan") == ()


def test_absent_is_one_value_that_names_itself_and_survives_pickling():
    assert repr(ABSENT) == "ABSENT"
    assert pickle.loads(pickle.dumps(ABSENT)) is ABSENT  # noqa: S301 - our own bytes


def test_a_host_check_reads_the_whole_history_loaded_with_the_case():
    """A workflow with a host check loads the trail even when no guard names an event."""
    seen: list[int] = []

    def quiet_week(ctx: GuardContext) -> tuple[bool, str]:
        seen.append(len(ctx.history.entries))
        return len(ctx.history.entries) >= 2, f"{len(ctx.history.entries)} entries so far"

    wf = Workflow(
        name="host-check", version=1, initial="a",
        states=[State("a"), State("b", terminal=True)],
        transitions=[
            Transition("note", source="a", dest=None, roles={"social_worker"}),
            Transition("close", source="a", dest="b", roles={"social_worker"},
                       guard=check("quiet_week", quiet_week)),
        ],
    )  # fmt: skip
    eng = Engine([wf], clock=ManualClock(START))
    eng.open(wf.name, "H-1", actor=SW)
    with pytest.raises(TransitionRejected, match="1 entries so far"):
        eng.fire("H-1", "close", actor=SW)
    eng.fire("H-1", "note", actor=SW)
    assert eng.fire("H-1", "close", actor=SW).state == "b"
    assert seen == [1, 3]
