"""What an SQL store remembers of a trail never stands in for what the database holds.

Each store keeps the last trail it read or wrote per case, with its head; these tests
change the database behind it (another store's steps, a rolled-back joined step, a
rewritten chain) and check that the guards still count what is really there.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework_flow import Engine, ManualClock, SQLiteStore, seed
from casework_flow._audit import AuditEntry
from casework_flow.exceptions import TransitionRejected
from casework_flow.stores._remembered import Lru, Trails

from .conftest import START

ATTEMPT = {"contact_method": "phone", "contact_outcome": "no answer"}
TO_FAMILY_WORK = seed.HAPPY_PATH[:5]


def _engine(store, clock: ManualClock) -> Engine:
    return Engine([seed.build_workflow()], store=store, clock=clock, calendar=seed.CALENDAR)


def _to_family_work(engine: Engine, clock: ManualClock, case_id: str) -> None:
    engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
    for step in TO_FAMILY_WORK:
        clock.advance(timedelta(days=step[-1], hours=1))
        seed.take(engine, case_id, step)


def _attempt(engine: Engine, case_id: str) -> None:
    clock = engine._clock
    assert isinstance(clock, ManualClock)
    clock.advance(days=4)
    engine.fire(case_id, "record_contact_attempt", actor=seed.WORKER, data=ATTEMPT)


def _unresponsive(engine: Engine, case_id: str) -> None:
    engine.fire(
        case_id, "family_unresponsive", actor=seed.WORKER, reason_code="FAMILY_UNRESPONSIVE"
    )


def test_steps_of_another_store_are_counted(tmp_path):
    clock = ManualClock(START)
    path = tmp_path / "cases.sqlite3"
    with SQLiteStore(path) as first_store, SQLiteStore(path) as second_store:
        first, second = _engine(first_store, clock), _engine(second_store, clock)
        _to_family_work(first, clock, "R-1")
        _attempt(first, "R-1")
        with pytest.raises(TransitionRejected, match="1 time"):
            _unresponsive(first, "R-1")
        _attempt(second, "R-1")
        _attempt(second, "R-1")
        _unresponsive(first, "R-1")
        assert first.get("R-1").state == "case_conference"


def test_a_rolled_back_joined_step_is_not_counted(tmp_path):
    clock = ManualClock(START)
    path = tmp_path / "cases.sqlite3"
    with SQLiteStore(path) as store:
        engine = _engine(store, clock)
        _to_family_work(engine, clock, "R-2")
        _attempt(engine, "R-2")
        _attempt(engine, "R-2")
    host = sqlite3.connect(path)
    try:
        joined = engine.using(SQLiteStore.joining(host))
        _attempt(joined, "R-2")
        host.rollback()
        with pytest.raises(TransitionRejected, match="2 times"):
            _unresponsive(joined, "R-2")
        host.rollback()
        _attempt(joined, "R-2")
        _unresponsive(joined, "R-2")
        host.commit()
    finally:
        host.close()
    with SQLiteStore(path) as store:
        assert [e.event for e in store.trail("R-2")].count("record_contact_attempt") == 3


def test_a_chain_rewritten_behind_the_store_is_read_afresh(tmp_path):
    clock = ManualClock(START)
    path = tmp_path / "cases.sqlite3"
    with SQLiteStore(path) as store:
        engine = _engine(store, clock)
        _to_family_work(engine, clock, "R-3")
        _attempt(engine, "R-3")
        before = engine.trail("R-3")
        _attempt(engine, "R-3")
        _attempt(engine, "R-3")
        with sqlite3.connect(path) as raw:
            # Back to the head after the first attempt, as a restore from a backup would.
            raw.execute(
                "DELETE FROM casework_entries WHERE case_id = 'R-3' AND seq > ?", (len(before),)
            )
            raw.execute(
                "UPDATE casework_cases SET head_seq = ?, head_hash = ? WHERE id = 'R-3'",
                (before[-1].seq, before[-1].hash),
            )
        with pytest.raises(TransitionRejected, match="1 time"):
            _unresponsive(engine, "R-3")


def _entry(seq: int, prev: str) -> AuditEntry:
    return AuditEntry.from_json(
        {
            "format": 2,
            "case_id": "C",
            "seq": seq,
            "kind": "recorded",
            "at": "2024-03-04T00:00:00+00:00",
            "actor": {"id": "sw", "roles": []},
            "event": "note",
            "from": "a",
            "to": "a",
            "reason": None,
            "reason_code": None,
            "changes": [],
            "evidence": {},
            "verdicts": [],
            "workflow": "w",
            "workflow_version": 1,
            "assignee": None,
            "prev_hash": prev,
            "hash": f"h{seq}-{prev}",
        }
    )


def _chain(length: int, fork: str = "") -> tuple[AuditEntry, ...]:
    out: list[AuditEntry] = []
    for seq in range(1, length + 1):
        out.append(_entry(seq, out[-1].hash if out else fork))
    return tuple(out)


@given(
    kept=st.integers(0, 6),
    stored=st.integers(1, 6),
    forked=st.booleans(),
)
def test_what_is_remembered_is_given_only_when_the_store_holds_it(kept, stored, forked):
    database = _chain(stored, fork="x" if forked else "")
    trails = Trails()
    if kept:
        trails.extend("C", _chain(kept))
    reads: list[str] = []

    def after(seq: int) -> tuple[AuditEntry, ...]:
        reads.append("after")
        return tuple(e for e in database if e.seq > seq)

    def everything() -> tuple[AuditEntry, ...]:
        reads.append("all")
        return database

    got = trails.upto("C", database[-1].head, after, everything)
    assert got == database, "whatever was remembered, the answer is what the store holds"
    if kept and not forked and kept <= stored:
        assert "all" not in reads, "a remembered prefix of the same chain is not read again"
    again: list[str] = []
    assert trails.upto("C", database[-1].head, after, lambda: again.append("x") or ()) == database
    assert again == []


def test_the_lru_forgets_the_least_recently_used():
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)
    assert len(lru) == 2
