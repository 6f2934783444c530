"""PostgreSQL: clear errors for a wrong DSN, and recovery when the server goes away."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from casework_flow import Actor, Engine, ManualClock, PostgresStore
from casework_flow.exceptions import StoreError
from casework_flow.stores import Query, _sql

from .conftest import START, load_example
from .stores import INDEXED_QUERIES, PG_DSN, due_by, pg_schema, require_pg

seed = load_example("medan_street_beggar")
WORKFLOW = seed.build_workflow()
WORKER = Actor("sw-017", {"social_worker"})


@pytest.fixture
def store() -> Iterator[PostgresStore]:
    with pg_schema() as dsn, PostgresStore(dsn) as s:
        yield s


def test_a_wrong_dsn_says_where_it_tried_without_the_password():
    require_pg()
    with pytest.raises(StoreError) as info:
        PostgresStore("postgresql://casework:s3cret@127.0.0.1:1/social", connect_timeout=2)
    text = str(info.value)
    assert "casework@127.0.0.1:1/social" in text
    assert "s3cret" not in text
    with pytest.raises(StoreError, match="could not connect"):
        PostgresStore(f"{PG_DSN.rsplit('/', 1)[0]}/no_such_database_here")
    with pytest.raises(StoreError):
        PostgresStore("this is not = a dsn = at all")


def test_the_schema_is_created_once_and_versioned(store: PostgresStore):
    assert store.schema_version == _sql.SCHEMA_VERSION
    assert repr(store).startswith("<PostgresStore PostgreSQL postgres@127.0.0.1:5432/test")


def _kill_backends(application_name: str) -> None:
    """Drop the connections of one store only: other tests may be using the database."""
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = %s",
            (application_name,),
        )


def test_a_lost_connection_is_a_clear_error_and_the_store_recovers():
    name = f"cw-victim-{uuid.uuid4().hex[:8]}"
    with pg_schema() as dsn, PostgresStore(f"{dsn}&application_name={name}") as store:
        _lose_and_recover(store, lambda: _kill_backends(name))


def _lose_and_recover(store: PostgresStore, kill: Callable[[], None]) -> None:
    engine = Engine([WORKFLOW], store=store, clock=ManualClock(START))
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    kill()
    with pytest.raises(StoreError, match="nothing was written, try again"):
        engine.fire(
            "C-1", "first_contact", actor=WORKER, data={"client_alias": "a", "found_at": "b"}
        )
    assert engine.get("C-1").revision == 1
    case = engine.fire(
        "C-1", "first_contact", actor=WORKER, data={"client_alias": "a", "found_at": "b"}
    )
    assert case.revision == 2
    assert engine.verify("C-1").ok


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.skipif(not Path("/etc/postgresql").is_dir(), reason="needs the machine's cluster")
def test_a_server_restart_loses_nothing(store: PostgresStore):
    if os.geteuid() != 0:
        pytest.skip("restarting the cluster needs root")
    engine = Engine([WORKFLOW], store=store, clock=ManualClock(START))
    for i in range(5):
        engine.open(seed.WORKFLOW, f"C-{i}", actor=WORKER)
    version = min(p.name for p in Path("/etc/postgresql").iterdir())
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )
    subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-t", "60"], check=True, timeout=90)
    with pytest.raises(StoreError):
        engine.get("C-0")
    assert [engine.get(f"C-{i}").revision for i in range(5)] == [1] * 5
    engine.fire("C-0", "first_contact", actor=WORKER, data={"client_alias": "a", "found_at": "b"})
    assert all(engine.verify(f"C-{i}").ok for i in range(5))


@pytest.mark.parametrize("query", INDEXED_QUERIES.values(), ids=INDEXED_QUERIES.keys())
def test_queries_can_be_served_by_indexes(store: PostgresStore, query: Query):
    plan = "\n".join(store.explain(query))
    assert "Index" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_an_older_schema_is_upgraded_without_losing_data():
    with pg_schema() as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE casework_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for statement in _sql.MIGRATIONS[0]:
                conn.execute(statement.format(big="BIGINT"))
            conn.execute("INSERT INTO casework_meta VALUES ('schema_version', '1')")
            clock = ManualClock(START)
            engine = Engine([WORKFLOW], clock=clock)
            seed.play(engine, clock)
            case, trail = engine.get(seed.CASE_ID), engine.trail(seed.CASE_ID)
            row = _sql.case_row(case, _sql.micros(trail[-1].at), trail[-1].head)
            conn.execute(
                "INSERT INTO casework_cases (id, workflow, version, state, revision, assignee,"
                " opened_at, changed_at, head_seq, head_hash, body)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                row[:11],
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO casework_entries (case_id, seq, body) VALUES (%s, %s, %s)",
                    [_sql.entry_row(e, 0)[:3] for e in trail],
                )
        with PostgresStore(dsn) as store:
            assert store.schema_version == _sql.SCHEMA_VERSION
            assert store.load(seed.CASE_ID).case == case
            assert tuple(store.trail(seed.CASE_ID)) == tuple(trail)
            snap = store.load(seed.CASE_ID)
            store.commit(due_by(snap.case, START), [], expected_revision=snap.case.revision)
            found = store.find(Query(due_before=START + timedelta(1))).cases
            assert [c.id for c in found] == [case.id]
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE casework_meta SET value = '99'")
        with pytest.raises(StoreError, match="schema version 99, newer than"):
            PostgresStore(dsn)
