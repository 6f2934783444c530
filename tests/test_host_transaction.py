"""Steps inside the host's own transaction: the host's rows and the step commit together."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from casework_flow import Engine, ManualClock, PostgresStore, SQLiteStore, seed
from casework_flow.exceptions import InvalidInput, StoreError, TransitionRejected
from casework_flow.stores import AfterCommit

from .conftest import START
from .stores import pg_schema, run_killed

NOTES = "CREATE TABLE visit_notes (case_id TEXT, note TEXT)"


@contextmanager
def _host(kind: str, tmp_path: Path) -> Iterator[tuple[Any, Callable[[], Any], str]]:
    """(the host's open connection, a way to open another, the DSN or path)."""
    if kind == "sqlite":
        path = tmp_path / "host.sqlite3"
        SQLiteStore(path).close()
        with sqlite3.connect(path) as setup:
            setup.execute(NOTES)
        conn = sqlite3.connect(path)
        try:
            yield conn, lambda: sqlite3.connect(path), str(path)
        finally:
            conn.close()
    else:
        with pg_schema() as dsn:
            PostgresStore(dsn).close()
            with psycopg.connect(dsn, autocommit=True) as setup:
                setup.execute(NOTES)
            with psycopg.connect(dsn) as conn:
                yield conn, lambda: psycopg.connect(dsn), dsn


def _joined(kind: str, conn: Any) -> Any:
    return SQLiteStore.joining(conn) if kind == "sqlite" else PostgresStore.joining(conn)


def _count(other: Callable[[], Any], sql: str) -> int:
    conn = other()
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_hosts_row_and_the_step_commit_together_and_listeners_wait(
    kind, tmp_path, seed_workflow
):
    with _host(kind, tmp_path) as (conn, other, _):
        app = Engine([seed_workflow], clock=ManualClock(START))
        heard: list[str] = []
        app.on_commit(lambda c: heard.append(c.after.id))
        later = AfterCommit()
        engine = app.using(_joined(kind, conn), after_commit=later)
        engine.open(seed.WORKFLOW, "H-1", actor=seed.OUTREACH, assignee=seed.WORKER.id)
        engine.record("H-1", "home_visit", actor=seed.WORKER)
        mark = "?" if kind == "sqlite" else "%s"
        conn.execute(f"INSERT INTO visit_notes VALUES ({mark}, {mark})", ("H-1", "away"))  # noqa: S608
        assert _count(other, "SELECT count(*) FROM casework_entries") == 0, (
            "nothing before the commit"
        )
        assert heard == []
        conn.commit()
        later.run()
        assert heard == ["H-1", "H-1"]
        assert _count(other, "SELECT count(*) FROM casework_entries") == 2
        assert _count(other, "SELECT count(*) FROM visit_notes") == 1
        assert engine.verify("H-1").ok


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_failure_after_the_step_leaves_neither(kind, tmp_path, seed_workflow):
    with _host(kind, tmp_path) as (conn, other, _):
        later = AfterCommit()
        engine = Engine([seed_workflow], clock=ManualClock(START)).using(
            _joined(kind, conn), after_commit=later
        )
        engine.open(seed.WORKFLOW, "H-2", actor=seed.OUTREACH)
        mark = "?" if kind == "sqlite" else "%s"
        conn.execute(f"INSERT INTO visit_notes VALUES ({mark}, {mark})", ("H-2", "note"))  # noqa: S608
        conn.rollback()
        later.discard()
        assert len(later) == 0
        assert _count(other, "SELECT count(*) FROM casework_cases") == 0
        assert _count(other, "SELECT count(*) FROM visit_notes") == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_refusal_inside_the_hosts_transaction_keeps_the_hosts_work(kind, tmp_path, seed_workflow):
    with _host(kind, tmp_path) as (conn, other, _):
        engine = Engine([seed_workflow], clock=ManualClock(START)).using(_joined(kind, conn))
        engine.open(seed.WORKFLOW, "H-3", actor=seed.OUTREACH)
        with pytest.raises(TransitionRejected):
            engine.fire("H-3", "terminate", actor=seed.WORKER)
        engine.record("H-3", "home_visit", actor=seed.WORKER)
        conn.commit()
        trail = engine.trail("H-3")
        assert [e.kind.value for e in trail] == ["opened", "refused", "recorded"]
        assert _count(other, "SELECT count(*) FROM casework_entries") == 3


def test_a_failed_host_transaction_is_named_and_nothing_is_written(tmp_path, seed_workflow):
    with _host("postgres", tmp_path) as (conn, other, _):
        engine = Engine([seed_workflow], clock=ManualClock(START)).using(
            PostgresStore.joining(conn)
        )
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM no_such_table")
        with pytest.raises(StoreError, match="the host's transaction has failed; roll it back"):
            engine.open(seed.WORKFLOW, "H-4", actor=seed.OUTREACH)
        conn.rollback()
        engine.open(seed.WORKFLOW, "H-4", actor=seed.OUTREACH)
        conn.commit()
        assert _count(other, "SELECT count(*) FROM casework_cases") == 1


def test_what_cannot_be_joined_is_refused_in_words(tmp_path):
    with pg_schema() as dsn:
        PostgresStore(dsn).close()
        with (
            psycopg.connect(dsn, autocommit=True) as auto,
            pytest.raises(InvalidInput, match="autocommit"),
        ):
            PostgresStore.joining(auto)
    with (
        pg_schema() as dsn,
        psycopg.connect(dsn) as bare,
        pytest.raises(StoreError, match="version 0,"),
    ):
        PostgresStore.joining(bare)
    with pytest.raises(StoreError, match="schema version 0"):
        SQLiteStore.joining(sqlite3.connect(tmp_path / "empty.sqlite3"))
    with pytest.raises(InvalidInput, match=r"expected an sqlite3\.Connection"):
        SQLiteStore.joining("cases.db")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="expected a psycopg Connection"):
        PostgresStore.joining(sqlite3.connect(tmp_path / "other.sqlite3"))  # type: ignore[arg-type]


