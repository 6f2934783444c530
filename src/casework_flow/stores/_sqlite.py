"""The SQLite store: the embedded default, on the standard library's sqlite3.

One database file, shared safely by threads and processes: WAL journal, one connection
per thread (and per process), and every write in a ``BEGIN IMMEDIATE`` transaction that
re-checks the revision and the trail's head before it writes. ``synchronous=FULL`` by
default, so a committed step survives a crash of the process and of the machine.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from .._audit import AuditEntry
from ..exceptions import (
    CaseworkError,
    InvalidInput,
    StoreError,
)
from . import _sql
from ._protocol import Query
from ._sqlbase import SqlStore

__all__ = ["SQLiteStore"]


class SQLiteStore(SqlStore):
    """Cases and trails in one SQLite database file.

    Each thread gets its own connection (closed when the thread has ended and another
    connects, or by `close`); a forked process opens its own.

    Args:
        path: The database file; created (with its folder's parent existing) if missing.
        synchronous: ``FULL`` (default) survives power loss; ``NORMAL`` survives a crash
            of the process only, and is faster.
        timeout: Seconds to wait for another writer before giving up.

    Raises:
        StoreError: if the file is not an SQLite database, belongs to another program,
            or was made by a newer casework_flow.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        timeout: float = 30.0,
    ) -> None:
        if str(path) in {"", ":memory:"} or str(path).startswith("file:"):
            raise InvalidInput("path", "give a file path; for memory use InMemoryStore")
        if synchronous not in {"FULL", "NORMAL"}:
            raise InvalidInput("synchronous", "must be 'FULL' or 'NORMAL'")
        self.path = Path(path)
        self._where = str(self.path)
        self._synchronous = synchronous
        self._timeout = timeout
        self._local = threading.local()
        self._pid = os.getpid()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        try:
            with self._errors("open"):
                self._migrate(self._conn())
        except BaseException:
            self.close()
            raise

    @staticmethod
    def joining(conn: sqlite3.Connection) -> SQLiteStore:
        """A store on the host's connection: each step joins the host's transaction.

        Steps run in a savepoint inside the transaction open on ``conn`` (one is begun
        if none is); nothing is committed until the host commits, and a rollback undoes
        the steps with the host's own rows. Pass it to `Engine.using` with
        ``after_commit`` so listeners wait for the host's commit.

        Raises:
            StoreError: if the casework tables are missing or of another version.
        """
        from ._joined import JoinedSQLiteStore  # noqa: PLC0415 - it subclasses this one

        return JoinedSQLiteStore.on(conn)

    _mark = "?"
    _lock_row = ""
    _skip_locked = ""
    _unique = (sqlite3.IntegrityError,)

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r}>"

    def close(self) -> None:
        """Close every connection this store opened in this process."""
        with self._all_lock:
            conns, self._all = self._all, []
        if os.getpid() == self._pid:
            for _, conn in conns:
                conn.close()
        self._local = threading.local()

    # --- connections and errors -----------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._local = threading.local()
            self._all = []
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
            except sqlite3.Error:
                conn.close()
                raise
            self._local.conn = conn
            with self._all_lock:
                for thread, old in [p for p in self._all if not p[0].is_alive()]:
                    old.close()
                    self._all.remove((thread, old))
                self._all.append((threading.current_thread(), conn))
        return conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except CaseworkError:
            raise
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text:
                msg = f"{self._where} is not a usable casework_flow database"
                raise StoreError(f"{msg} (corrupt, or not SQLite): {text}") from None
            raise StoreError(f"{self._where}: {doing} failed: {text}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self._where}: {doing} failed: {exc}") from exc

    @contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._errors(doing):
            yield self._conn()

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._errors(doing):
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._found_version(conn)
            _sql.migrate(conn, version, where=str(self.path), big="INTEGER", mark="?")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _found_version(self, conn: sqlite3.Connection) -> int:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if "casework_meta" not in tables:
            if tables:
                listed = ", ".join(sorted(tables)[:5])
                msg = (
                    f"{self.path} belongs to something else (tables: {listed});"
                    " casework_flow will not write into it"
                )
                raise StoreError(msg)
            conn.execute("CREATE TABLE casework_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            return 0
        return _sql.stored_version(conn)

    def _first_position(self, conn: sqlite3.Connection, count: int) -> int:  # noqa: ARG002 - the positions run on from it
        """The next position: one above the highest stored, read from its index.

        SQLite lets one writer at a time hold the database, and every caller has written
        the case's row before it takes positions, so no other writer can take the same;
        entries are never deleted, so the highest never goes back (and the feed's row,
        which PostgreSQL counts on, held the same). Not rewriting that row saves a page
        to write and sync per step.
        """
        (top,) = conn.execute("SELECT MAX(position) FROM casework_entries").fetchone()
        return int(top or 0) + 1

    def _insert_entries(self, conn: sqlite3.Connection, entries: Sequence[AuditEntry]) -> None:
        conn.executemany(_sql.ENTRY_INSERT.format(m="?"), self._numbered(conn, entries))

    def explain(self, query: Query | None = None) -> list[str]:
        """Return SQLite's plan for `find` with ``query`` (to check it uses an index)."""
        sql, params = _sql.select_cases(query or Query(), limit=1, after=None, mark="?")
        with self._errors("explain a query"):
            rows = self._conn().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [r[-1] for r in rows]
