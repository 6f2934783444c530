"""Approvals, consent overrides, records, assignment and reopening."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Approval,
    AuditEntry,
    ConcurrentModification,
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
    check_workflow,
    replay,
)
from casework_flow import seed as demo
from casework_flow.exceptions import WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.guards import consent, evidence
from casework_flow.stores import Query, Store

from .conftest import load_example
from .stores import make_store

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
SW = Actor("sw-031", {"social_worker"})
SW2 = Actor("sw-044", {"social_worker"})
SPV = Actor("spv-002", {"supervisor"})
SPV2 = Actor("spv-007", {"supervisor"})
HEAD = Actor("kabid-01", {"supervisor", "head_of_division"})


def child_protection() -> Workflow:
    """A child-protection process with a four-eyes removal and a consent override."""
    return Workflow(
        name="child-protection",
        version=1,
        initial="report",
        states=[
            State("report"),
            State("investigation"),
            State("safety_plan"),
            State("placement"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("investigate", source="report", dest="investigation",
                       roles={"social_worker"}),
            Transition(
                "agree_safety_plan", source="investigation", dest="safety_plan",
                roles={"social_worker"}, guard=consent("safety_plan"),
                override=ConsentOverride({"head_of_division"}, ("IMMINENT_DANGER",)),
            ),
            Transition(
                "place_in_care", source=("investigation", "safety_plan"), dest="placement",
                roles={"social_worker"}, approval=Approval({"supervisor"}),
                guard=evidence("risk_assessment"), requires=("placement_address",),
            ),
            Transition("close", source=("safety_plan", "placement"), dest="closed",
                       roles={"supervisor"}, reason_required=True),
            Transition("reopen", source="closed", dest="investigation", roles={"supervisor"},
                       reason_required=True, reopens=True),
        ],
        record_roles={"social_worker", "supervisor"},
        assign_roles={"supervisor"},
    )  # fmt: skip


WF = child_protection()


def engine_with(store: Store | None = None) -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    return Engine([WF], store=store, clock=clock), clock


def investigating(engine: Engine, case_id: str = "CP-1") -> None:
    engine.open(WF.name, case_id, actor=SW, assignee=SW.id)
    engine.fire(case_id, "investigate", actor=SW)


def request_placement(engine: Engine, case_id: str = "CP-1", by: Actor = SW) -> None:
    engine.fire(
        case_id,
        "place_in_care",
        actor=by,
        data={"placement_address": "foster family, Medan Johor"},
        evidence={"risk_assessment": "RA-7"},
        reason="Severe neglect found on the home visit.",
    )


# --- approvals -----------------------------------------------------------------------------


def test_a_request_waits_and_blocks_other_steps_until_approved():
    engine, clock = engine_with()
    investigating(engine)
    request_placement(engine)
    case = engine.get("CP-1")
    assert case.state == "investigation"
    pending = case.approvals["place_in_care"]
    assert (pending.event, pending.requested_by) == ("place_in_care", SW.id)
    with pytest.raises(TransitionRejected, match="waiting for approval"):
        engine.fire("CP-1", "agree_safety_plan", actor=SW, evidence={"consent:safety_plan": "C"})
    clock.advance(hours=2)
    approved = engine.approve("CP-1", actor=SPV, note="Seen the file.")
    assert approved.state == "placement"
    assert not approved.approvals
    assert approved.data["placement_address"] == "foster family, Medan Johor"
    entry = engine.trail("CP-1")[-1]
    assert (entry.kind, entry.actor_id, entry.event) == (
        EntryKind.TRANSITION,
        SPV.id,
        "place_in_care",
    )
    assert entry.details["requested_by"] == SW.id
    assert entry.details["decision"] == "approved"
    assert entry.details["note"] == "Seen the file."
    assert entry.reason == "Severe neglect found on the home visit."
    request = engine.trail("CP-1")[int(entry.details["request_seq"]) - 1]
    assert (request.kind, request.actor_id) == (EntryKind.APPROVAL_REQUESTED, SW.id)
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")
    assert engine.verify("CP-1").ok


def test_self_approval_and_the_wrong_role_are_refused_and_recorded():
    engine, _ = engine_with()
    investigating(engine)
    request_placement(engine)
    with pytest.raises(TransitionRejected) as info:
        engine.approve("CP-1", actor=SW)
    whys = [r.why for r in info.value.reasons]
    assert "sw-031 requested place_in_care; someone else must approve it" in whys
    assert "sw-031 acts as social_worker; to approve needs supervisor" in whys
    with pytest.raises(TransitionRejected, match="to approve needs supervisor"):
        engine.approve("CP-1", actor=SW2)
    refusals = [e for e in engine.trail("CP-1") if e.kind is EntryKind.REFUSED]
    assert [e.actor_id for e in refusals] == [SW.id, SW2.id]
    assert engine.get("CP-1").approvals


def test_a_supervisor_who_requested_cannot_approve_but_another_can():
    engine, _ = engine_with()
    investigating(engine)
    dual = Actor("spv-002", {"supervisor", "social_worker"})
    request_placement(engine, by=dual)
    with pytest.raises(TransitionRejected, match="someone else must approve"):
        engine.approve("CP-1", actor=dual)
    assert engine.approve("CP-1", actor=SPV2).state == "placement"


def test_a_rejection_needs_a_reason_and_drops_the_request():
    engine, _ = engine_with()
    investigating(engine)
    request_placement(engine)
    with pytest.raises(TransitionRejected, match="a rejection needs a written reason"):
        engine.reject("CP-1", actor=SPV, reason=" ")
    case = engine.reject("CP-1", actor=SPV, reason="Try a safety plan with the aunt first.")
    assert not case.approvals
    assert case.state == "investigation"
    last = engine.trail("CP-1")[-1]
    assert (last.kind, last.actor_id, last.reason) == (
        EntryKind.APPROVAL_REJECTED, SPV.id, "Try a safety plan with the aunt first.",
    )  # fmt: skip
    assert last.details["requested_by"] == SW.id
    with pytest.raises(TransitionRejected, match="nothing on CP-1 is waiting"):
        engine.approve("CP-1", actor=SPV)
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")


def test_an_approval_checks_the_transition_again():
    engine, _ = engine_with()
    investigating(engine)
    engine.fire("CP-1", "agree_safety_plan", actor=SW, evidence={"consent:safety_plan": "C-1"})
    request_placement(engine)
    assert engine.approve("CP-1", actor=SPV).state == "placement"


people = st.builds(
    Actor,
    st.sampled_from([SW.id, SW2.id, SPV.id, "spv-x"]),
    st.sets(st.sampled_from(["social_worker", "supervisor", "visitor"]), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(requester=people, approvers=st.lists(people, min_size=1, max_size=5))
def test_no_approval_by_the_requester_ever_succeeds(requester, approvers):
    engine, _ = engine_with()
    investigating(engine)
    requester = Actor(requester.id, requester.roles | {"social_worker"})
    request_placement(engine, by=requester)
    for approver in approvers:
        may = approver.id != requester.id and "supervisor" in approver.roles
        try:
            case = engine.approve("CP-1", actor=approver)
        except TransitionRejected:
            assert not may
            assert engine.get("CP-1").approvals
            continue
        assert may
        assert case.state == "placement"
        approval = engine.trail("CP-1")[-1]
        assert approval.actor_id != approval.details["requested_by"]
        break
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")


# --- consent overrides --------------------------------------------------------------------


def test_missing_consent_can_be_overridden_only_as_declared():
    engine, _ = engine_with()
    investigating(engine)
    with pytest.raises(TransitionRejected, match="no consent to safety_plan"):
        engine.fire("CP-1", "agree_safety_plan", actor=SW)
    attempts = [
        ({"override_by": SW}, "cannot override their own step"),
        ({"override_by": SPV}, "an override of agree_safety_plan needs head_of_division"),
        ({"override_by": HEAD, "reason": "x"}, "needs a reason code: one of IMMINENT_DANGER"),
        ({"override_by": HEAD, "reason_code": "IMMINENT_DANGER"}, "needs a written reason"),
    ]
    for kw, why in attempts:
        with pytest.raises(TransitionRejected, match=why):
            engine.fire("CP-1", "agree_safety_plan", actor=SW, **kw)
    case = engine.fire(
        "CP-1",
        "agree_safety_plan",
        actor=SW,
        override_by=HEAD,
        reason_code="IMMINENT_DANGER",
        reason="The mother cannot be reached and the child is at risk tonight.",
    )
    assert case.state == "safety_plan"
    entry = engine.trail("CP-1")[-1]
    assert entry.actor_id == SW.id
    assert entry.details["overridden_by"] == HEAD.id
    assert entry.details["overridden"] == "consent to safety_plan"
    assert [v.passed for v in entry.verdicts] == [False]
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")


def test_only_consent_can_be_overridden():
    engine, _ = engine_with()
    engine.open(WF.name, "CP-1", actor=SW)
    with pytest.raises(TransitionRejected, match="only missing consent can be overridden"):
        engine.fire(
            "CP-1", "place_in_care", actor=SW, override_by=HEAD,
            reason_code="IMMINENT_DANGER", reason="urgent",
        )  # fmt: skip


def test_the_checks_list_overrides_approvals_and_reopenings():
    infos = {(f.code, f.path) for f in check_workflow(WF) if f.severity == "info"}
    assert infos == {
        ("consent-override", "transitions[1].override"),
        ("approval", "transitions[2].approval"),
        ("reopening", "transitions[4]"),
    }
    seed = {f.code for f in check_workflow(demo.build_workflow()) if f.severity == "info"}
    assert {"consent-override", "approval"} <= seed


# --- records, reopening ----------------------------------------------------------------------


def test_records_change_data_without_moving_the_case():
    engine, clock = engine_with()
    investigating(engine)
    clock.advance(days=1)
    case = engine.record(
        "CP-1", "home_visit", actor=SW, data={"school_attendance": "irregular"},
        evidence={"home_visit_report": "HV-3"}, reason="Unannounced visit.",
    )  # fmt: skip
    assert (case.state, case.revision) == ("investigation", 3)
    assert case.data["school_attendance"] == "irregular"
    entry = engine.trail("CP-1")[-1]
    assert (entry.kind, entry.event, entry.from_state, entry.to_state) == (
        EntryKind.RECORDED, "home_visit", "investigation", "investigation",
    )  # fmt: skip
    with pytest.raises(TransitionRejected, match="recording needs social_worker or supervisor"):
        engine.record("CP-1", "note", actor=Actor("clerk-1", {"clerk"}), data={"x": 1})
    with pytest.raises(InvalidInput, match="must be an identifier"):
        engine.record("CP-1", "home visit!", actor=SW)
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")


def test_a_closed_case_reopens_only_through_its_declared_transition():
    engine, _ = engine_with()
    investigating(engine)
    engine.fire("CP-1", "agree_safety_plan", actor=SW, evidence={"consent:safety_plan": "C"})
    engine.fire("CP-1", "close", actor=SPV, reason="Plan working.")
    before = list(engine.trail("CP-1"))
    with pytest.raises(TransitionRejected, match="closed"):
        engine.record("CP-1", "note", actor=SW)
    with pytest.raises(TransitionRejected, match="a written reason is needed for reopen"):
        engine.fire("CP-1", "reopen", actor=SPV)
    with pytest.raises(TransitionRejected, match="reopen needs supervisor"):
        engine.fire("CP-1", "reopen", actor=SW, reason="New report")
    case = engine.fire("CP-1", "reopen", actor=SPV, reason="A new report from the school.")
    assert case.state == "investigation"
    assert list(engine.trail("CP-1"))[: len(before)] == before
    assert replay(WF, engine.trail("CP-1")) == case


def test_reopenings_and_operations_are_checked_when_built():
    with pytest.raises(WorkflowError) as info:
        Workflow(
            name="bad", version=1, initial="a",
            states=[State("a"), State("z", terminal=True)],
            transitions=[
                Transition("go", source="a", dest="z", approval=Approval(set()),
                           override=ConsentOverride({"supervisor"}, ())),
                Transition("back", source="z", dest="a", reopens=True),
                Transition("again", source="a", dest="z", reopens=True, roles={"x"},
                           reason_required=True),
                Transition("leave", source="z", dest="a", roles={"x"}),
            ],
        )  # fmt: skip
    text = str(info.value)
    assert "go: an approval must name the approving roles" in text
    assert "go: an override needs a list of reason codes" in text
    assert "go: an override is declared but the guard asks for no consent" in text
    assert "back: a reopening must name roles and require a reason" in text
    assert "again reopens from a, which are not terminal" in text
    assert "leave leaves terminal state 'z'" in text


def test_approving_and_overriding_roles_must_be_declared_roles():
    with pytest.raises(WorkflowError) as info:
        attrs.evolve(WF, version=9, roles={"social_worker", "supervisor"})
    text = str(info.value)
    assert "transitions[1].override: agree_safety_plan: role 'head_of_division'" in text


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_operations_round_trip_through_files(fmt):
    assert loads_workflow(dump_workflow(WF, fmt), fmt) == WF


# --- assignment ---------------------------------------------------------------------------


def test_assignment_is_audited_and_needs_the_role():
    engine, _ = engine_with()
    investigating(engine)
    with pytest.raises(TransitionRejected, match="assigning cases needs supervisor"):
        engine.assign("CP-1", SW2.id, actor=SW)
    case = engine.assign("CP-1", SW2.id, actor=SPV, reason="Caseload balance.")
    assert case.assignee == SW2.id
    entry = engine.trail("CP-1")[-1]
    assert (entry.kind, entry.assignee, entry.details["from"]) == (
        EntryKind.ASSIGNED, SW2.id, SW.id,
    )  # fmt: skip
    assert replay(WF, engine.trail("CP-1")) == case


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def test_bulk_reassignment_moves_every_case_of_a_worker(store):
    engine, _ = engine_with(store)
    for i in range(7):
        engine.open(WF.name, f"CP-{i}", actor=SW, assignee=SW.id if i < 5 else SW2.id)
    moved = engine.reassign(SW.id, "sw-050", actor=SPV, reason="sw-031 left the division.")
    assert sorted(c.id for c in moved) == [f"CP-{i}" for i in range(5)]
    assert {c.id for c in store.find(engine_query("sw-050")).cases} == {c.id for c in moved}
    for case in moved:
        last = engine.trail(case.id)[-1]
        assert (last.kind, last.details["from"], last.reason) == (
            EntryKind.ASSIGNED, SW.id, "sw-031 left the division.",
        )  # fmt: skip
    assert engine.get("CP-6").assignee == SW2.id


def engine_query(assignee: str) -> Query:
    return Query(assignee=assignee)


class Meddling:
    """A store that lets someone else change one case between its load and the commit."""

    def __init__(self, inner: Store, victim: str, meddle) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.victim, self.meddle = inner, victim, meddle

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def load(self, case_id: str, **kw):  # type: ignore[no-untyped-def]
        snap = self.inner.load(case_id, **kw)
        if case_id == self.victim:
            self.meddle()
        return snap


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(2, 12), data=st.data())
def test_bulk_reassignment_is_all_or_nothing(store, n, data):
    k = data.draw(st.integers(0, n - 1), label="failing case")
    prefix = f"R{n}-{k}-{data.draw(st.integers(0, 10**6))}"
    base, _ = engine_with(store)
    ids = [f"{prefix}-{i:02d}" for i in range(n)]
    for case_id in ids:
        base.open(WF.name, case_id, actor=SW, assignee="sw-leaving")
    trails = {c: list(base.trail(c)) for c in ids}

    def someone_else_steps_in() -> None:
        base.fire(ids[k], "investigate", actor=SW2)

    engine = Engine([WF], store=Meddling(store, ids[k], someone_else_steps_in), clock=lambda: START)
    with pytest.raises(ConcurrentModification):
        engine.reassign("sw-leaving", "sw-new", actor=SPV, reason="left", query=None)
    for case_id in ids:
        case = store.load(case_id).case
        assert case.assignee == "sw-leaving"
        stored = list(store.trail(case_id))
        # The meddled case has the other worker's step too, and nothing of ours.
        assert stored[: len(trails[case_id])] == trails[case_id]
        if case_id != ids[k]:
            assert stored == trails[case_id]
    assert not [e for c in ids for e in store.trail(c) if e.kind is EntryKind.ASSIGNED]


def test_a_bulk_reassignment_by_the_wrong_role_writes_nothing():
    engine, _ = engine_with()
    for i in range(3):
        engine.open(WF.name, f"CP-{i}", actor=SW, assignee=SW.id)
    with pytest.raises(TransitionRejected, match="assigning cases needs supervisor"):
        engine.reassign(SW.id, SW2.id, actor=SW, reason="swap")
    assert all(engine.get(f"CP-{i}").assignee == SW.id for i in range(3))
    with pytest.raises(InvalidInput, match="written reason"):
        engine.reassign(SW.id, SW2.id, actor=SPV, reason="")


def test_the_seed_story_shows_approval_and_a_refused_self_approval():
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    engine = Engine([demo.build_workflow()], clock=clock, calendar=demo.CALENDAR)
    load_example("medan_street_beggar").play(engine, clock)
    trail = engine.trail(demo.CASE_ID)
    kinds = [(e.kind, e.actor_id, e.event) for e in trail]
    assert (EntryKind.APPROVAL_REQUESTED, demo.WORKER.id, "refer_to_shelter_unit") in kinds
    refused = [e for e in trail if e.details.get("decision") == "approval refused"]
    assert [e.actor_id for e in refused] == [demo.WORKER.id]
    approved = [e for e in trail if e.details.get("decision") == "approved"]
    assert [(e.actor_id, e.to_state) for e in approved] == [
        (demo.SUPERVISOR.id, "referral_pending")
    ]
    assert timedelta(0) < approved[0].at - trail[approved[0].seq - 3].at


# --- transfers ------------------------------------------------------------------------------

MEDAN_SPV = Actor("spv-002", {"supervisor"}, units={"dinsos-medan"})
UPT_HEAD = Actor("upt-head", {"supervisor"}, units={"upt-binjai"})
UPT_CLERK = Actor("upt-clerk", {"clerk"}, units={"upt-binjai"})


def test_a_transfer_is_accepted_by_the_receiving_unit(store):
    engine, clock = engine_with(store)
    engine.open(WF.name, "CP-1", actor=SW, assignee=SW.id, unit="dinsos-medan")
    with pytest.raises(TransitionRejected, match="transferring a case needs supervisor"):
        engine.transfer("CP-1", "upt-binjai", actor=SW, reason="needs a shelter")
    with pytest.raises(InvalidInput, match="written reason"):
        engine.transfer("CP-1", "upt-binjai", actor=MEDAN_SPV, reason="")
    asked = engine.transfer(
        "CP-1", "upt-binjai", actor=MEDAN_SPV, to_worker="upt-sw-3", reason="Shelter needed."
    )
    assert asked.handover("transfer") is not None
    assert asked.unit == "dinsos-medan"
    with pytest.raises(TransitionRejected, match="already waiting"):
        engine.transfer("CP-1", "upt-deli", actor=MEDAN_SPV, reason="again")
    with pytest.raises(
        TransitionRejected, match="may not accept transfer-3; only upt-sw-3, or supervisor for them"
    ):
        engine.accept_transfer("CP-1", actor=MEDAN_SPV)
    clock.advance(days=1)
    moved = engine.accept_transfer("CP-1", actor=UPT_HEAD, reason="Bed available.")
    assert (moved.unit, moved.assignee, moved.open_handovers) == ("upt-binjai", "upt-sw-3", ())
    kinds = [e.kind for e in engine.trail("CP-1")]
    assert kinds[-4:] == [
        EntryKind.HANDOVER_SENT,
        EntryKind.REFUSED,
        EntryKind.REFUSED,
        EntryKind.HANDOVER_ANSWERED,
    ]
    accepted = engine.trail("CP-1")[-1]
    assert accepted.details["from_assignee"] == SW.id
    assert [c.id for c in store.find(Query(unit="upt-binjai")).cases] == ["CP-1"]
    assert not store.find(Query(unit="dinsos-medan")).cases
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")


def test_a_transfer_can_be_refused_with_a_reason():
    engine, _ = engine_with()
    engine.open(WF.name, "CP-1", actor=SW, assignee=SW.id, unit="dinsos-medan")
    engine.transfer("CP-1", "upt-binjai", actor=MEDAN_SPV, reason="Shelter needed.")
    with pytest.raises(TransitionRejected, match="to reject transfer-2 needs a written reason"):
        engine.refuse_transfer("CP-1", actor=UPT_HEAD, reason="")
    refused = engine.refuse_transfer("CP-1", actor=UPT_HEAD, reason="The unit is full.")
    assert (refused.unit, refused.assignee, refused.open_handovers) == ("dinsos-medan", SW.id, ())
    last = engine.trail("CP-1")[-1]
    assert (last.kind, last.reason) == (EntryKind.HANDOVER_ANSWERED, "The unit is full.")
    assert last.details["status"] == "rejected"
    with pytest.raises(TransitionRejected, match="no transfer of CP-1 is waiting"):
        engine.accept_transfer("CP-1", actor=UPT_HEAD)
    assert replay(WF, engine.trail("CP-1")) == engine.get("CP-1")


def test_receiving_roles_are_checked():
    rule = HandoverRule("transfer", send={"supervisor"}, answer={"supervisor"})
    wf = attrs.evolve(WF, handovers=[rule], version=2)
    engine = Engine([wf], clock=lambda: START)
    engine.open(wf.name, "CP-1", actor=SW, unit="dinsos-medan")
    engine.transfer("CP-1", "upt-binjai", actor=MEDAN_SPV, reason="Shelter needed.")
    with pytest.raises(TransitionRejected, match="only supervisor of upt-binjai may"):
        engine.accept_transfer("CP-1", actor=UPT_CLERK)


def test_the_seed_story_refers_the_case_to_the_shelter_unit_and_keeps_it():
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    engine = Engine([demo.build_workflow()], clock=clock, calendar=demo.CALENDAR)
    load_example("medan_street_beggar").play(engine, clock)
    steps = [
        (e.kind, e.actor_id, e.details.get("status"))
        for e in engine.trail(demo.CASE_ID)
        if e.event == "referral"
    ]
    assert steps == [
        (EntryKind.HANDOVER_SENT, demo.WORKER.id, None),
        (EntryKind.REFUSED, demo.SHELTER_WORKER_BINJAI.id, None),
        (EntryKind.HANDOVER_ANSWERED, demo.SHELTER_HEAD_BINJAI.id, "accepted"),
        (EntryKind.HANDOVER_ANSWERED, demo.SHELTER_HEAD_BINJAI.id, "done"),
    ]
    case = engine.get(demo.CASE_ID)
    assert case.unit == demo.MEDAN
    (referral,) = case.handovers.values()
    assert (referral.to_unit, referral.status, referral.service) == (
        demo.BINJAI, "done", "shelter_placement",
    )  # fmt: skip
    assert case.evidence["handover_record"]


# --- reading personal fields -------------------------------------------------------------------


def test_personal_fields_need_a_role_to_read_and_reads_are_logged():
    wf = attrs.evolve(
        WF,
        version=3,
        personal={"child_name", "address"},
        personal_roles={"social_worker", "supervisor"},
        log_personal_reads=True,
    )
    engine = Engine([wf], clock=lambda: START)
    engine.open(wf.name, "CP-1", actor=SW, data={"child_name": "A.", "age": 7})
    clerk = Actor("clerk-9", {"clerk"})
    before = len(engine.trail("CP-1"))
    seen = engine.read("CP-1", actor=clerk)
    assert seen.case.data["child_name"] == "***"
    assert seen.case.data["age"] == 7
    assert (seen.masked, seen.shown) == (("child_name",), ())
    assert len(engine.trail("CP-1")) == before
    view = engine.read("CP-1", actor=SW, purpose="home visit planning")
    assert view.case.data["child_name"] == "A."
    assert view.shown == ("child_name",)
    entry = engine.trail("CP-1")[-1]
    assert (entry.kind, entry.actor_id) == (EntryKind.VIEWED, SW.id)
    assert entry.details == {"fields": "child_name", "purpose": "home visit planning"}
    assert engine.get("CP-1").revision == 1
    assert replay(wf, engine.trail("CP-1")) == engine.get("CP-1")
    assert engine.verify("CP-1").ok
    assert loads_workflow(dump_workflow(wf, "yaml"), "yaml") == wf


def test_a_trail_read_masks_personal_values_for_who_may_not_see_them_and_is_logged():
    wf = attrs.evolve(
        WF,
        version=5,
        personal={"child_name", "address"},
        personal_roles={"social_worker"},
        log_personal_reads=True,
    )
    engine = Engine([wf], clock=lambda: START)
    engine.open(wf.name, "CP-1", actor=SW, data={"child_name": "Ani", "age": 7})
    clerk = Actor("clerk-9", {"clerk"})
    masked = engine.read_trail("CP-1", actor=clerk)
    assert len(masked) == 1, "a masked read is not logged"
    assert "Ani" not in json.dumps(masked)
    assert masked[0]["masked"] == ["changes.child_name"]
    assert {c["field"]: c["after"] for c in masked[0]["changes"]} == {"child_name": "***", "age": 7}
    full = engine.read_trail("CP-1", actor=SW, purpose="court report")
    assert [e["kind"] for e in full] == ["opened", "viewed"]
    assert full[-1]["details"] == {"fields": "child_name", "purpose": "court report"}
    assert "masked" not in full[0]
    assert [AuditEntry.from_json(e) for e in full] == list(engine.trail("CP-1"))
    stranger = Actor("sw-77", {"social_worker"}, units={"elsewhere"})
    engine.open(wf.name, "CP-2", actor=SW, unit="medan", data={"child_name": "Budi"})
    with pytest.raises(TransitionRejected):
        engine.read_trail("CP-2", actor=stranger)


def test_reads_are_not_logged_unless_the_workflow_says_so():
    wf = attrs.evolve(WF, version=4, personal={"child_name"})
    engine = Engine([wf], clock=lambda: START)
    engine.open(wf.name, "CP-1", actor=SW, data={"child_name": "A."})
    assert engine.read("CP-1", actor=Actor("anyone", set())).case.data["child_name"] == "A."
    assert len(engine.trail("CP-1")) == 1


# --- migrating live cases ----------------------------------------------------------------------

SEED = demo.build_workflow()


def seed_v2() -> Workflow:
    """Version 2: family work is renamed mediation, and placement needs a bed number."""
    states = [
        attrs.evolve(s, id="family_mediation", timers=[
            attrs.evolve(s.timers[0], after=timedelta(days=10))
        ]) if s.id == "family_work" else s
        for s in SEED.states
    ]  # fmt: skip

    def rename(t: Transition) -> Transition:
        source = tuple("family_mediation" if x == "family_work" else x for x in t.source)
        dest = "family_mediation" if t.dest == "family_work" else t.dest
        requires = (*t.requires, "bed_number") if t.event == "unit_accepts" else t.requires
        return attrs.evolve(t, source=source, dest=dest, requires=requires)

    kept = [p for p in SEED.properties if "family_work" not in repr(p.terms)]
    return attrs.evolve(
        SEED,
        version=2,
        states=states,
        transitions=[rename(t) for t in SEED.transitions],
        properties=kept,
    )


V2 = seed_v2()
V2_MAP = {"family_work": "family_mediation"}


def seed_engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    return Engine([SEED, V2], clock=clock), clock


def open_v1(engine: Engine, clock: ManualClock, case_id: str, steps: int) -> None:
    engine.open(SEED.name, case_id, actor=demo.OUTREACH, assignee=demo.WORKER.id, version=1)
    for step in demo.HAPPY_PATH[:steps]:
        clock.advance(timedelta(days=step[-1]))
        demo.take(engine, case_id, step)


def test_a_plan_says_where_each_case_goes_and_what_blocks_it():
    engine, clock = seed_engine()
    open_v1(engine, clock, "M-work", 6)  # in family_work
    open_v1(engine, clock, "M-placed", 14)  # placed, without a bed number
    open_v1(engine, clock, "M-new", 0)
    engine.open(SEED.name, "M-v2", actor=demo.OUTREACH)  # already on v2: not in the plan
    plan = engine.plan_migration(SEED.name, 1, 2, V2_MAP)
    by_id = {i.case_id: i for i in plan.items}
    assert set(by_id) == {"M-work", "M-placed", "M-new"}
    assert (by_id["M-work"].to_state, by_id["M-work"].ok) == ("family_mediation", True)
    assert by_id["M-placed"].blockers == ("v2 requires bed_number in placed",)
    assert "M-placed: placed -> placed  BLOCKED: v2 requires bed_number in placed" in plan.table()
    unmapped = engine.plan_migration(SEED.name, 1, 2, {})
    assert "state family_work has no mapping: v2 has no state family_work" in {
        b for i in unmapped.items for b in i.blockers
    }
    assert all(engine.get(c).version == 1 for c in by_id)


def test_migration_moves_cases_with_an_entry_and_keeps_their_history():
    engine, clock = seed_engine()
    open_v1(engine, clock, "M-work", 6)
    open_v1(engine, clock, "M-placed", 14)
    before = {c: list(engine.trail(c)) for c in ("M-work", "M-placed")}
    entered = engine.get("M-work").state_entered_at
    report = engine.migrate(
        engine.plan_migration(SEED.name, 1, 2, V2_MAP), actor=demo.SUPERVISOR, reason="v2"
    )
    assert report.migrated == ("M-work",)
    assert [i.case_id for i in report.skipped] == ["M-placed"]
    case = engine.get("M-work")
    assert (case.version, case.state, case.state_entered_at) == (2, "family_mediation", entered)
    assert (case.timer, case.timer_at) == ("family_response_14_days", entered + timedelta(days=10))
    trail = list(engine.trail("M-work"))
    assert trail[: len(before["M-work"])] == before["M-work"]
    last = trail[-1]
    assert (last.kind, last.workflow_version, last.from_state, last.to_state) == (
        EntryKind.MIGRATED, 2, "family_work", "family_mediation",
    )  # fmt: skip
    assert replay([SEED, V2], trail) == case
    assert list(engine.trail("M-placed")) == before["M-placed"]
    assert engine.get("M-placed").version == 1
    clock.advance(days=1)
    moved = engine.fire(
        "M-work", "record_contact_attempt", actor=demo.WORKER,
        data={"contact_method": "phone", "contact_outcome": "no answer"},
    )  # fmt: skip
    assert moved.version == 2
    assert replay([V2, SEED], engine.trail("M-work")) == moved


def test_replay_of_a_migrated_case_needs_both_versions():
    engine, clock = seed_engine()
    open_v1(engine, clock, "M-1", 6)
    engine.migrate(engine.plan_migration(SEED.name, 1, 2, V2_MAP), actor=demo.SUPERVISOR)
    from casework_flow.exceptions import ReplayError  # noqa: PLC0415 - one use

    with pytest.raises(ReplayError, match="pass that version too"):
        replay(SEED, engine.trail("M-1"))


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(0, len(demo.HAPPY_PATH)), min_size=1, max_size=6))
def test_migration_never_loses_an_entry_or_changes_history(lengths):
    engine, clock = seed_engine()
    ids = [f"P-{i}" for i in range(len(lengths))]
    for case_id, n in zip(ids, lengths, strict=True):
        open_v1(engine, clock, case_id, n)
    before = {c: list(engine.trail(c)) for c in ids}
    plan = engine.plan_migration(SEED.name, 1, 2, V2_MAP)
    report = engine.migrate(plan, actor=demo.SUPERVISOR, batch=2)
    assert sorted([*report.migrated, *(i.case_id for i in report.skipped)]) == sorted(ids)
    assert not report.failed
    for case_id in ids:
        trail = list(engine.trail(case_id))
        assert trail[: len(before[case_id])] == before[case_id]
        if case_id in report.migrated:
            assert len(trail) == len(before[case_id]) + 1
            assert trail[-1].kind is EntryKind.MIGRATED
            assert engine.get(case_id).version == 2
        else:
            assert trail == before[case_id]
            assert engine.get(case_id).version == 1
        assert replay([SEED, V2], trail) == engine.get(case_id)
        assert engine.verify(case_id).ok
