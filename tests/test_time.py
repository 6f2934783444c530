"""Time: calendars, deadlines that pause, timers that fire exactly once, due and overdue."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Calendar,
    Deadline,
    Engine,
    EntryKind,
    InMemoryStore,
    InvalidInput,
    ManualClock,
    SQLiteStore,
    State,
    Timer,
    Transition,
    TransitionRejected,
    Workflow,
    check_workflow,
    replay,
)
from casework_flow import seed as demo
from casework_flow.exceptions import WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.guards import count, time_in_state
from casework_flow.stores import Query
from casework_flow.time import Outcome, load_holidays

from .conftest import ROOT, load_example

MONDAY = datetime(2024, 3, 4, 3, 0, tzinfo=UTC)  # 10:00 in Medan
JAKARTA = Calendar("Asia/Jakarta", holidays=demo.NATIONAL_HOLIDAYS_2024)
SW = Actor("sw-017", {"social_worker"})
SPV = Actor("spv-002", {"supervisor"})


# --- calendars ----------------------------------------------------------------------


def test_working_days_skip_weekends_and_holidays():
    cal = Calendar("Asia/Jakarta", holidays={date(2024, 3, 11)})
    assert cal.add(MONDAY, timedelta(days=3)) == MONDAY + timedelta(days=3)
    friday = MONDAY + timedelta(days=4)
    # Friday 10:00 + 1 working day: Monday the 11th is Nyepi, so Tuesday 10:00.
    assert cal.add(friday, timedelta(days=1)) == friday + timedelta(days=4)
    saturday = MONDAY + timedelta(days=5)
    # From a weekend, counting starts on the next working day at midnight.
    assert cal.add(saturday, timedelta(days=1)) == datetime(2024, 3, 12, 17, 0, tzinfo=UTC)
    assert cal.day_of(cal.add(saturday, timedelta(days=1))) == date(2024, 3, 12)
    assert cal.between(friday, friday + timedelta(days=4)) == timedelta(days=1)


def test_calendar_input_is_checked():
    with pytest.raises(InvalidInput, match="unknown time zone 'Asia/Medan'"):
        Calendar("Asia/Medan")
    with pytest.raises(InvalidInput, match="at least one working weekday"):
        Calendar(weekend=range(7))
    with pytest.raises(InvalidInput, match="'someday' is not a weekday"):
        Calendar(weekend={"someday"})
    with pytest.raises(InvalidInput, match="expected dates"):
        Calendar(holidays={"2024-08-17"})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="has no timezone"):
        Calendar().add(datetime(2024, 3, 4), timedelta(days=1))  # noqa: DTZ001 - the point
    assert Calendar(weekend={"fri", "sat"}).is_working_day(date(2024, 3, 10))  # a Sunday


calendars = st.builds(
    Calendar,
    st.sampled_from(["UTC", "Asia/Jakarta", "Asia/Makassar", "Europe/Berlin"]),
    st.sets(st.integers(0, 6), max_size=3),
    st.sets(st.dates(date(2024, 1, 1), date(2024, 12, 31)), max_size=40),
)
moments = st.datetimes(
    datetime(2024, 1, 1), datetime(2024, 12, 31), timezones=st.just(UTC)  # noqa: DTZ001 - hypothesis bounds are naive
)  # fmt: skip


@settings(max_examples=300)
@given(calendars, moments, st.integers(1, 30), st.integers(0, 23))
def test_working_day_deadlines_never_fall_on_a_day_off(cal, start, days, hours):
    amount = timedelta(days=days, hours=hours)
    due = cal.add(start, amount)
    assert due > start
    assert cal.is_working_day(cal.day_of(due))
    assert cal.between(start, due) == amount


@settings(max_examples=200)
@given(calendars, moments, st.integers(1, 20), st.integers(1, 20))
def test_working_time_adds_up(cal, start, a, b):
    first = cal.add(start, timedelta(days=a))
    assert cal.add(first, timedelta(days=b)) == cal.add(start, timedelta(days=a + b))


def test_holiday_lists_load_from_text_csv_and_icalendar(tmp_path: Path):
    assert load_holidays(ROOT / "examples" / "holidays-id-2024.txt") == (
        demo.NATIONAL_HOLIDAYS_2024
    )
    ics = tmp_path / "id.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20240817\n"
        "SUMMARY:Hari Kemerdekaan\nEND:VEVENT\nBEGIN:VEVENT\nDTSTART:20241225\nEND:VEVENT\n"
        "END:VCALENDAR\n"
    )
    assert load_holidays(ics) == {date(2024, 8, 17), date(2024, 12, 25)}
    bad = tmp_path / "bad.txt"
    bad.write_text("# holidays\n2024-08-17\n17/08/2024,Independence Day\n")
    with pytest.raises(InvalidInput, match=r"bad.txt, line 3: '17/08/2024' is not a date"):
        load_holidays(bad)
    with pytest.raises(InvalidInput, match="cannot read the holiday list"):
        load_holidays(tmp_path / "missing.txt")


# --- a small timed process ------------------------------------------------------------


def tracing(*, deadline: Deadline | None = None) -> Workflow:
    """Family tracing with a working-day deadline that pauses while a letter is out."""
    return Workflow(
        name="tracing",
        version=1,
        initial="tracing",
        states=[
            State(
                "tracing",
                deadline=deadline
                or Deadline(timedelta(days=5), working=True, pause_in={"awaiting_family"}),
                timers=[
                    Timer(timedelta(days=3), "remind", name="reminder"),
                    Timer(
                        timedelta(days=14),
                        "unresponsive",
                        reason="No response for 14 days.",
                        name="no_response",
                    ),
                ],
            ),
            State("awaiting_family", deadline=Deadline(timedelta(days=21))),
            State("conference"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("contact", source="tracing", dest=None, roles={"social_worker"}),
            Transition("remind", source="tracing", dest=None, roles={"system"}),
            Transition(
                "send_letter", source="tracing", dest="awaiting_family", roles={"social_worker"}
            ),
            Transition(
                "letter_answered",
                source="awaiting_family",
                dest="tracing",
                roles={"social_worker"},
            ),
            Transition(
                "unresponsive",
                source="tracing",
                dest="conference",
                roles={"social_worker", "system"},
                guard=(count("contact") >= 2) | (time_in_state() >= timedelta(days=14)),
            ),
            Transition("close", source="conference", dest="closed", roles={"supervisor"}),
        ],
    )


TRACING = tracing()


def engine_at(start: datetime = MONDAY, store=None, calendar: Calendar = JAKARTA):  # type: ignore[no-untyped-def]
    clock = ManualClock(start)
    return Engine([TRACING], store=store, clock=clock, calendar=calendar), clock


def test_naive_times_are_refused_everywhere():
    with pytest.raises(InvalidInput, match="no timezone"):
        ManualClock(datetime(2024, 3, 4))  # noqa: DTZ001 - the point
    engine = Engine([TRACING], clock=lambda: datetime(2024, 3, 4))  # noqa: DTZ001 - the point
    with pytest.raises(InvalidInput, match="clock"):
        engine.open("tracing", "C-1", actor=SW)
    engine, _ = engine_at()
    with pytest.raises(InvalidInput, match="now"):
        engine.due(datetime(2024, 3, 4))  # noqa: DTZ001 - the point
    with pytest.raises(InvalidInput, match="now"):
        engine.run_due(datetime(2024, 3, 4))  # noqa: DTZ001 - the point


def test_a_deadline_runs_pauses_resumes_and_is_reported_not_acted_on():
    engine, clock = engine_at()
    case = engine.open("tracing", "C-1", actor=SW, assignee="sw-017")
    assert case.deadline is not None
    # 5 working days from Monday 10:00; the next Monday is Nyepi, so Tuesday 10:00.
    assert case.deadline.due_at == MONDAY + timedelta(days=8)
    clock.advance(days=2)  # Wednesday: two working days used
    waiting = engine.fire("C-1", "send_letter", actor=SW)
    assert waiting.deadline is not None
    assert waiting.deadline.state == "tracing"
    assert waiting.deadline.due_at is None
    assert waiting.deadline.used == timedelta(days=2)
    clock.advance(days=10)  # paused: the wait does not count
    assert not engine.due().overdue
    back = engine.fire("C-1", "letter_answered", actor=SW)
    assert back.deadline is not None
    # Resumed Saturday 16 March: three working days left, Nyepi is not in March 18-20.
    assert back.deadline.due_at == datetime(2024, 3, 20, 17, 0, tzinfo=UTC)
    clock.set(datetime(2024, 3, 21, 3, 0, tzinfo=UTC))
    due = engine.due()
    assert [(o.case_id, o.state, o.assignee) for o in due.overdue] == [("C-1", "tracing", "sw-017")]
    assert due.overdue[0].late == timedelta(hours=10)
    report = engine.overdue()
    assert report.by_state() == {"tracing": due.overdue}
    assert report.by_assignee() == {"sw-017": due.overdue}
    assert "C-1  due 2024-03-20 17:00  late 10 hours" in report.table()
    assert engine.get("C-1").state == "tracing"


def test_a_missed_deadline_does_not_pause():
    engine, clock = engine_at()
    engine.open("tracing", "C-1", actor=SW)
    clock.advance(days=9)
    waiting = engine.fire("C-1", "send_letter", actor=SW)
    assert waiting.deadline is not None
    assert waiting.deadline.due_at == MONDAY + timedelta(days=8)
    assert [o.case_id for o in engine.due().overdue] == ["C-1"]


def test_a_pause_state_with_its_own_deadline_keeps_the_paused_one():
    engine, clock = engine_at()
    engine.open("tracing", "C-1", actor=SW)
    clock.advance(days=1)
    paused = engine.fire("C-1", "send_letter", actor=SW)
    assert paused.deadline is not None
    assert paused.deadline.state == "tracing"


def test_leaving_the_state_ends_its_deadline_and_cancels_its_timers():
    engine, clock = engine_at()
    engine.open("tracing", "C-1", actor=SW)
    engine.fire("C-1", "contact", actor=SW)
    engine.fire("C-1", "contact", actor=SW)
    moved = engine.fire("C-1", "unresponsive", actor=SW)
    assert moved.state == "conference"
    assert moved.deadline is None
    assert moved.timer is None
    clock.advance(days=30)
    assert not engine.due()
    assert not engine.run_due().runs


def test_timers_fire_once_as_the_system_with_the_timer_named():
    engine, clock = engine_at()
    opened = engine.open("tracing", "C-1", actor=SW)
    assert (opened.timer, opened.timer_at) == ("reminder", MONDAY + timedelta(days=3))
    clock.advance(days=3)
    assert [(t.case_id, t.timer) for t in engine.due().timers] == [("C-1", "reminder")]
    report = engine.run_due()
    assert [(r.timer, r.outcome, r.to_state) for r in report.runs] == [
        ("reminder", Outcome.FIRED, "tracing")
    ]
    assert not engine.run_due().runs
    case = engine.get("C-1")
    assert case.fired == ("reminder",)
    assert (case.timer, case.timer_at) == ("no_response", MONDAY + timedelta(days=14))
    entry = engine.trail("C-1")[-1]
    assert (entry.actor_id, entry.actor_roles, entry.timer) == ("system", ("system",), "reminder")
    clock.advance(days=11)
    fired = engine.run_due()
    assert [(r.timer, r.event, r.to_state) for r in fired.fired] == [
        ("no_response", "unresponsive", "conference")
    ]
    assert engine.trail("C-1")[-1].reason == "No response for 14 days."
    assert replay(TRACING, engine.trail("C-1"), calendar=JAKARTA) == engine.get("C-1")
    assert engine.verify("C-1").ok


def test_a_refused_timer_is_recorded_and_spent():
    wf = Workflow(
        name="strict",
        version=1,
        initial="a",
        states=[
            State("a", timers=[Timer(timedelta(days=1), "go")]),
            State("b", terminal=True),
        ],
        transitions=[Transition("go", source="a", dest="b", guard=count("visit") >= 1),
                     Transition("visit", source="a", dest=None)],
    )  # fmt: skip
    clock = ManualClock(MONDAY)
    engine = Engine([wf], clock=clock)
    engine.open("strict", "C-1", actor=SW)
    clock.advance(days=2)
    report = engine.run_due()
    assert [r.outcome for r in report.runs] == [Outcome.REFUSED]
    assert "visit was recorded 0 times" in report.runs[0].why[0]
    last = engine.trail("C-1")[-1]
    assert (last.kind, last.timer) == (EntryKind.REFUSED, "go")
    assert engine.get("C-1").timer is None
    assert not engine.run_due().runs
    assert replay(wf, engine.trail("C-1")) == engine.get("C-1")


def test_a_case_that_moved_on_is_not_fired_for():
    engine, clock = engine_at()
    engine.open("tracing", "C-1", actor=SW)
    clock.advance(days=4)
    engine.fire("C-1", "send_letter", actor=SW)  # left tracing before run_due came round
    report = engine.run_due()
    assert not report.runs
    assert all(e.timer is None for e in engine.trail("C-1"))


def test_due_answers_from_the_index_for_many_cases():
    engine, clock = engine_at()
    for i in range(30):
        engine.open("tracing", f"C-{i:02d}", actor=SW, assignee=f"sw-{i % 3}")
        clock.advance(hours=1)
    clock.set(MONDAY + timedelta(days=3, hours=9, minutes=30))
    due = engine.due()
    assert [t.case_id for t in due.timers] == [f"C-{i:02d}" for i in range(10)]
    assert len(engine.due(limit=4).timers) == 4
    report = engine.run_due(batch=3)
    assert len(report.fired) == 10
    assert not engine.due().timers


def test_timers_and_deadlines_are_checked_when_the_workflow_is_built():
    with pytest.raises(WorkflowError) as info:
        Workflow(
            name="bad",
            version=1,
            initial="a",
            states=[
                State(
                    "a",
                    deadline=Deadline(timedelta(days=-1), pause_in={"a", "nowhere"}),
                    timers=[Timer(timedelta(0), "go"), Timer(timedelta(days=1), "gone")],
                ),
                State("b", terminal=True),
            ],
            transitions=[Transition("go", source="a", dest="b")],
        )
    text = str(info.value)
    assert "states[0].deadline: a: the deadline must be a positive time" in text
    assert "a deadline cannot pause in its own state" in text
    assert "the deadline pauses in unknown state 'nowhere'" in text
    assert "timer go: 'after' must be a positive time" in text
    assert "timer gone fires unknown event 'gone' (did you mean 'go'?)" in text


def test_the_checks_flag_timers_and_deadlines_that_cannot_work():
    wf = Workflow(
        name="odd",
        version=1,
        initial="a",
        states=[
            State("a", timers=[Timer(timedelta(days=1), "close"), Timer(timedelta(days=2), "go")]),
            State("b", timers=[Timer(timedelta(days=1), "go")]),
            State("done", terminal=True, deadline=Deadline(timedelta(days=1)),
                  timers=[Timer(timedelta(days=1), "go")]),
        ],
        transitions=[
            Transition("go", source="a", dest="b", roles={"social_worker"}),
            Transition("close", source="b", dest="done"),
        ],
    )  # fmt: skip
    codes = {(f.code, f.path) for f in check_workflow(wf)}
    assert ("deadline-on-terminal-state", "states[2].deadline") in codes
    assert ("timer-on-terminal-state", "states[2].timers[0]") in codes
    assert ("timer-cannot-fire", "states[0].timers[0]") in codes
    assert ("timer-cannot-fire", "states[1].timers[0]") in codes
    assert ("timer-without-system-role", "states[0].timers[1]") in codes
    assert not [f for f in check_workflow(TRACING) if f.code.startswith(("timer", "deadline"))]


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_timers_and_deadlines_round_trip_through_files(fmt):
    assert loads_workflow(dump_workflow(TRACING, fmt), fmt) == TRACING


def test_bad_timing_in_a_file_names_the_line():
    text = """\
