"""What a person may do on a case: one call, every event with its status, needs or reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casework_flow import Engine, ManualClock, seed
from casework_flow.actions import Action, ActionStatus, Needs

ACTORS = (
    seed.OUTREACH,
    seed.WORKER,
    seed.SUPERVISOR,
    seed.SHELTER_HEAD_BINJAI,
    seed.SHELTER_WORKER_BINJAI,
)
START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)


def _engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    engine = Engine([seed.build_workflow()], clock=clock, calendar=seed.CALENDAR)
    engine.open(seed.WORKFLOW, seed.CASE_ID, actor=seed.OUTREACH, assignee=seed.WORKER.id,
                unit=seed.MEDAN)  # fmt: skip
    return engine, clock


def _given(action: Action) -> dict[str, object]:
    n = action.needs
    return {
        "data": dict.fromkeys(n.data, "given"),
        "evidence": dict.fromkeys(n.evidence, "DOC-1"),
        "reason": "given" if n.reason or n.reason_codes else None,
        "reason_code": n.reason_codes[0] if n.reason_codes else None,
    }


def test_in_family_work_the_worker_sees_what_is_open_what_needs_documents_and_what_waits():
    engine, clock = _engine()
    for step in seed.HAPPY_PATH[:5]:
        clock.advance(timedelta(days=step[-1], hours=1))
        seed.take(engine, seed.CASE_ID, step)
    by_event = {a.event: a for a in engine.actions(seed.CASE_ID, actor=seed.WORKER, locale="id")}
    attempt = by_event["record_contact_attempt"]
    assert attempt.status is ActionStatus.NEEDS_INPUT
    accepts = by_event["family_accepts"]
    assert (accepts.status, accepts.label, accepts.dest) == (
        ActionStatus.NEEDS_INPUT, "Keluarga menerima", "reintegration",
    )  # fmt: skip
    assert accepts.needs == Needs(evidence=("family_statement", "home_visit_report"))
    waits = by_event["family_unresponsive"]
    assert waits.status is ActionStatus.BLOCKED
    assert waits.reasons
    assert all(not v.passed for v in waits.reasons)
    assert not any(v.kind in {"data", "reason"} for v in waits.reasons)
    assert "FAMILY_UNRESPONSIVE" in waits.needs.reason_codes
    assert engine.available_events(seed.CASE_ID, seed.WORKER) == tuple(
        a.event for a in by_event.values() if a.status is not ActionStatus.BLOCKED
    )
    spv = engine.actions(seed.CASE_ID, actor=seed.SUPERVISOR)
    assert {a.status for a in spv} == {ActionStatus.BLOCKED}
    assert all(any(v.kind == "role" for v in a.reasons) for a in spv)


def test_in_every_state_of_the_story_each_status_is_what_fire_would_do():
    """For every actor before every step: allowed fires as is; needs-input fires with
    what it lists; blocked does not fire even with every input; the step the story takes
    next is never shown blocked to its actor, and asks for nothing the story did not give."""
    engine, clock = _engine()
    seen: set[str] = set()
    for step in seed.HAPPY_PATH:
        clock.advance(timedelta(days=step[-1], hours=1))
        case = engine.get(seed.CASE_ID)
        seen.add(case.state)
        for actor in ACTORS:
            for action in engine.actions(seed.CASE_ID, actor=actor):
                bare = engine.can_fire(seed.CASE_ID, action.event, actor=actor)
                given = engine.can_fire(seed.CASE_ID, action.event, actor=actor, **_given(action))  # type: ignore[arg-type]
                if action.status is ActionStatus.ALLOWED:
                    assert bare.allowed, (case.state, actor.id, action)
                    assert action.reasons == ()
                    assert not action.needs
                elif action.status is ActionStatus.NEEDS_INPUT:
                    assert not bare.allowed
                    assert action.needs or all(v.kind == "guard" for v in given.reasons)
                    assert given.allowed or all(v.kind == "guard" for v in given.reasons)
                else:
                    assert not given.allowed, (case.state, actor.id, action)
                    assert action.reasons
        event, actor, data, evidence, code, _ = step
        if not event.startswith("("):
            shown = {a.event: a for a in engine.actions(seed.CASE_ID, actor=actor)}[event]
            assert shown.status is not ActionStatus.BLOCKED, (case.state, shown)
            assert set(shown.needs.data) <= set(data)
            on_file = engine.get(seed.CASE_ID).evidence
            assert set(shown.needs.evidence) <= set(evidence) | set(on_file)
            assert not shown.needs.reason_codes or code in shown.needs.reason_codes
        seed.take(engine, seed.CASE_ID, step)
    assert len(seen) >= 12


def test_a_closed_case_offers_nothing_and_a_bad_locale_is_refused():
    engine, clock = _engine()
    for step in seed.HAPPY_PATH:
        clock.advance(timedelta(days=step[-1], hours=1))
        seed.take(engine, seed.CASE_ID, step)
    assert engine.get(seed.CASE_ID).state == "closed_independent"
    assert engine.actions(seed.CASE_ID, actor=seed.WORKER) == ()
    with pytest.raises(Exception, match="locale"):
        engine.actions(seed.CASE_ID, actor=seed.WORKER, locale="\x00")
