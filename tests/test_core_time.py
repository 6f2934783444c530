"""Time in the step core: deadlines that stay missed, timers run one case at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casework_flow import (
    Actor,
    Deadline,
    Engine,
    InvalidInput,
    ManualClock,
    State,
    Transition,
    Workflow,
)
from casework_flow._timing import _add
from casework_flow.time import Calendar, Outcome, Timer

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # a Monday
SW = Actor("sw-031", {"social_worker"})
SYSTEM = {"system"}


def waiting_workflow() -> Workflow:
    """Assessment has two days, paused while the family is asked; a timer after a week."""
    return Workflow(
        name="paused", version=1, initial="assessment",
        states=[
            State("assessment", deadline=Deadline(timedelta(days=2), pause_in={"asking"}),
                  timers=[Timer(timedelta(days=7), "give_up")]),
            State("asking"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("ask_family", source="assessment", dest="asking", roles={"social_worker"}),
            Transition("answered", source="asking", dest="assessment", roles={"social_worker"}),
            Transition("give_up", source="assessment", dest="closed", roles=SYSTEM),
        ],
        roles={"social_worker", "system"},
    )  # fmt: skip


def test_a_missed_deadline_stays_missed_when_the_case_comes_back_from_waiting():
    clock = ManualClock(START)
    engine = Engine([waiting_workflow()], clock=clock)
    opened = engine.open("paused", "P-1", actor=SW)
    assert opened.deadline is not None
    due = opened.deadline.due_at
    clock.advance(days=3)
    engine.fire("P-1", "ask_family", actor=SW)
    clock.advance(days=1)
    back = engine.fire("P-1", "answered", actor=SW)
    assert back.deadline is not None
    assert back.deadline.due_at == due


def test_a_deadline_paused_in_time_runs_on_with_what_was_left():
    clock = ManualClock(START)
    engine = Engine([waiting_workflow()], clock=clock)
    engine.open("paused", "P-1", actor=SW)
    clock.advance(days=1)
    engine.fire("P-1", "ask_family", actor=SW)
    clock.advance(days=5)
    back = engine.fire("P-1", "answered", actor=SW)
    assert back.deadline is not None
    assert back.deadline.due_at == clock() + timedelta(days=1)


def test_run_timer_skips_a_case_whose_timer_is_not_due_and_fires_one_that_is():
    clock = ManualClock(START)
    engine = Engine([waiting_workflow()], clock=clock)
    engine.open("paused", "P-1", actor=SW)
    early = engine.run_timer("P-1")
    assert early.outcome is Outcome.SKIPPED
    assert len(engine.trail("P-1")) == 1
    clock.advance(days=8)
    fired = engine.run_timer("P-1")
    assert (fired.outcome, fired.timer, fired.to_state) == (Outcome.FIRED, "give_up", "closed")
    assert engine.run_timer("P-1").outcome is Outcome.SKIPPED


def test_a_migration_batch_must_be_a_positive_integer():
    engine = Engine([waiting_workflow()])
    plan = engine.plan_migration("paused", 1, 1)
    for batch in (0, -1, True, 1.5):
        with pytest.raises(InvalidInput, match="batch"):
            engine.migrate(plan, actor=SW, batch=batch)  # type: ignore[arg-type]


def test_working_time_is_added_only_forward_and_durations_read_in_hours():
    calendar = Calendar("Asia/Jakarta")
    saturday = datetime(2024, 5, 11, 3, 0, tzinfo=UTC)
    assert _add(calendar, saturday, timedelta(0), working=True) == saturday
    assert _add(calendar, saturday, -timedelta(hours=1), working=True) == saturday - timedelta(
        hours=1
    )
    assert _add(calendar, saturday, timedelta(hours=1), working=True) > saturday
    assert Deadline(timedelta(hours=36)).describe() == "36 hours"
    assert Deadline(timedelta(hours=4), working=True).describe() == "4 working hours"
    assert Deadline(timedelta(days=1)).describe() == "1 day"


def test_timers_and_deadlines_describe_themselves_in_days_and_working_days():
    assert Timer(timedelta(days=14), "family_silent").describe() == "family_silent after 14 days"
    assert Timer(timedelta(days=1), "remind", working=True).describe() == (
        "remind after 1 working day"
    )
    assert Deadline(timedelta(days=5), working=True).describe() == "5 working days"
