"""Migration and timer runs through the engine, pinned field by field."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from casework_flow import (
    ConcurrentModification,
    Engine,
    EntryKind,
    InMemoryStore,
    InvalidInput,
    ManualClock,
    State,
)
from casework_flow.time import Outcome, Timer, TimerRun

from .test_core import SPV, START, SW, WF
from .test_core_time import waiting_workflow

V2 = attrs.evolve(WF, version=2, states=(*WF.states, State("archived", terminal=True)))
V3 = attrs.evolve(V2, version=3)
OTHER = attrs.evolve(WF, name="other-work")


def test_a_plan_covers_every_page_of_one_workflow_version_and_migrates_to_the_one_asked():
    engine = Engine([WF, V2, V3, OTHER], clock=ManualClock(START))
    for i in range(130):
        engine.open(WF.name, f"FW-{i:03d}", actor=SW, version=1)
    engine.open(WF.name, "FW-V2", actor=SW, version=2)
    engine.open(OTHER.name, "OT-1", actor=SW, version=1)
    plan = engine.plan_migration(WF.name, 1, 2)
    assert (plan.workflow, plan.from_version, plan.to_version) == (WF.name, 1, 2)
    assert len(plan.items) == 130
    assert {i.case_id for i in plan.items} == {f"FW-{i:03d}" for i in range(130)}
    report = engine.migrate(plan, actor=SPV, reason="Version 2 of the SOP.", batch=1)
    assert len(report.migrated) == 130
    assert (report.skipped, report.failed) == ((), ())
    assert {engine.get(c).version for c in report.migrated} == {2}
    assert engine.get("OT-1").version == 1
    entry = engine.trail("FW-007")[-1]
    assert (entry.kind, entry.reason, entry.actor_id) == (
        EntryKind.MIGRATED, "Version 2 of the SOP.", SPV.id,
    )  # fmt: skip
    assert dict(entry.details) == {"from_version": "1", "to_version": "2"}


def test_a_migration_batch_that_is_not_a_positive_integer_names_the_argument():
    engine = Engine([WF, V2])
    plan = engine.plan_migration(WF.name, 1, 2)
    with pytest.raises(InvalidInput) as caught:
        engine.migrate(plan, actor=SPV, batch=0)
    assert (caught.value.field, caught.value.problem) == ("batch", "must be a positive integer")


def test_a_timer_run_reports_what_it_did_and_takes_the_moment_it_is_given():
    clock = ManualClock(START)
    engine = Engine([waiting_workflow()], clock=clock)
    engine.open("paused", "P-1", actor=SW)
    assert engine.run_timer("P-1") == TimerRun(
        "P-1", None, None, Outcome.SKIPPED, "assessment", "assessment"
    )
    later = START + timedelta(days=8)
    assert engine.run_timer("P-1", later) == TimerRun(
        "P-1", "give_up", "give_up", Outcome.FIRED, "assessment", "closed"
    )
    assert engine.trail("P-1")[-1].at == later


def test_a_timer_runs_on_its_case_s_own_version_and_reports_a_failing_listener():
    wf = waiting_workflow()
    renamed = attrs.evolve(
        wf, version=2, states=[
            attrs.evolve(wf.states[0], timers=[Timer(timedelta(days=3), "give_up", name="late")]),
            *wf.states[1:],
        ],
    )  # fmt: skip
    engine = Engine([wf, renamed], clock=ManualClock(START))
    engine.open("paused", "P-1", actor=SW, version=1)

    def broken(_committed: object) -> None:
        raise RuntimeError("the mail server is down")

    engine.on_commit(broken)
    run = engine.run_timer("P-1", START + timedelta(days=8))
    assert (run.timer, run.outcome, run.to_state) == ("give_up", Outcome.FIRED, "closed")
    assert len(run.why) == 1
    assert "listeners failed: RuntimeError" in run.why[0]


class Racing:
    """A store whose first ``losses`` commits lose a race to another writer."""

    def __init__(self, losses: int) -> None:
        self.inner = InMemoryStore()
        self.losses = losses

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def commit(self, case, entries, *, expected_revision):  # type: ignore[no-untyped-def]
        if self.losses:
            self.losses -= 1
            raise ConcurrentModification(case.id, expected_revision, expected_revision + 1)
        return self.inner.commit(case, entries, expected_revision=expected_revision)


def test_a_timer_run_that_loses_a_race_reads_again_and_fires_once():
    store = Racing(losses=1)
    engine = Engine([waiting_workflow()], store=store, clock=ManualClock(START))  # type: ignore[arg-type]
    engine.open("paused", "P-1", actor=SW)
    run = engine.run_timer("P-1", START + timedelta(days=8))
    assert (run.outcome, run.to_state) == (Outcome.FIRED, "closed")
    assert store.losses == 0
    assert [e.kind for e in engine.trail("P-1")] == [EntryKind.OPENED, EntryKind.TRANSITION]


def test_a_timer_run_that_keeps_losing_gives_up_and_says_so():
    engine = Engine([waiting_workflow()], store=Racing(losses=99), clock=ManualClock(START))  # type: ignore[arg-type]
    engine.open("paused", "P-1", actor=SW)
    run = engine.run_timer("P-1", START + timedelta(days=8))
    assert run == TimerRun("P-1", "give_up", None, Outcome.SKIPPED, "assessment", "assessment")


class Moving:
    """A store where another worker moves the case right after the timer runner reads it."""

    def __init__(self, engine_of: list[Engine]) -> None:
        self.inner = InMemoryStore()
        self.engine_of = engine_of
        self.loads = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def load(self, case_id: str, **kw):  # type: ignore[no-untyped-def]
        snap = self.inner.load(case_id, **kw)
        self.loads += 1
        if self.loads == 1:
            self.engine_of[0].fire(case_id, "ask_family", actor=SW)
        return snap


def test_a_timer_is_not_fired_on_a_case_that_moved_after_it_was_read():
    holder: list[Engine] = []
    store = Moving(holder)
    engine = Engine([waiting_workflow()], store=store, clock=ManualClock(START))  # type: ignore[arg-type]
    holder.append(engine)
    engine.open("paused", "P-1", actor=SW)
    run = engine.run_timer("P-1", START + timedelta(days=8))
    assert run.outcome is Outcome.SKIPPED
    assert engine.get("P-1").state == "asking"
    assert [e.event for e in engine.trail("P-1")] == ["open", "ask_family"]
