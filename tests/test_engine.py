"""The engine: opening, firing, refusing, listeners, versions and wrong input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import ModuleType

import pytest

import casework_flow._compiled as decide
from casework_flow import (
    Actor,
    Case,
    CaseworkError,
    Committed,
    ConcurrentModification,
    Engine,
    EntryKind,
    InvalidInput,
    ManualClock,
    State,
    Transition,
    TransitionRejected,
    UnknownCase,
    Workflow,
)
from casework_flow.audit import ABSENT
from casework_flow.exceptions import (
    CaseExists,
    ListenerFailed,
    UnknownEvent,
    UnknownWorkflow,
    WorkflowError,
)
from casework_flow.guards import CheckKind

CASE = "MDN-2024-0173"
WORKER = Actor("sw-017", {"social_worker"})
SUPERVISOR = Actor("spv-002", {"supervisor"})


def to_family_work(engine: Engine, clock: ManualClock, seed: ModuleType) -> None:
    """Play the story up to the family visits."""
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH, assignee=WORKER.id)
    engine.fire(CASE, "first_contact", actor=WORKER, data={"client_alias": "R.", "found_at": "Pos"})
    engine.fire(
        CASE, "admit_to_shelter", actor=WORKER, evidence={"consent:shelter_admission": "F-1"}
    )
    engine.fire(CASE, "begin_assessment", actor=WORKER)
    engine.fire(CASE, "complete_assessment", actor=WORKER, evidence={"assessment_report": "A-1"})
    clock.advance(days=1)
    engine.fire(CASE, "family_found", actor=WORKER, data={"family_contact_person": "father"})


def test_open_puts_the_case_in_the_initial_state(engine, seed, clock):
    case = engine.open(
        seed.WORKFLOW, CASE, actor=seed.OUTREACH, data={"found_at": "Pos"}, assignee="sw-017"
    )
    assert case == Case(
        id=CASE,
        workflow=seed.WORKFLOW,
        version=1,
        state="reported",
        data={"found_at": "Pos"},
        evidence={},
        revision=1,
        opened_at=clock(),
        state_entered_at=clock(),
        assignee="sw-017",
    )
    assert repr(case) == "<Case MDN-2024-0173 reported rev=1>"
    assert engine.get(CASE) == case
    (entry,) = engine.trail(CASE)
    assert (entry.seq, entry.kind, entry.event, entry.to_state) == (
        1,
        EntryKind.OPENED,
        "open",
        "reported",
    )
    assert entry.actor_id == "oo-04"


def test_fire_moves_the_case_and_records_the_step(engine, seed, clock):
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH, data={"found_at": "Pos"})
    clock.advance(hours=2)
    case = engine.fire(
        CASE,
        "first_contact",
        actor=WORKER,
        data={"client_alias": "R.", "found_at": "Pos", "age": 23},
    )
    assert (case.state, case.revision, case.state_entered_at) == ("engaged", 2, clock())
    assert case.data == {"client_alias": "R.", "found_at": "Pos", "age": 23}
    entry = engine.trail(CASE)[-1]
    assert (entry.kind, entry.from_state, entry.to_state, entry.seq) == (
        EntryKind.TRANSITION,
        "reported",
        "engaged",
        2,
    )
    assert [(c.field, c.before, c.after) for c in entry.changes] == [
        ("age", ABSENT, 23),
        ("client_alias", ABSENT, "R."),
    ]
    assert entry.actor_roles == ("social_worker",)
    assert entry.prev_hash == engine.trail(CASE)[0].hash


def test_what_the_caller_passes_is_copied_not_kept(engine, seed):
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH, data={"found_at": "Pos"})
    data = {"client_alias": "R.", "found_at": "Pos"}
    engine.fire(CASE, "first_contact", actor=WORKER, data=data)
    documents = {"consent:shelter_admission": "DOC-1"}
    engine.fire(CASE, "admit_to_shelter", actor=WORKER, evidence=documents)
    data["client_alias"] = "changed"
    documents["consent:shelter_admission"] = "changed"
    case = engine.get(CASE)
    assert case.data["client_alias"] == "R."
    assert case.evidence["consent:shelter_admission"] == "DOC-1"
    assert engine.verify(CASE).ok


def test_a_step_that_stays_keeps_the_time_the_state_was_entered(engine, seed, clock):
    to_family_work(engine, clock, seed)
    entered = engine.get(CASE).state_entered_at
    clock.advance(days=2)
    case = engine.fire(
        CASE,
        "record_contact_attempt",
        actor=WORKER,
        data={"contact_method": "phone", "contact_outcome": "no answer"},
    )
    assert (case.state, case.state_entered_at, case.revision) == ("family_work", entered, 7)


def test_refusal_names_every_failed_check_at_once(engine, seed, clock):
    to_family_work(engine, clock, seed)
    before = engine.get(CASE)
    with pytest.raises(TransitionRejected) as info:
        engine.fire(CASE, "refer_to_shelter_unit", actor=WORKER)
    err = info.value
    assert (err.case_id, err.event, err.state) == (CASE, "refer_to_shelter_unit", "family_work")
    assert [r.kind for r in err.reasons] == [CheckKind.STATE]
    assert "refer_to_shelter_unit is not possible while the case is in family_work" in str(err)
    assert engine.get(CASE) == before


def test_can_fire_lists_role_data_reason_and_guard_failures_together(engine, seed, clock):
    to_family_work(engine, clock, seed)
    decision = engine.can_fire(
        CASE, "family_unresponsive", actor=Actor("oo-04", {"outreach_officer"})
    )
    assert not decision.allowed
    assert [r.kind for r in decision.reasons] == [CheckKind.ROLE, CheckKind.REASON, CheckKind.GUARD]
    assert decision.reasons[0].why == (
        "oo-04 acts as outreach_officer; family_unresponsive needs social_worker or system"
    )
    assert decision.reasons[1].why == (
        "a reason code is needed for family_unresponsive:"
        " one of FAMILY_UNRESPONSIVE, FAMILY_REFUSED"
    )
    assert decision.reasons[2].why.startswith(
        "none of these held: [record_contact_attempt was recorded 0 times"
    )
    missing = engine.can_fire(
        CASE, "record_contact_attempt", actor=WORKER, data={"contact_method": ""}
    )
    assert [(r.kind, r.check) for r in missing.reasons] == [
        (CheckKind.DATA, "contact_method"),
        (CheckKind.DATA, "contact_outcome"),
    ]
    wrong_code = engine.can_fire(CASE, "family_unresponsive", actor=WORKER, reason_code="REUNIFIED")
    assert wrong_code.reasons[0].why == (
        "reason code REUNIFIED does not fit family_unresponsive:"
        " use one of FAMILY_UNRESPONSIVE, FAMILY_REFUSED"
    )
    assert engine.get(CASE).revision == 6
    assert len(engine.trail(CASE)) == 6


def test_reason_required_refuses_blank_text(engine, seed):
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    engine.fire(
        CASE, "first_contact", actor=WORKER, data={"client_alias": "R.", "found_at": "x", "age": 30}
    )
    blank = engine.can_fire(
        CASE, "decline", actor=WORKER, reason="   ", reason_code="CLIENT_DECLINED"
    )
    assert [(r.kind, r.why) for r in blank.reasons] == [
        (CheckKind.REASON, "a written reason is needed for decline")
    ]
    given = engine.can_fire(
        CASE,
        "decline",
        actor=WORKER,
        reason="wants to go home alone",
        reason_code="CLIENT_DECLINED",
    )
    assert (given.allowed, given.dest, given.reasons) == (True, "closed_declined", ())
    case = engine.fire(
        CASE,
        "decline",
        actor=WORKER,
        reason="wants to go home alone",
        reason_code="CLIENT_DECLINED",
    )
    entry = engine.trail(CASE)[-1]
    assert (case.state, entry.reason, entry.reason_code) == (
        "closed_declined",
        "wants to go home alone",
        "CLIENT_DECLINED",
    )


def test_terminal_states_are_never_left(engine, seed):
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    engine.fire(
        CASE, "first_contact", actor=WORKER, data={"client_alias": "R.", "found_at": "x", "age": 15}
    )
    assert (
        engine.fire(CASE, "route_to_child_protection", actor=WORKER, reason_code="MINOR").state
        == "closed_transferred"
    )
    for event in seed.build_workflow().events:
        with pytest.raises(TransitionRejected) as info:
            engine.fire(CASE, event, actor=Actor("all", {"social_worker", "supervisor", "system"}))
        assert [r.kind for r in info.value.reasons] == [CheckKind.STATE]
    assert engine.available_events(CASE, WORKER) == ()


def test_the_referral_rule_needs_three_attempts_over_a_week_and_a_supervisor(engine, seed, clock):
    to_family_work(engine, clock, seed)
    for day in range(3):
        clock.advance(days=4 if day else 0)
        engine.fire(
            CASE,
            "record_contact_attempt",
            actor=WORKER,
            data={"contact_method": "phone", "contact_outcome": f"try {day}"},
        )
    case = engine.fire(CASE, "family_unresponsive", actor=WORKER, reason_code="FAMILY_REFUSED")
    assert case.state == "case_conference"
    docs = dict.fromkeys(("case_conference_minutes", "referral_letter", "health_certificate"), "D")
    with pytest.raises(TransitionRejected) as info:
        engine.fire(
            CASE,
            "refer_to_shelter_unit",
            actor=SUPERVISOR,
            data={"shelter_unit": "Binjai"},
            evidence={**docs, "consent:shelter_referral": "C"},
        )
    assert [r.kind for r in info.value.reasons] == [CheckKind.ROLE]
    case = engine.fire(
        CASE,
        "refer_to_shelter_unit",
        actor=WORKER,
        data={"shelter_unit": "Binjai"},
        evidence={**docs, "consent:shelter_referral": "C"},
    )
    assert case.state == "case_conference"
    assert case.approvals.keys() == {"referral"}
    case = engine.approve(CASE, actor=SUPERVISOR)
    assert case.state == "referral_pending"
    entry = engine.trail(CASE)[-1]
    assert all(v.passed and v.kind is CheckKind.GUARD for v in entry.verdicts)
    assert [v.check for v in entry.verdicts][-1] == "count(record_contact_attempt) >= 3"
    assert (entry.actor_id, entry.details["requested_by"]) == (SUPERVISOR.id, WORKER.id)


def test_the_fourteen_day_alternative_lets_the_system_actor_fire(engine, seed, clock):
    to_family_work(engine, clock, seed)
    system = Actor("timer", {"system"})
    assert not engine.can_fire(
        CASE, "family_unresponsive", actor=system, reason_code="FAMILY_UNRESPONSIVE"
    ).allowed
    clock.advance(days=14)
    assert (
        engine.fire(
            CASE, "family_unresponsive", actor=system, reason_code="FAMILY_UNRESPONSIVE"
        ).state
        == "case_conference"
    )


def test_refusals_are_recorded_without_changing_the_case(engine, seed, clock):
    to_family_work(engine, clock, seed)
    before, trail = engine.get(CASE), engine.trail(CASE)
    with pytest.raises(TransitionRejected):
        engine.fire(
            CASE,
            "family_unresponsive",
            actor=WORKER,
            reason_code="FAMILY_UNRESPONSIVE",
            data={"note": "tried"},
        )
    assert engine.get(CASE) == before
    after = engine.trail(CASE)
    assert after[: len(trail)] == trail
    refusal = after[-1]
    assert (refusal.kind, refusal.from_state, refusal.to_state, refusal.changes) == (
        EntryKind.REFUSED,
        "family_work",
        "family_work",
        (),
    )
    assert refusal.verdicts
    assert not any(v.passed for v in refusal.verdicts)
    assert engine.verify(CASE).ok


def test_refusals_can_be_left_out_of_the_trail(seed_workflow, seed, clock):
    engine = Engine([seed_workflow], clock=clock, record_refusals=False)
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    with pytest.raises(TransitionRejected):
        engine.fire(CASE, "first_contact", actor=WORKER)
    assert len(engine.trail(CASE)) == 1


def test_a_stale_expected_revision_writes_nothing(engine, seed):
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    with pytest.raises(ConcurrentModification) as info:
        engine.fire(
            CASE,
            "first_contact",
            actor=WORKER,
            data={"client_alias": "R.", "found_at": "x"},
            expected_revision=5,
        )
    assert (info.value.expected_revision, info.value.actual_revision) == (5, 1)
    assert engine.get(CASE).revision == 1
    assert len(engine.trail(CASE)) == 1
    ok = engine.fire(
        CASE,
        "first_contact",
        actor=WORKER,
        data={"client_alias": "R.", "found_at": "x"},
        expected_revision=1,
    )
    assert ok.revision == 2


def test_listeners_run_after_commit_in_order(engine, seed):
    seen: list[tuple[str, Committed]] = []
    engine.on_commit(lambda c: seen.append(("first", c)))
    stop = engine.on_commit(lambda c: seen.append(("second", c)))
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    assert [n for n, _ in seen] == ["first", "second"]
    assert seen[0][1].before is None
    stop()
    case = engine.fire(
        CASE, "first_contact", actor=WORKER, data={"client_alias": "R.", "found_at": "x"}
    )
    assert [n for n, _ in seen] == ["first", "second", "first"]
    assert seen[-1][1].after == case
    assert seen[-1][1].entry == engine.trail(CASE)[-1]
    before = seen[-1][1].before
    assert before is not None
    assert before.state == "reported"


def test_a_failing_listener_does_not_undo_the_commit(engine, seed):
    def boom(_: Committed) -> None:
        msg = "notification service down"
        raise RuntimeError(msg)

    calls: list[Committed] = []
    engine.on_commit(boom)
    engine.on_commit(calls.append)
    with pytest.raises(ListenerFailed) as info:
        engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    assert info.value.case == engine.get(CASE)
    assert isinstance(info.value.errors[0], RuntimeError)
    assert len(calls) == 1


def test_wrong_input_raises_clear_casework_errors(engine, seed):
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    with pytest.raises(UnknownEvent) as info:
        engine.fire(CASE, "first_contct", actor=WORKER)
    assert info.value.suggestions == ("first_contact",)
    assert "did you mean 'first_contact'?" in str(info.value)
    with pytest.raises(UnknownCase, match="no case with id 'MDN-2024-9999'"):
        engine.fire("MDN-2024-9999", "first_contact", actor=WORKER)
    with pytest.raises(UnknownWorkflow, match="unknown workflow child-protection"):
        engine.open("child-protection", "X-1", actor=WORKER)
    with pytest.raises(UnknownWorkflow, match="version 7"):
        engine.open(seed.WORKFLOW, "X-1", actor=WORKER, version=7)
    with pytest.raises(CaseExists):
        engine.open(seed.WORKFLOW, CASE, actor=WORKER)
    with pytest.raises(InvalidInput, match=r"data\.when: datetime value"):
        engine.fire(CASE, "first_contact", actor=WORKER, data={"when": datetime.now(UTC)})
    with pytest.raises(InvalidInput, match="actor: expected an Actor"):
        engine.fire(CASE, "first_contact", actor="sw-017")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="case_id"):
        engine.open(seed.WORKFLOW, "", actor=WORKER)
    with pytest.raises(InvalidInput, match="evidence"):
        engine.fire(CASE, "first_contact", actor=WORKER, evidence={"report": ""})
    with pytest.raises(InvalidInput, match="reason"):
        engine.fire(CASE, "first_contact", actor=WORKER, reason=3)  # type: ignore[arg-type]
    for exc in (UnknownEvent, UnknownCase, UnknownWorkflow, CaseExists, InvalidInput):
        assert issubclass(exc, CaseworkError)
    assert len(engine.trail(CASE)) == 1


def test_a_naive_clock_is_refused(seed_workflow, seed):
    engine = Engine([seed_workflow], clock=lambda: datetime(2024, 3, 4))  # noqa: DTZ001 - the point
    with pytest.raises(InvalidInput, match="has no timezone"):
        engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)


def _versioned(version: int, extra_state: bool) -> Workflow:
    states = [State("intake"), State("done", terminal=True)]
    transitions = [Transition("finish", source="intake", dest="done")]
    if extra_state:
        states.insert(1, State("review"))
        transitions = [
            Transition("finish", source="intake", dest="review"),
            Transition("approve", source="review", dest="done"),
        ]
    return Workflow(
        name="odgj", version=version, initial="intake", states=states, transitions=transitions
    )


def test_cases_stay_on_the_version_they_were_opened_under():
    engine = Engine([_versioned(1, extra_state=False)])
    engine.open("odgj", "A", actor=WORKER)
    engine.register(_versioned(2, extra_state=True))
    engine.open("odgj", "B", actor=WORKER)
    assert engine.workflow("odgj").version == 2
    assert engine.workflow("odgj", 1).version == 1
    assert engine.fire("A", "finish", actor=WORKER).state == "done"
    assert engine.fire("B", "finish", actor=WORKER).state == "review"
    engine.register(_versioned(2, extra_state=True))
    with pytest.raises(WorkflowError, match="already registered"):
        engine.register(
            Workflow(
                name="odgj",
                version=2,
                initial="intake",
                states=[State("intake"), State("x", terminal=True)],
                transitions=[Transition("finish", source="intake", dest="x")],
            )
        )


def test_available_events_follow_roles_and_guards(engine, seed, clock):
    to_family_work(engine, clock, seed)
    # family_accepts needs two documents, which the worker gives with the step.
    assert engine.available_events(CASE, WORKER) == ("record_contact_attempt", "family_accepts")
    assert engine.available_events(CASE, SUPERVISOR) == ()
    clock.advance(days=15)
    assert engine.available_events(CASE, WORKER) == (
        "record_contact_attempt",
        "family_accepts",
        "family_unresponsive",
    )


def test_one_machine_per_workflow_version_and_host_objects_untouched(
    seed_workflow, seed, monkeypatch
):
    built: list[object] = []
    real = decide.Machine

    def counting(*args: object, **kwargs: object) -> object:
        machine = real(*args, **kwargs)
        built.append(machine)
        return machine

    monkeypatch.setattr(decide, "Machine", counting)
    engine = Engine([seed_workflow], clock=ManualClock(datetime(2024, 1, 1, tzinfo=UTC)))
    actor = Actor("sw-1", {"social_worker"})
    for i in range(50):
        engine.open(seed.WORKFLOW, f"C-{i}", actor=actor)
        engine.fire(
            f"C-{i}", "first_contact", actor=actor, data={"client_alias": "a", "found_at": "b"}
        )
    assert len(built) == 1
    assert not hasattr(actor, "trigger")
    assert not hasattr(engine.get("C-0"), "may_first_contact")
    assert set(vars(type(actor))) == set(vars(Actor))


def test_time_is_normalised_to_utc(seed_workflow, seed):
    wib = datetime(2024, 3, 4, 8, 30, tzinfo=timezone(timedelta(hours=7)))
    engine = Engine([seed_workflow], clock=lambda: wib)
    case = engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH)
    assert case.opened_at.tzinfo is UTC
    assert case.opened_at == datetime(2024, 3, 4, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("clock", [None, "2024-03-04", 1709515800])
def test_an_engine_refuses_a_clock_it_cannot_call(clock):
    with pytest.raises(InvalidInput, match="clock: must be a callable giving the time"):
        Engine([], clock=clock)
