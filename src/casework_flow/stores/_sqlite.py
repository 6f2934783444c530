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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal, Self

from .._audit import AuditEntry, ChainHead
from .._case import Case
from ..exceptions import (
    CaseExists,
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    StoreError,
    TrailBroken,
    UnknownCase,
)
from . import _sql
from ._memory import _same_case
from ._protocol import Page, Query, Snapshot

__all__ = ["SQLiteStore"]


class SQLiteStore:
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

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                msg = f"{self.path} is not a usable casework_flow database"
                raise StoreError(f"{msg} (corrupt, or not SQLite): {text}") from None
            raise StoreError(f"{self.path}: {doing} failed: {text}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {doing} failed: {exc}") from exc

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
            for steps in _sql.MIGRATIONS[version:]:
                for statement in steps:
                    conn.execute(statement.format(big="INTEGER"))
            conn.execute(
                "INSERT INTO casework_meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(_sql.SCHEMA_VERSION),),
            )
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
        row = conn.execute(
            "SELECT value FROM casework_meta WHERE key = 'schema_version'"
        ).fetchone()
        version = int(row[0]) if row else 0
        if version > _sql.SCHEMA_VERSION:
            msg = (
                f"{self.path} has schema version {version}, newer than this casework_flow"
                f" understands ({_sql.SCHEMA_VERSION}); upgrade the library"
            )
            raise StoreError(msg)
        return version

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        with self._errors("read the schema version"):
            row = (
                self._conn()
                .execute("SELECT value FROM casework_meta WHERE key = 'schema_version'")
                .fetchone()
            )
        return int(row[0])

    # --- the protocol --------------------------------------------------------------

    def create(
        self, case: Case, entries: Sequence[AuditEntry], *, due_at: datetime | None = None
    ) -> None:
        """Store a new case with its trail so far, in one transaction."""
        _same_case(case, entries, new=True)
        last = entries[-1]
        with self._write("create a case") as conn:
            try:
                conn.execute(
                    f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS})"  # noqa: S608 - fixed names
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _sql.case_row(case, _sql.changed_at(entries, 0), last.head, due_at),
                )
            except sqlite3.IntegrityError:
                raise CaseExists(case.id) from None
            conn.executemany(
                "INSERT INTO casework_entries VALUES (?, ?, ?)", map(_sql.entry_row, entries)
            )

    def load(self, case_id: str) -> Snapshot:
        """Return the case and its trail's head."""
        with self._errors("load a case"):
            row = (
                self._conn()
                .execute(
                    "SELECT body, head_seq, head_hash FROM casework_cases WHERE id = ?", (case_id,)
                )
                .fetchone()
            )
        if row is None:
            raise UnknownCase(case_id)
        return Snapshot(_sql.case_from_body(row[0], str(self.path)), ChainHead(row[1], row[2]))

    def commit(
        self,
        case: Case,
        entries: Sequence[AuditEntry],
        *,
        expected_revision: int,
        due_at: datetime | None = None,
    ) -> None:
        """Replace the case and append entries, if revision and head are as expected."""
        _same_case(case, entries)
        with self._write("commit a step") as conn:
            row = conn.execute(
                "SELECT revision, head_seq, head_hash, changed_at FROM casework_cases WHERE id = ?",
                (case.id,),
            ).fetchone()
            if row is None:
                raise UnknownCase(case.id)
            revision, head_seq, head_hash, changed = row
            if revision != expected_revision or (
                entries and (entries[0].prev_hash != head_hash or entries[0].seq != head_seq + 1)
            ):
                raise ConcurrentModification(case.id, expected_revision, revision)
            head = entries[-1].head if entries else ChainHead(head_seq, head_hash)
            row = _sql.case_row(case, _sql.changed_at(entries, changed), head, due_at)
            conn.execute(
                "UPDATE casework_cases SET workflow = ?, version = ?, state = ?, revision = ?,"
                " assignee = ?, opened_at = ?, changed_at = ?, head_seq = ?, head_hash = ?,"
                " body = ?, due_at = ? WHERE id = ?",
                (*row[1:], case.id),
            )
            try:
                conn.executemany(
                    "INSERT INTO casework_entries VALUES (?, ?, ?)", map(_sql.entry_row, entries)
                )
            except sqlite3.IntegrityError:
                raise ConcurrentModification(case.id, expected_revision, revision) from None

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's whole trail, oldest first."""
        with self._errors("read a trail"):
            rows = (
                self._conn()
                .execute(
                    "SELECT body FROM casework_entries WHERE case_id = ? ORDER BY seq", (case_id,)
                )
                .fetchall()
            )
        if not rows:
            self.load(case_id)
        try:
            return tuple(_sql.entry_from_body(r[0]) for r in rows)
        except TrailBroken as exc:
            raise StoreError(
                f"{self.path}: a stored entry of {case_id} cannot be read: {exc}"
            ) from None

    def find(
        self, query: Query | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page:
        """Return one page of matching cases, through the indexes."""
        q = query or Query()
        sql, params = _sql.select_cases(q, limit=limit, after=after, mark="?")
        with self._errors("find cases"):
            rows = self._conn().execute(sql, params).fetchall()
        where = str(self.path)
        return Page(
            tuple(_sql.case_from_body(r[10], where) for r in rows[:limit]),
            _sql.page_cursor(rows, limit, by_due=q.due_before is not None),
        )

    def count_by_state(self, query: Query | None = None) -> Mapping[str, int]:
        """Return how many matching cases are in each state."""
        where, params = _sql.filters(query or Query(), "?")
        sql = "SELECT state, COUNT(*) FROM casework_cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._errors("count cases"):
            rows = self._conn().execute(sql + " GROUP BY state", params).fetchall()
        return dict(rows)

    def explain(self, query: Query | None = None) -> list[str]:
        """Return SQLite's plan for `find` with ``query`` (to check it uses an index)."""
        sql, params = _sql.select_cases(query or Query(), limit=1, after=None, mark="?")
        with self._errors("explain a query"):
            rows = self._conn().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [r[-1] for r in rows]

    def __len__(self) -> int:
        with self._errors("count cases"):
            return int(self._conn().execute("SELECT COUNT(*) FROM casework_cases").fetchone()[0])
