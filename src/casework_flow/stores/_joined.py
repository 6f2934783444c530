"""Stores on the host's own connection: a step joins the host's transaction.

A host that writes its own rows (a visit note) and fires a transition wants both to
commit or roll back together. `SQLiteStore.joining(conn)` and `PostgresStore.joining(conn)`
give a store that never commits: each step runs in a savepoint inside the transaction
the host has open on ``conn`` (opening it if none is), and the host's commit or rollback
decides. Listeners should wait for that commit: pass the joined store to `Engine.using`
with an ``after_commit`` such as `AfterCommit`.

The store asks a *source* for the connection on every call, so an adapter can hand it
whatever connection the host's unit of work holds now (a SQLAlchemy session's, a Django
thread's). The tables must exist already (made by a `SQLiteStore`/`PostgresStore` on the
database, or by the host's migrations); a joined store never changes the schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInput, StoreError
from . import _sql
from ._postgres import PostgresStore, _where
from ._sqlite import SQLiteStore

try:
    import psycopg
except ImportError:  # pragma: no cover - exercised only without the extra installed
    psycopg = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["AfterCommit", "JoinedPostgresStore", "JoinedSQLiteStore"]

_SAVEPOINT = "casework_step"


class AfterCommit:
    """Collects what is to run after the host's commit; the host calls `run` then.

    >>> later = AfterCommit()
    >>> later(lambda: print("notified"))
    >>> later.run()
    notified
    >>> len(later)
    0
    """

    def __init__(self) -> None:
        self._waiting: list[Callable[[], None]] = []

    def __call__(self, run: Callable[[], None]) -> None:
        """Keep ``run`` until `run` (after a commit) or `discard` (after a rollback)."""
        self._waiting.append(run)

    def __len__(self) -> int:
        return len(self._waiting)

    def run(self) -> None:
        """Run everything kept, in order, and forget it. Call it after the host commits."""
        waiting, self._waiting = self._waiting, []
        for run in waiting:
            run()

    def discard(self) -> None:
        """Forget everything kept. Call it after the host rolls back."""
        self._waiting = []


def _check_schema(version: int, where: str) -> None:
    if version != _sql.SCHEMA_VERSION:
        msg = (
            f"{where} has casework_flow schema version {version}, this library needs"
            f" {_sql.SCHEMA_VERSION}: create or upgrade the tables first (open a store on"
            " the database once, or run the host's migrations); a joined store never"
            " changes the schema"
        )
        raise StoreError(msg)


class JoinedSQLiteStore(SQLiteStore):
    """An `SQLiteStore` on the host's `sqlite3.Connection`, inside the host's transaction.

    Args:
        source: Gives the host's connection for each call.
        where: How errors name the database.
    """

    def __init__(self, source: Callable[[], sqlite3.Connection], *, where: str) -> None:
        self._source = source
        self.path = Path(where)
        self._where = f"{where} (the host's connection)"
        self._checked = False

    @classmethod
    def on(cls, conn: sqlite3.Connection) -> JoinedSQLiteStore:
        """The store on one connection, its schema checked now."""
        if not isinstance(conn, sqlite3.Connection):
            raise InvalidInput("conn", f"expected an sqlite3.Connection, got {conn!r}")
        try:
            rows = conn.execute("PRAGMA database_list").fetchall()
        except sqlite3.ProgrammingError as exc:
            raise StoreError(f"the host's SQLite connection cannot be used: {exc}") from None
        store = cls(lambda: conn, where=rows[0][2] or ":memory:")
        store.check_schema()
        return store

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._where!r}>"

    def close(self) -> None:
        """Nothing to close: the connection is the host's."""

    def check_schema(self) -> None:
        """Raise `StoreError` unless the tables exist at this library's schema version."""
        with self._errors("read the schema version"):
            conn = self._source()
            found = conn.execute(
                "SELECT name FROM sqlite_master WHERE name = 'casework_meta'"
            ).fetchone()
            _check_schema(_sql.stored_version(conn) if found else 0, self._where)
        self._checked = True

    def _conn(self) -> sqlite3.Connection:
        if not self._checked:
            self.check_schema()
        return self._source()

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._errors(doing):
            conn = self._conn()
            if not conn.in_transaction:
                conn.execute("BEGIN")
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
                raise
            conn.execute(f"RELEASE {_SAVEPOINT}")


class JoinedPostgresStore(PostgresStore):
    """A `PostgresStore` on the host's psycopg connection, inside the host's transaction.

    Args:
        source: Gives the host's connection for each call.
        where: How errors name the database (a DSN; its password is never shown).
    """

    def __init__(self, source: Callable[[], Connection[Any]], *, where: str) -> None:
        if psycopg is None:  # pragma: no cover - without the extra
            raise StoreError("a PostgreSQL store needs psycopg: install casework-flow[postgres]")
        self._source = source
        self._owned = False
        self._pool_timeout = 0.0
        self._dsn = ""
        self._where = f"{_where(where)} (the host's connection)"
        self._checked = False

    @classmethod
    def on(cls, conn: Connection[Any]) -> JoinedPostgresStore:
        """The store on one connection (autocommit off), its schema checked now."""
        if psycopg is None or not isinstance(conn, psycopg.Connection):
            raise InvalidInput("conn", f"expected a psycopg Connection, got {conn!r}")
        if conn.autocommit:
            msg = (
                "is in autocommit mode, so there is no transaction of the host's to join;"
                " use a connection with autocommit off (or PostgresStore(dsn) for steps"
                " of their own)"
            )
            raise InvalidInput("conn", msg)
        store = cls(lambda: conn, where=conn.info.dsn)
        store.check_schema()
        return store

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._where}>"

    def close(self) -> None:
        """Nothing to close: the connection is the host's."""

    def check_schema(self) -> None:
        """Raise `StoreError` unless the tables exist at this library's schema version."""
        self._checked = True  # so that the read below does not check again
        try:
            with self._read("read the schema version") as conn:
                found = conn.execute("SELECT to_regclass('casework_meta')").fetchone()
                version = _sql.stored_version(conn) if found and found[0] else 0
            _check_schema(version, self._where)
        except BaseException:
            self._checked = False
            raise

    def _usable(self) -> Connection[Any]:
        """The host's connection now, refused in words if it cannot take a step."""
        if not self._checked:
            self.check_schema()
        conn = self._source()
        status = conn.info.transaction_status
        if conn.closed or status == psycopg.pq.TransactionStatus.UNKNOWN:
            raise StoreError(f"{self._where}: the host's connection is closed or broken")
        if status == psycopg.pq.TransactionStatus.INERROR:
            msg = (
                f"{self._where}: the host's transaction has failed; roll it back before"
                " the next step (nothing of this step was written)"
            )
            raise StoreError(msg)
        if status == psycopg.pq.TransactionStatus.ACTIVE:
            raise StoreError(f"{self._where}: the host's connection is busy with a query")
        return conn

    @contextmanager
    def _borrow(self) -> Iterator[Connection[Any]]:
        yield self._usable()

    @contextmanager
    def _read(self, doing: str) -> Iterator[Connection[Any]]:
        with self._errors(doing):
            yield self._usable()

    @contextmanager
    def _step(self, doing: str) -> Iterator[Connection[Any]]:
        with self._write(doing) as conn:
            yield conn

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection[Any]]:
        with self._errors(doing):
            conn = self._usable()
            if conn.autocommit:
                msg = (
                    f"{self._where}: the host's connection is in autocommit mode, so there"
                    " is no transaction to join (nothing of this step was written)"
                )
                raise StoreError(msg)
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                conn.execute("SELECT 1")
            with conn.transaction():
                yield conn
