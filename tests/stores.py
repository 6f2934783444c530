"""Store factories for the tests: in-memory, SQLite in a temporary folder, PostgreSQL.

PostgreSQL is found through CASEWORK_TEST_PG_DSN (default: the local test database).
Each store gets a schema of its own, dropped afterwards. When PostgreSQL cannot be
reached the PostgreSQL tests are skipped, except under CI (CI set), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import attrs
import psycopg
import pytest

from casework_flow import Case, InMemoryStore, PostgresStore, SQLiteStore
from casework_flow.stores import Query, Store
from casework_flow.time import DeadlineClock

PG_DSN = os.environ.get("CASEWORK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
UNDER_CI = bool(os.environ.get("CI"))


def pg_available() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it can."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_DSN} is not reachable: {exc}"
    return None


def require_pg() -> None:
    """Skip (or fail under CI) when PostgreSQL is not reachable."""
    why = pg_available()
    if why is not None:
        if UNDER_CI:
            pytest.fail(why)
        pytest.skip(why)


@contextmanager
def pg_schema() -> Iterator[str]:
    """Create a fresh schema; yield a DSN whose search_path is that schema."""
    require_pg()
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in PG_DSN else "?"
    try:
        yield f"{PG_DSN}{sep}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


@contextmanager
def make_store(kind: str, tmp: Path) -> Iterator[Store]:
    """Yield a new, empty store of ``kind``: memory, sqlite or postgres."""
    if kind == "memory":
        yield InMemoryStore()
    elif kind == "sqlite":
        with SQLiteStore(tmp / f"{uuid.uuid4().hex}.sqlite3") as store:
            yield store
    else:
        with pg_schema() as dsn, PostgresStore(dsn) as store:
            yield store


KINDS = ["memory", "sqlite", "postgres"]

START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)
INDEXED_QUERIES = {
    "state": Query(state="engaged"),
    "workflow": Query(workflow="street-beggar-family-conflict", version=1, state="engaged"),
    "assignee": Query(assignee="sw-017"),
    "opened": Query(opened=(START, START + timedelta(days=1))),
    "changed": Query(changed=(START, START + timedelta(days=1))),
    "due": Query(due_before=START),
    "timers": Query(timers_due=START),
    "unit": Query(unit="upt-binjai"),
    "units": Query(units={"upt-binjai", "dinsos-medan"}),
    "due soon": Query(due=(START, START + timedelta(days=3))),
    "idle": Query(idle_since=START, states={"reported", "engaged", "assessment"}),
    "awaiting": Query(awaiting_roles={"supervisor"}, not_requested_by="spv-002"),
}
"""One query of each kind a case system makes, to check index use."""
Factory = Callable[[], Store]


def due_by(case: Case, due: datetime | None) -> Case:
    """The case with a running deadline that falls due at ``due`` (none for None)."""
    if due is None:
        return attrs.evolve(case, deadline=None)
    clock = DeadlineClock(case.state, case.opened_at, timedelta(0), case.opened_at, due)
    return attrs.evolve(case, deadline=clock)


def run_killed(script: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Run ``script`` in a child Python that prints ``ready`` and then SIGKILLs itself.

    Fails unless the child died of SIGKILL right after saying ``ready`` (so everything
    it did before was cut off before its commit).
    """
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout == "ready\n"
