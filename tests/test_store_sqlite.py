"""SQLite: schema versions and upgrades, bad files, and queries served by indexes."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework_flow import Actor, Engine, InvalidInput, ManualClock, SQLiteStore, replay
from casework_flow.exceptions import StoreError
from casework_flow.stores import Query, _sql

from .conftest import START, load_example
from .stores import INDEXED_QUERIES, due_by

seed = load_example("medan_street_beggar")
WORKFLOW = seed.build_workflow()
WORKER = Actor("sw-017", {"social_worker"})


def test_a_new_file_gets_the_current_schema(tmp_path: Path):
    with SQLiteStore(tmp_path / "cases.sqlite3") as store:
        assert store.schema_version == _sql.SCHEMA_VERSION
        assert repr(store).startswith("<SQLiteStore ")
    conn = sqlite3.connect(tmp_path / "cases.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_older_schema_is_upgraded_without_losing_data(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE casework_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for statement in _sql.MIGRATIONS[0]:
        conn.execute(statement.format(big="INTEGER"))
    conn.execute("INSERT INTO casework_meta VALUES ('schema_version', '1')")
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock)
    seed.play(engine, clock)
    case, trail = engine.get(seed.CASE_ID), engine.trail(seed.CASE_ID)
    row = _sql.case_row(case, _sql.micros(trail[-1].at), trail[-1].head)
    conn.execute(
        "INSERT INTO casework_cases (id, workflow, version, state, revision, assignee, opened_at,"
        " changed_at, head_seq, head_hash, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row[:11],
    )
    conn.executemany(
        "INSERT INTO casework_entries (case_id, seq, body) VALUES (?, ?, ?)",
        (_sql.entry_row(e, 0)[:3] for e in trail),
    )
    conn.close()

    with SQLiteStore(path) as store:
        assert store.schema_version == _sql.SCHEMA_VERSION
        assert store.load(seed.CASE_ID).case == case
        assert tuple(store.trail(seed.CASE_ID)) == tuple(trail)
        assert replay(WORKFLOW, store.trail(seed.CASE_ID)) == case
        snap = store.load(seed.CASE_ID)
        due = datetime(2024, 9, 1, tzinfo=UTC)
        store.commit(due_by(snap.case, due), [], expected_revision=snap.case.revision)
        old = store.feed(limit=1000)
        assert [(i.position, i.entry) for i in old.items] == list(enumerate(trail, 1))
        engine = Engine([WORKFLOW], store=store, clock=clock)
        engine.open(WORKFLOW.name, "AFTER-1", actor=seed.OUTREACH, assignee=seed.WORKER.id)
        assert [i.position for i in store.feed(after=old.position).items] == [len(trail) + 1]
        assert [c.id for c in store.find(Query(due_before=due + timedelta(1))).cases] == [
            seed.CASE_ID
        ]


def test_a_file_that_is_not_sqlite_is_refused_clearly(tmp_path: Path):
    path = tmp_path / "cases.sqlite3"
    path.write_bytes(b"this is a spreadsheet, not a database\x00" * 200)
    with pytest.raises(StoreError, match="not a usable casework_flow database"):
        SQLiteStore(path)
    assert path.read_bytes().startswith(b"this is a spreadsheet")


def test_a_corrupted_database_is_reported_not_half_read(tmp_path: Path):
    path = tmp_path / "cases.sqlite3"
    with SQLiteStore(path) as store:
        engine = Engine([WORKFLOW], store=store, clock=ManualClock(START))
        for i in range(200):
            engine.open(seed.WORKFLOW, f"C-{i:04d}", actor=WORKER, data={"note": "x" * 200})
    raw = bytearray(path.read_bytes())
    for offset in range(4096, len(raw), 997):
        raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))

    def read_everything() -> None:
        with SQLiteStore(path) as store:
            for i in range(200):
                store.load(f"C-{i:04d}")
                store.trail(f"C-{i:04d}")

    with pytest.raises(StoreError) as info:
        read_everything()
    assert str(path) in str(info.value)


def test_a_foreign_database_is_left_alone(tmp_path: Path):
    path = tmp_path / "payroll.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE salaries (name TEXT, amount INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"belongs to something else \(tables: salaries\)"):
        SQLiteStore(path)
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["salaries"]


def test_a_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "cases.sqlite3"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE casework_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        SQLiteStore(path)


def test_bad_arguments(tmp_path: Path):
    with pytest.raises(InvalidInput, match="InMemoryStore"):
        SQLiteStore(":memory:")
    with pytest.raises(InvalidInput, match="synchronous"):
        SQLiteStore(tmp_path / "x.sqlite3", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="unable to open"):
        SQLiteStore(tmp_path / "no" / "such" / "folder" / "x.sqlite3")


@pytest.mark.parametrize("query", INDEXED_QUERIES.values(), ids=INDEXED_QUERIES.keys())
def test_queries_are_served_by_indexes(tmp_path: Path, query: Query):
    with SQLiteStore(tmp_path / "cases.sqlite3") as store:
        plan = " ".join(store.explain(query))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "SCAN casework_cases" not in plan.replace("USING INDEX", "")


def test_threads_share_one_file_safely(tmp_path: Path):
    with SQLiteStore(tmp_path / "cases.sqlite3") as store:
        engine = Engine([WORKFLOW], store=store, clock=ManualClock(START))
        errors: list[BaseException] = []

        def open_some(n: int) -> None:
            try:
                for i in range(20):
                    engine.open(seed.WORKFLOW, f"T{n}-{i}", actor=WORKER)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_some, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(store) == 80


def test_a_failure_names_what_the_store_was_doing(tmp_path: Path):
    path = tmp_path / "cases.sqlite3"
    store = SQLiteStore(path)
    assert len(store) == 0
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE casework_cases")
    for call, doing in [
        (lambda: len(store), "count cases failed"),
        (store.count_by_state, "count cases failed"),
        (store.find, "find cases failed"),
        (lambda: store.claim_timers(datetime(2024, 1, 1, tzinfo=UTC)), "claim due timers failed"),
        (lambda: store.load("C-1"), "load a case failed"),
    ]:
        with pytest.raises(StoreError, match=doing):
            call()
    store.close()


def test_a_stored_entry_that_is_not_json_is_a_store_error_naming_the_case(tmp_path: Path):
    path = tmp_path / "cases.sqlite3"
    store = SQLiteStore(path)
    Engine([WORKFLOW], store=store, clock=ManualClock(START)).open(
        WORKFLOW.name, "C-1", actor=Actor("sw-1", {"social_worker"})
    )
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE casework_entries SET body = 'not json' WHERE case_id = 'C-1'")
    with pytest.raises(StoreError, match=r"stored entry 1 of C-1 cannot be read: .*not JSON"):
        store.trail("C-1")
    store.close()