def test_a_closed_or_busy_host_connection_is_named(tmp_path, seed_workflow):
    with _host("postgres", tmp_path) as (conn, other, _):
        engine = Engine([seed_workflow], clock=ManualClock(START)).using(
            PostgresStore.joining(conn)
        )
        rows = conn.cursor().stream("SELECT generate_series(1, 100000)")
        next(rows)
        with pytest.raises(StoreError, match="busy with a query"):
            engine.open(seed.WORKFLOW, "H-9", actor=seed.OUTREACH)
        rows.close()
        conn.rollback()
        conn.close()
        with pytest.raises(StoreError, match="closed or broken"):
            engine.open(seed.WORKFLOW, "H-9", actor=seed.OUTREACH)
        assert _count(other, "SELECT count(*) FROM casework_cases") == 0


KILLED = textwrap.dedent(
    """
    import os, signal, sys, sqlite3
    from datetime import UTC, datetime
    from casework_flow import Engine, ManualClock, PostgresStore, SQLiteStore, seed
    kind, where = sys.argv[1], sys.argv[2]
    if kind == "sqlite":
        conn = sqlite3.connect(where)
        store, mark = SQLiteStore.joining(conn), "?"
    else:
        import psycopg
        conn = psycopg.connect(where)
        store, mark = PostgresStore.joining(conn), "%s"
    engine = Engine([seed.build_workflow()], clock=ManualClock(datetime(2024, 3, 4, tzinfo=UTC)))
    engine = engine.using(store)
    conn.execute(f"INSERT INTO visit_notes VALUES ({mark}, {mark})", ("K-1", "note"))
    engine.open(seed.WORKFLOW, "K-1", actor=seed.OUTREACH)
    engine.record("K-1", "home_visit", actor=seed.WORKER)
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_killing_the_process_before_the_hosts_commit_leaves_neither(kind, tmp_path):
    with _host(kind, tmp_path) as (_, other, where):
        run_killed(KILLED, kind, where)
        assert _count(other, "SELECT count(*) FROM casework_cases") == 0
        assert _count(other, "SELECT count(*) FROM casework_entries") == 0
        assert _count(other, "SELECT count(*) FROM visit_notes") == 0
