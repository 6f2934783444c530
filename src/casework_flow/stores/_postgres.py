"""The PostgreSQL store, on psycopg 3: one database shared by many processes and hosts.

Every write is one transaction that locks the case's row (``SELECT ... FOR UPDATE``),
re-checks the revision and the trail's head, and appends entries under the primary key
(case id, sequence number). A connection that breaks (the server restarted, a network
blip) is dropped; the call fails with `StoreError` and nothing half-written remains, and
the next call connects again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from .._audit import AuditEntry, ChainHead
from .._case import Case
from ..exceptions import (
    CaseExists,
    CaseworkError,
    ConcurrentModification,
    StoreError,
    TrailBroken,
    UnknownCase,
)
from . import _sql
from ._memory import _same_case
from ._protocol import Page, Query, Snapshot

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - exercised only without the extra installed
    psycopg = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["PostgresStore"]

_LOCK_KEY = 0x63617365  # "case": serialises schema migrations across processes


def _where(dsn: str) -> str:
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "PostgreSQL (unreadable DSN)"
    host = parts.get("host") or "local socket"
    port = parts.get("port") or "5432"
    return f"PostgreSQL {parts.get('user') or ''}@{host}:{port}/{parts.get('dbname') or ''}"


class PostgresStore:
    """Cases and trails in a PostgreSQL database (tables prefixed ``casework_``).

    Args:
        dsn: A libpq connection string or URL, such as
            ``postgresql://casework@db.internal:5432/social_service``.
        connect_timeout: Seconds to wait for a connection.

    Raises:
        StoreError: if psycopg is not installed, the database cannot be reached, or its
            schema was made by a newer casework_flow. The message names host, port,
            database and user, never the password.
    """

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        if psycopg is None:  # pragma: no cover - exercised only without the extra
            msg = "PostgresStore needs psycopg 3: pip install 'casework-flow[postgres]'"
            raise StoreError(msg)
        self._dsn = dsn
        self._timeout = connect_timeout
        self._where = _where(dsn)
        self._local = threading.local()
        self._all: list[Connection[Any]] = []
        self._all_lock = threading.Lock()
        try:
            with self._errors("connect"):
                self._migrate()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"<PostgresStore {self._where}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # --- connections and errors -----------------------------------------------------

    def _conn(self) -> Connection[Any]:
        conn: Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or conn.broken):
            conn = None
        if conn is None:
            conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, round(self._timeout))
            )
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        conn: Connection[Any] | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._all_lock:
                if conn in self._all:
                    self._all.remove(conn)
            conn.close()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except CaseworkError:
            raise
        except psycopg.OperationalError as exc:
            self._drop()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            msg = f"{self._where}: could not {doing}: {first}; nothing was written, try again"
            raise StoreError(msg) from None
        except psycopg.Error as exc:
            if getattr(self._local, "conn", None) is not None and self._local.conn.broken:
                self._drop()
            raise StoreError(f"{self._where}: could not {doing}: {exc}") from exc

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection[Any]]:
        with self._errors(doing):
            conn = self._conn()
            with conn.transaction():
                yield conn

    def _migrate(self) -> None:
        conn = self._conn()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS casework_meta"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = conn.execute(
                "SELECT value FROM casework_meta WHERE key = 'schema_version'"
            ).fetchone()
            version = int(row[0]) if row else 0
            if version > _sql.SCHEMA_VERSION:
                msg = (
                    f"{self._where} has schema version {version}, newer than this"
                    f" casework_flow understands ({_sql.SCHEMA_VERSION}); upgrade the library"
                )
                raise StoreError(msg)
            for steps in _sql.MIGRATIONS[version:]:
                for statement in steps:
                    conn.execute(statement.format(big="BIGINT"))
            conn.execute(
                "INSERT INTO casework_meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(_sql.SCHEMA_VERSION),),
            )

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        with self._errors("read the schema version"):
            row = (
                self._conn()
                .execute("SELECT value FROM casework_meta WHERE key = 'schema_version'")
                .fetchone()
            )
        return int(row[0]) if row else 0

    # --- the protocol --------------------------------------------------------------

    def create(
        self, case: Case, entries: Sequence[AuditEntry], *, due_at: datetime | None = None
    ) -> None:
        """Store a new case with its trail so far, in one transaction."""
        _same_case(case, entries, new=True)
        last = entries[-1]
        try:
            with self._write("create a case") as conn:
                conn.execute(
                    f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS}) VALUES"  # noqa: S608 - fixed names
                    " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    _sql.case_row(case, _sql.changed_at(entries, 0), last.head, due_at),
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO casework_entries VALUES (%s, %s, %s)",
                        [_sql.entry_row(e) for e in entries],
                    )
        except StoreError as exc:
            if isinstance(exc.__cause__, pg_errors.UniqueViolation):
                raise CaseExists(case.id) from None
            raise

    def load(self, case_id: str) -> Snapshot:
        """Return the case and its trail's head."""
        with self._errors("load a case"):
            row = (
                self._conn()
                .execute(
                    "SELECT body, head_seq, head_hash FROM casework_cases WHERE id = %s", (case_id,)
                )
                .fetchone()
            )
        if row is None:
            raise UnknownCase(case_id)
        return Snapshot(_sql.case_from_body(row[0], self._where), ChainHead(row[1], row[2]))

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
        try:
            with self._write("commit a step") as conn:
                row = conn.execute(
                    "SELECT revision, head_seq, head_hash, changed_at FROM casework_cases"
                    " WHERE id = %s FOR UPDATE",
                    (case.id,),
                ).fetchone()
                if row is None:
                    raise UnknownCase(case.id)
                revision, head_seq, head_hash, changed = row
                if revision != expected_revision or (
                    entries
                    and (entries[0].prev_hash != head_hash or entries[0].seq != head_seq + 1)
                ):
                    raise ConcurrentModification(case.id, expected_revision, revision)
                head = entries[-1].head if entries else ChainHead(head_seq, head_hash)
                values = _sql.case_row(case, _sql.changed_at(entries, changed), head, due_at)
                conn.execute(
                    "UPDATE casework_cases SET workflow = %s, version = %s, state = %s,"
                    " revision = %s, assignee = %s, opened_at = %s, changed_at = %s,"
                    " head_seq = %s, head_hash = %s, body = %s, due_at = %s WHERE id = %s",
                    (*values[1:], case.id),
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO casework_entries VALUES (%s, %s, %s)",
                        [_sql.entry_row(e) for e in entries],
                    )
        except StoreError as exc:
            if isinstance(exc.__cause__, pg_errors.UniqueViolation):
                raise ConcurrentModification(case.id, expected_revision, None) from None
            raise

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's whole trail, oldest first."""
        with self._errors("read a trail"):
            rows = (
                self._conn()
                .execute(
                    "SELECT body FROM casework_entries WHERE case_id = %s ORDER BY seq", (case_id,)
                )
                .fetchall()
            )
        if not rows:
            self.load(case_id)
        try:
            return tuple(_sql.entry_from_body(r[0]) for r in rows)
        except TrailBroken as exc:
            msg = f"{self._where}: a stored entry of {case_id} cannot be read: {exc}"
            raise StoreError(msg) from None

    def find(
        self, query: Query | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page:
        """Return one page of matching cases, through the indexes."""
        q = query or Query()
        sql, params = _sql.select_cases(q, limit=limit, after=after, mark="%s")
        with self._errors("find cases"):
            rows = self._conn().execute(sql, params).fetchall()
        return Page(
            tuple(_sql.case_from_body(r[10], self._where) for r in rows[:limit]),
            _sql.page_cursor(rows, limit, by_due=q.due_before is not None),
        )

    def count_by_state(self, query: Query | None = None) -> Mapping[str, int]:
        """Return how many matching cases are in each state."""
        where, params = _sql.filters(query or Query(), "%s")
        sql = "SELECT state, COUNT(*) FROM casework_cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._errors("count cases"):
            rows = self._conn().execute(sql + " GROUP BY state", params).fetchall()
        return dict(rows)

    def explain(self, query: Query | None = None) -> list[str]:
        """Return PostgreSQL's plan for `find` with ``query``, sequential scans disabled.

        With scans disabled the plan shows whether an index can serve the query at all;
        on a small table PostgreSQL would rightly prefer a scan.
        """
        sql, params = _sql.select_cases(query or Query(), limit=1, after=None, mark="%s")
        with self._errors("explain a query"):
            conn = self._conn()
            with conn.transaction():
                conn.execute("SET LOCAL enable_seqscan = off")
                rows = conn.execute("EXPLAIN " + sql, params).fetchall()
        return [r[0] for r in rows]

    def __len__(self) -> int:
        with self._errors("count cases"):
            row = self._conn().execute("SELECT COUNT(*) FROM casework_cases").fetchone()
        return int(row[0]) if row else 0
