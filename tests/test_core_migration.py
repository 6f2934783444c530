"""Migration and timer runs through the engine, pinned field by field."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from casework_flow import Engine, EntryKind, InvalidInput, ManualClock, State
from casework_flow.time import Outcome, TimerRun

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
