"""The threading model: one engine and one store shared by many threads.

An `Engine` and its store may be shared by every thread of a host (a web server's pool):
each call borrows what it needs (a pooled PostgreSQL connection, the calling thread's
own SQLite connection) and gives nothing back half-used. The tests hold that under 16
threads: every step lands exactly once, trails verify, and the connections stay
bounded even when the threads come and go.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from casework_flow import ConcurrentModification, Engine, ManualClock, PostgresStore, seed
from casework_flow.exceptions import CaseExists, StoreError

from . import stores
from .conftest import START

THREADS = 16


def _play(engine: Engine, n: int) -> int:
    """Open a case and record on it; a few cases are shared, so some commits clash."""
    case_id = f"T-{n % 4}" if n % 2 else f"T-own-{n}"
    with contextlib.suppress(CaseExists):  # a shared case another thread opened first
        engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
    done = 0
    for _ in range(5):
        try:
            engine.record(case_id, "home_visit", actor=seed.WORKER)
            done += 1
        except ConcurrentModification:
            continue
    return done


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_sixteen_threads_share_one_engine(kind, tmp_path, seed_workflow):
    with stores.make_store(kind, tmp_path) as store:
        engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
        with ThreadPoolExecutor(THREADS) as pool:
            recorded = sum(pool.map(lambda n: _play(engine, n), range(THREADS * 4)))
        result = engine.verify_store()
        assert result.ok, result.broken
        entries = sum(len(engine.trail(c)) for c, _ in store.heads())
        assert entries == result.checked + recorded


def test_threads_that_come_and_go_leave_no_postgres_connection_behind(seed_workflow):
    name = f"cw-threads-{uuid.uuid4().hex[:8]}"
    with (
        stores.pg_schema() as dsn,
        PostgresStore(f"{dsn}&application_name={name}", max_size=4) as store,
    ):
        engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
        for wave in range(6):
            threads = [
                threading.Thread(target=_play, args=(engine, wave * THREADS + n))
                for n in range(THREADS)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert _connections(name) <= 4
    assert _connections(name) == 0


def _connections(application_name: str) -> int:
    with psycopg.connect(stores.PG_DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_an_exhausted_pool_is_a_clear_error_after_its_timeout_not_a_hang(seed_workflow):
    with stores.pg_schema() as dsn, PostgresStore(dsn, max_size=1, pool_timeout=0.5) as store:
        engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
        with (
            store.pool.connection(),
            pytest.raises(
                StoreError,
                match=r"no connection was free within 0.5 s \(the pool holds at most 1\)",
            ),
        ):
            engine.open(seed.WORKFLOW, "P-1", actor=seed.OUTREACH)
        engine.open(seed.WORKFLOW, "P-1", actor=seed.OUTREACH)
        assert len(engine.trail("P-1")) == 1


def test_a_host_pool_is_borrowed_from_and_left_open(seed_workflow):
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    with stores.pg_schema() as dsn:
        with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as host_pool:
            with PostgresStore(pool=host_pool) as store:
                engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
                engine.open(seed.WORKFLOW, "H-1", actor=seed.OUTREACH)
            assert not host_pool.closed
            with host_pool.connection() as conn:
                assert conn.execute("SELECT count(*) FROM casework_cases").fetchone() == (1,)
        with pytest.raises(Exception, match="give a DSN or a pool"):
            PostgresStore()


def test_a_step_on_a_host_pool_without_autocommit_is_committed(seed_workflow):
    """A step is one statement; on a connection that is not in autocommit it still commits."""
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    with stores.pg_schema() as dsn:
        plain = {"autocommit": False}
        with (
            ConnectionPool(dsn, min_size=1, max_size=1, kwargs=plain) as pool,
            PostgresStore(pool=pool) as store,
        ):
            engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
            engine.open(seed.WORKFLOW, "H-2", actor=seed.OUTREACH, assignee=seed.WORKER.id)
            seed.take(engine, "H-2", seed.HAPPY_PATH[0])
        with PostgresStore(dsn) as fresh:
            assert len(fresh.trail("H-2")) == 2
            assert [i.position for i in fresh.feed().items] == [1, 2]