name: t
version: 1
initial: a
states:
- id: a
  deadline: {within: three days}
  timers:
  - {after: P1D, event: go, when: later}
- id: b
  terminal: true
transitions:
- {event: go, source: a, dest: b}
"""
    with pytest.raises(WorkflowError) as info:
        loads_workflow(text, "yaml", source="t.yaml")
    text_of = str(info.value)
    assert "t.yaml:6" in text_of
    assert "'three days' is not an ISO 8601 duration" in text_of
    assert "t.yaml:8" in text_of
    assert "unknown key 'when'" in text_of


# --- the seed story ---------------------------------------------------------------------


def test_the_seed_story_uses_the_deadline_and_the_family_response_timer():
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    engine = Engine([demo.build_workflow()], clock=clock, calendar=demo.CALENDAR)
    load_example("medan_street_beggar").play(engine, clock)
    trail = engine.trail(demo.CASE_ID)
    timed = [e for e in trail if e.timer]
    assert [(e.event, e.actor_id, e.timer) for e in timed] == [
        ("family_unresponsive", "system", "family_response_14_days")
    ]
    assert replay(engine.workflow(demo.WORKFLOW), trail, calendar=demo.CALENDAR) == engine.get(
        demo.CASE_ID
    )


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casework_flow", *args],
        capture_output=True, text=True, check=check,
    )  # fmt: skip


def test_the_command_line_reports_overdue_cases_and_runs_timers(tmp_path: Path):
    db = tmp_path / "cases.sqlite3"
    wf_file = tmp_path / "tracing.yaml"
    wf_file.write_text(dump_workflow(TRACING, "yaml"))
    with SQLiteStore(db) as store:
        engine, _ = engine_at(store=store, calendar=Calendar())
        for i in range(3):
            engine.open("tracing", f"C-{i}", actor=SW, assignee=f"sw-{i}")
    out = cli("overdue", str(db), "--at", "2024-03-12T00:00:00+00:00").stdout
    assert "3 overdue at 2024-03-12 00:00 UTC" in out
    assert "sw-1  C-1  due 2024-03-11 03:00  late 21 hours" in out
    due = ("run-due", str(db), "--workflow", str(wf_file), "--at", "2024-03-07T04:00:00Z")
    out = cli(*due).stdout
    assert "C-0: reminder fired: remind tracing -> tracing" in out
    assert "3 fired, 0 refused, 0 skipped" in out
    assert "0 fired" in cli(*due).stdout
    missing = cli("overdue", str(tmp_path / "none.sqlite3"), check=False)
    assert missing.returncode == 1
    assert "no such database file" in missing.stderr


# --- exactly once, under concurrency and at random ------------------------------------------


def fired_by_four_workers(
    connect: Callable[[], Any], cases: int, batch: int, now: datetime
) -> Counter[str]:
    """Open ``cases`` tracing cases, run timers on four threads, count fires per case."""
    with connect() as store:
        engine, _ = engine_at(store=store)
        for i in range(cases):
            engine.open("tracing", f"C-{i:02d}", actor=SW)
    reports = []

    def work() -> None:
        with connect() as own:
            reports.append(Engine([TRACING], store=own, calendar=JAKARTA).run_due(now, batch=batch))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(r.case_id for rep in reports for r in rep.fired)


def test_workers_on_threads_fire_each_timer_once(tmp_path: Path):
    db = tmp_path / "cases.sqlite3"
    now = MONDAY + timedelta(days=3, hours=1)
    fired = fired_by_four_workers(lambda: SQLiteStore(db), 60, 5, now)
    assert fired == Counter({f"C-{i:02d}": 1 for i in range(60)})
    with SQLiteStore(db) as store:
        for i in range(60):
            trail = store.trail(f"C-{i:02d}")
            assert [e.timer for e in trail if e.timer] == ["reminder"]


EVENTS = ["contact", "send_letter", "letter_answered", "unresponsive", "close"]
ACTORS = {"close": SPV}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_timers_fire_exactly_once_whatever_happens(data):
    """Random waits, random human steps, two workers: the timer laws hold throughout."""
    store = InMemoryStore()
    clock = ManualClock(MONDAY)
    workers = [Engine([TRACING], store=store, clock=clock, calendar=JAKARTA) for _ in range(2)]
    cases = [f"C-{i}" for i in range(3)]
    for case_id in cases:
        workers[0].open("tracing", case_id, actor=SW)
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        clock.advance(timedelta(hours=data.draw(st.integers(0, 24 * 6), label="hours")))
        if data.draw(st.booleans(), label="a person acts"):
            case_id = data.draw(st.sampled_from(cases), label="case")
            event = data.draw(st.sampled_from(EVENTS), label="event")
            with contextlib.suppress(TransitionRejected):
                workers[0].fire(case_id, event, actor=ACTORS.get(event, SW))
        worker = workers[data.draw(st.integers(0, 1), label="worker")]
        now = clock()
        was_due = {c.id: c.timer for c in (store.load(i).case for i in cases) if c.timer_at
                   and c.timer_at <= now}  # fmt: skip
        report = worker.run_due()
        assert {r.case_id: r.timer for r in report.runs if r.outcome is not Outcome.SKIPPED} == (
            was_due
        )
        for case_id in cases:
            case = store.load(case_id).case
            assert case.timer_at is None or case.timer_at > now
            if case.deadline is not None and case.deadline.due_at is not None:
                spec = TRACING.state(case.deadline.state).deadline
                if spec is not None and spec.working:
                    assert JAKARTA.is_working_day(JAKARTA.day_of(case.deadline.due_at))
    for case_id in cases:
        trail = workers[1].trail(case_id)
        stay_start = trail[0].at
        fired_in_stay: list[str] = []
        state = trail[0].to_state
        for entry in trail[1:]:
            if entry.timer is not None:
                assert entry.from_state == state, "a timer fired for a state the case had left"
                spec = next(t for t in TRACING.state(state).timers if t.name == entry.timer)
                assert entry.at >= stay_start + spec.after, "a timer fired early"
                assert entry.timer not in fired_in_stay, "a timer fired twice in one stay"
                fired_in_stay.append(entry.timer)
            if entry.kind is EntryKind.TRANSITION and entry.to_state != state:
                state, stay_start, fired_in_stay = entry.to_state, entry.at, []
        assert replay(TRACING, trail, calendar=JAKARTA) == workers[1].get(case_id)


def test_a_different_utc_offset_is_the_same_moment():
    engine, _ = engine_at()
    engine.open("tracing", "C-1", actor=SW)
    medan = timezone(timedelta(hours=7))
    at = datetime(2024, 3, 7, 10, 0, tzinfo=medan)
    assert [t.case_id for t in engine.due(at).timers] == ["C-1"]
    assert engine.run_due(at).at == at.astimezone(UTC)


def test_workers_on_postgresql_share_the_timers_with_skip_locked():
    from casework_flow import PostgresStore  # noqa: PLC0415 - the postgres extra

    from .stores import pg_schema  # noqa: PLC0415 - only this test needs PostgreSQL

    with pg_schema() as dsn:
        now = MONDAY + timedelta(days=3, hours=1)
        fired = fired_by_four_workers(lambda: PostgresStore(dsn), 40, 4, now)
        assert fired == Counter({f"C-{i:02d}": 1 for i in range(40)})
        with PostgresStore(dsn) as store:
            plan = "\n".join(store.explain(Query(timers_due=now)))
            assert "casework_cases_timer" in plan, plan
