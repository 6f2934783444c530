"""A log of who read which personal fields, kept outside the cases' hash chains.

A workflow with ``log_personal_reads`` logs every read that shows personal fields. By
default the log is the case's own trail (a ``viewed`` entry); a host that would rather
keep reads out of the trail gives the engine an access log (``Engine(access_log=...)``),
a table of its own. A read whose record cannot be written is not shown: every
disclosure is logged, or none is made.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from attrs import frozen

from .exceptions import InvalidInput, StoreError, first_line

if TYPE_CHECKING:
    from psycopg import Cursor

__all__ = ["Access", "AccessLog", "InMemoryAccessLog", "PostgresAccessLog", "SQLiteAccessLog"]

T = TypeVar("T")


@frozen
class Access:
    """One read that showed personal fields.

    Attributes:
        case_id: The case read.
        at: When.
        actor_id: Who read it.
        roles: The roles they read it with, sorted.
        fields: The personal fields shown, sorted.
        purpose: Why, as the reader said.
    """

    case_id: str
    at: datetime
    actor_id: str
    roles: tuple[str, ...]
    fields: tuple[str, ...]
    purpose: str | None = None


@runtime_checkable
class AccessLog(Protocol):
    """Where reads of personal fields are logged, outside the hash chain."""

    def record(self, access: Access) -> None:
        """Keep the record of one read (raise if it cannot be kept)."""
        ...

    def reads(self, case_id: str) -> tuple[Access, ...]:
        """Every read of the case, oldest first."""
        ...


class InMemoryAccessLog:
    """Reads kept in this process (for tests)."""

    def __init__(self) -> None:
        self._reads: list[Access] = []
        self._lock = threading.Lock()

    def record(self, access: Access) -> None:
        """Keep the record of one read."""
        with self._lock:
            self._reads.append(access)

    def reads(self, case_id: str) -> tuple[Access, ...]:
        """Every read of the case, oldest first."""
        with self._lock:
            return tuple(a for a in self._reads if a.case_id == case_id)


_TABLE = (
    "CREATE TABLE IF NOT EXISTS casework_access_log ("
    " case_id TEXT NOT NULL, at TEXT NOT NULL, actor_id TEXT NOT NULL,"
    " roles TEXT NOT NULL, fields TEXT NOT NULL, purpose TEXT)"
)
_INDEX = "CREATE INDEX IF NOT EXISTS casework_access_log_case ON casework_access_log (case_id, at)"


def _row(a: Access) -> tuple[str, str, str, str, str, str | None]:
    return (a.case_id, a.at.isoformat(), a.actor_id, ",".join(a.roles), ",".join(a.fields),
            a.purpose)  # fmt: skip


def _access(row: tuple[Any, ...]) -> Access:
    case_id, at, actor_id, roles, fields, purpose = row
    return Access(case_id, datetime.fromisoformat(at), actor_id,
                  tuple(r for r in roles.split(",") if r), tuple(f for f in fields.split(",") if f),
                  purpose)  # fmt: skip


class SQLiteAccessLog:
    """Reads kept in a table of an SQLite file (the cases' own, or another).

    Args:
        path: The database file; a table ``casework_access_log`` is made in it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with self._db() as db:
            db.execute(_TABLE)
            db.execute(_INDEX)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the access log: {exc}") from None
        try:
            yield db
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: the access log failed: {exc}") from None
        finally:
            db.close()

    def record(self, access: Access) -> None:
        """Keep the record of one read."""
        with self._db() as db:
            db.execute("INSERT INTO casework_access_log VALUES (?, ?, ?, ?, ?, ?)", _row(access))

    def reads(self, case_id: str) -> tuple[Access, ...]:
        """Every read of the case, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM casework_access_log WHERE case_id = ? ORDER BY at, rowid",
                (case_id,),
            ).fetchall()
        return tuple(_access(r) for r in rows)


class PostgresAccessLog:
    """Reads kept in a PostgreSQL table (needs the ``postgres`` extra).

    Args:
        dsn: Where the table is (``postgresql://...``); it is made if missing.
    """

    def __init__(self, dsn: str) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise InvalidInput("dsn", "give the database's DSN (postgresql://...)")
        self._dsn = dsn
        self._run(lambda cur: cur.execute(_TABLE.replace("TEXT", "text")).rowcount)
        self._run(lambda cur: cur.execute(_INDEX).rowcount)

    def _run(self, work: Callable[[Cursor[Any]], T]) -> T:
        import psycopg  # noqa: PLC0415 - the postgres extra

        try:
            with psycopg.connect(self._dsn) as conn, conn.cursor() as cur:
                out = work(cur)
                conn.commit()
                return out
        except psycopg.Error as exc:
            first = first_line(exc)
            raise StoreError(f"the access log failed: {first}") from None

    def record(self, access: Access) -> None:
        """Keep the record of one read."""
        self._run(
            lambda cur: (
                cur.execute(
                    "INSERT INTO casework_access_log VALUES (%s, %s, %s, %s, %s, %s)", _row(access)
                ).rowcount
            )
        )

    def reads(self, case_id: str) -> tuple[Access, ...]:
        """Every read of the case, oldest first."""

        def fetch(cur: Cursor[Any]) -> list[tuple[Any, ...]]:
            cur.execute(
                "SELECT case_id, at, actor_id, roles, fields, purpose FROM casework_access_log"
                " WHERE case_id = %s ORDER BY at, ctid",
                (case_id,),
            )
            return cur.fetchall()

        return tuple(_access(r) for r in self._run(fetch))
