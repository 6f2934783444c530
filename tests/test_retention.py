"""Retention: personal data kept so long after a case closes, then erased exactly once.

A neglected child's case keeps its personal values five calendar years after it closes
(``retention: {keep: P5Y, erase: true}``); the scheduler's `Engine.run_retention` then
erases them as the system actor, once, however many schedulers run at the same time. A
workflow that does not erase on its own lists the case as due, for two people to erase.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from casework_flow import Actor, Engine, ManualClock, State, Transition, Workflow
from casework_flow.exceptions import WorkflowError
from casework_flow.files import loads_workflow, workflow_from_dict, workflow_to_dict
from casework_flow.keys import ERASED, InMemoryKeyStore
from casework_flow.time import Retention

from .stores import make_store

CLOSED_AT = datetime(2024, 2, 29, 9, 0, tzinfo=UTC)
SW = Actor("sw-017", {"social_worker"})
CHILD = Workflow(
    name="neglected-child",
    version=1,
    initial="reported",
    personal={"child_name"},
    retention=Retention(years=5, erase=True),
    states=[State("reported"), State("closed", terminal=True)],
    transitions=[Transition("close", source="reported", dest="closed", roles={"social_worker"})],
)


def _closed(engine: Engine, case_id: str = "C-1") -> str:
    engine.open(CHILD.name, case_id, actor=SW, data={"child_name": "Siti"})
    engine.fire(case_id, "close", actor=SW)
    return case_id


def test_five_calendar_years_after_closing_the_values_are_erased_once():
    clock = ManualClock(CLOSED_AT)
    keys = InMemoryKeyStore(os.urandom(32))
    engine = Engine([CHILD], clock=clock, keys=keys)
    case_id = _closed(engine)
    assert CHILD.retention is not None
    assert CHILD.retention.due(CLOSED_AT) == datetime(2029, 2, 28, 9, 0, tzinfo=UTC)
    clock.set(datetime(2029, 2, 28, 8, 59, tzinfo=UTC))
    assert engine.run_retention().erased == ()
    assert engine.get(case_id).data["child_name"] == "Siti"
    clock.set(datetime(2029, 2, 28, 9, 0, tzinfo=UTC))
    report = engine.run_retention()
    assert report.erased == (case_id,)
    assert engine.get(case_id).data["child_name"] == ERASED
    last = engine.trail(case_id)[-1]
    assert (last.kind.value, last.actor_id, last.details["retention_due"]) == (
        "erased", "system", "2029-02-28T09:00:00+00:00",
    )  # fmt: skip
    assert engine.run_retention().erased == ()
    assert [e.kind.value for e in engine.trail(case_id)].count("erased") == 1
    assert engine.verify(case_id).ok


def test_a_workflow_that_does_not_erase_on_its_own_lists_the_case_as_due():
    clock = ManualClock(CLOSED_AT)
    kept = attrs.evolve(CHILD, retention=Retention(more=timedelta(days=90)))
    engine = Engine([kept], clock=clock, keys=InMemoryKeyStore(os.urandom(32)))
    case_id = _closed(engine)
    clock.advance(days=91)
    report = engine.run_retention()
    assert (report.erased, report.due) == ((), (case_id,))
    assert engine.get(case_id).data["child_name"] == "Siti"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_schedulers_running_at_once_erase_each_case_exactly_once(kind, tmp_path: Path):
    keys = InMemoryKeyStore(os.urandom(32))
    with make_store(kind, tmp_path) as shared:
        clock = ManualClock(CLOSED_AT)
        engines = [Engine([CHILD], store=shared, clock=clock, keys=keys) for _ in range(3)]
        ids = [_closed(engines[0], f"C-{i}") for i in range(5)]
        clock.set(datetime(2030, 1, 1, tzinfo=UTC))
        start = threading.Barrier(len(engines))
        erased: list[str] = []

        def run(engine: Engine) -> None:
            start.wait()
            erased.extend(engine.run_retention().erased)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(erased) == sorted(ids)
        for case_id in ids:
            kinds = [e.kind.value for e in engines[0].trail(case_id)]
            assert kinds.count("erased") == 1, kinds
            assert "refused" not in kinds


def test_retention_in_a_file_round_trips_and_a_bad_one_names_its_place():
    doc = workflow_to_dict(CHILD)
    assert doc["retention"] == {"keep": "P5Y", "erase": True}
    assert workflow_from_dict(doc).retention == CHILD.retention
    mixed = attrs.evolve(CHILD, retention=Retention(years=1, more=timedelta(weeks=6)))
    assert workflow_to_dict(mixed)["retention"] == {"keep": "P1Y42D"}
    assert workflow_from_dict(workflow_to_dict(mixed)).retention == mixed.retention
    text = """
name: x
version: 1
initial: a
personal: [n]
retention: {keep: P0D}
states: [{id: a}, {id: b, terminal: true}]
transitions: [{event: go, source: a, dest: b}]
"""
    with pytest.raises(WorkflowError, match=r"retention.keep: retention must keep data"):
        loads_workflow(text, "yaml")
    with pytest.raises(WorkflowError, match=r"retention.keep"):
        loads_workflow(text.replace("P0D", "five years"), "yaml")
