"""Small values the core relies on, pinned: clocks in JSON, measures, host checks, imports."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from casework_flow import (
    Actor,
    Deadline,
    Engine,
    Handover,
    InvalidInput,
    ManualClock,
    SQLiteStore,
    TransitionRejected,
    UnknownCase,
)
from casework_flow.audit import ChainHead, export_jsonl
from casework_flow.exceptions import TrailBroken, UnknownWorkflow
from casework_flow.guards import check, fact, time_since_opened
from casework_flow.stores import Query
from casework_flow.time import DeadlineClock

from .test_core import SPV, SW, WF, engine
from .test_guards import context

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


def test_a_deadline_clock_keeps_every_microsecond_through_json():
    clock = DeadlineClock(
        "assessment", START, timedelta(days=2, seconds=5, microseconds=7), None, None
    )
    assert clock.to_json()["used_us"] == (2 * 86_400 + 5) * 1_000_000 + 7
    assert DeadlineClock.from_json(clock.to_json()) == clock
    running = DeadlineClock("a", START, timedelta(0), START, START + timedelta(days=1))
    assert DeadlineClock.from_json(running.to_json()) == running


def test_measures_compare_in_every_direction_and_say_what_they_read():
    assert (fact("age") <= 17).test(context(data={"age": 17}))[0]
    assert not (fact("age") <= 17).test(context(data={"age": 18}))[0]
    assert (fact("age") != 17).test(context(data={"age": 18}))[0]
    assert not (fact("age") != 17).test(context(data={"age": 17}))[0]
    assert (fact("region").none_of("Binjai", "Deli")).text == "region not in ('Binjai', 'Deli')"
    assert not fact("region").none_of("Binjai").test(context(data={"region": "Binjai"}))[0]
    assert fact("region").none_of("Binjai").test(context(data={"region": "Medan"}))[0]
    assert fact("alias").absent().test(context())[0]
    assert not fact("alias").absent().test(context(data={"alias": "R."}))[0]
    assert fact("alias").present().test(context(data={"alias": "R."})) == (True, "alias is 'R.'")
    opened = (time_since_opened() >= timedelta(days=1)).test(context(now_after=timedelta(days=2)))
    assert opened == (True, "the case has been open for 2 days (at least 1 day needed)")


def test_a_host_check_that_answers_with_a_bool_says_whether_it_held():
    holds = check("family_reached", lambda _ctx: True)
    fails = check("family_reached", lambda _ctx: False)
    assert holds.test(context()) == (True, "family_reached holds")
    assert fails.test(context()) == (False, "family_reached does not hold")


def test_the_overdue_report_honours_its_moment_and_its_query():
    eng = Engine([WF], clock=ManualClock(START))
    report = eng.overdue(START + timedelta(days=1), query=Query(state="tracing"))
    assert report.at == START + timedelta(days=1)
    assert report.cases == ()


def test_an_import_checks_the_known_head_the_version_and_names_its_source():
    eng, _ = engine()
    eng.fire("FW-1", "record_contact", actor=SW)
    out = io.StringIO()
    export_jsonl(eng.trail("FW-1"), out, workflow=WF, include_personal=True)
    lines = out.getvalue().splitlines()
    fresh = Engine([WF])
    with pytest.raises(TrailBroken, match="removed from the end"):
        fresh.import_trail(lines, head=ChainHead(5, "a" * 64), source="backup.jsonl")
    with pytest.raises(TrailBroken, match=r"backup\.jsonl"):
        fresh.import_trail([*lines[:1], "{not json"], source="backup.jsonl")
    with pytest.raises(UnknownWorkflow):
        Engine([]).import_trail(lines)
    case = fresh.import_trail(lines, head=eng.store.load("FW-1").head)
    assert case == eng.get("FW-1")


def test_a_record_adds_its_documents_as_a_new_revision():
    eng, _ = engine()
    recorded = eng.record("FW-1", "home_visit", actor=SW, evidence={"visit_report": "V-1"})
    assert recorded.evidence["visit_report"] == "V-1"
    assert recorded.revision == 2


def test_without_record_roles_only_roles_that_some_transition_names_may_record():
    eng, _ = engine()
    with pytest.raises(TransitionRejected, match="recording needs"):
        eng.record("FW-1", "home_visit", actor=Actor("driver-1", {"driver"}))
    assert eng.record("FW-1", "home_visit", actor=SPV).revision == 2


def test_evidence_guards_are_one_per_kind_and_need_at_least_one():
    from casework_flow._guards import AllOf, Evidence  # noqa: PLC0415 - the values under test
    from casework_flow.guards import evidence  # noqa: PLC0415

    assert evidence("referral_letter") == Evidence("referral_letter")
    both = evidence("referral_letter", "health_certificate")
    assert isinstance(both, AllOf)
    assert both.parts == (Evidence("referral_letter"), Evidence("health_certificate"))
    with pytest.raises(TypeError, match=r"evidence\(\) needs at least one document kind"):
        evidence()


def test_an_assignment_and_a_transfer_request_are_revisions_that_say_who_and_when():
    eng = Engine([WF], clock=ManualClock(START))
    eng.open(WF.name, "FW-1", actor=SW, assignee=SW.id, unit="medan")
    assigned = eng.assign("FW-1", "sw-044", actor=SPV)
    assert (assigned.assignee, assigned.revision) == ("sw-044", 2)
    asked = eng.transfer("FW-1", "binjai", actor=SPV, reason="Shelter.", to_worker="sw-b")
    assert asked.revision == 3
    assert asked.open_handovers == (
        Handover(
            "transfer-3", "transfer", "in_progress", SPV.id, START, 3, from_unit="medan",
            to_unit="binjai", to_worker="sw-b", reason="Shelter.",
        ),
    )  # fmt: skip
    assert asked.handover("transfer") is asked.handovers["transfer-3"]


def test_the_engine_verifies_a_stored_trail_against_the_stored_head(tmp_path):
    path = tmp_path / "cases.sqlite3"
    eng = Engine([WF], store=SQLiteStore(path), clock=ManualClock(START))
    eng.open(WF.name, "FW-1", actor=SW)
    eng.fire("FW-1", "record_contact", actor=SW)
    assert eng.verify("FW-1").ok
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM casework_entries WHERE seq = 2")
    result = eng.verify("FW-1")
    assert not result.ok
    assert result.problem is not None
    assert "removed from the end" in result.problem


def test_an_unknown_case_is_named_and_a_single_pause_state_is_a_set():
    eng, _ = engine()
    with pytest.raises(UnknownCase) as caught:
        eng.get("FW-404")
    assert caught.value.case_id == "FW-404"
    assert Deadline(timedelta(days=2), pause_in="asking").pause_in == frozenset({"asking"})


def test_the_catalog_refuses_what_is_not_a_calendar_or_a_workflow():
    with pytest.raises(InvalidInput) as calendar:
        Engine([WF], calendar="Asia/Jakarta")  # type: ignore[arg-type]
    assert (calendar.value.field, calendar.value.problem) == (
        "calendar", "expected a Calendar, got str",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as workflow:
        Engine([]).register("family-work")  # type: ignore[arg-type]
    assert (workflow.value.field, workflow.value.problem) == (
        "workflow", "expected a Workflow, got str",
    )  # fmt: skip
