"""The PostgreSQL store, on psycopg 3: one database shared by many processes and hosts.

Every write is one transaction that locks the case's row (``SELECT ... FOR UPDATE``),
re-checks the revision and the trail's head, and appends entries under the primary key
(case id, sequence number). A connection that breaks (the server restarted, a network
blip) is dropped; the call fails with `StoreError` and nothing half-written remains, and
the next call connects again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._audit import AuditEntry
from ..exceptions import (
    CaseworkError,
    StoreError,
)
from . import _sql
from ._protocol import Query
from ._sqlbase import SqlStore

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


class PostgresStore(SqlStore):
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

    _mark = "%s"
    _lock_row = " FOR UPDATE"
    _skip_locked = " FOR UPDATE SKIP LOCKED"
    _unique = (pg_errors.UniqueViolation,) if psycopg is not None else ()

    def __repr__(self) -> str:
        return f"<PostgresStore {self._where}>"

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
            _sql.migrate(
                conn, _sql.stored_version(conn), where=self._where, big="BIGINT", mark="%s"
            )

    def _insert_entries(self, conn: Connection[Any], entries: Sequence[AuditEntry]) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO casework_entries VALUES (%s, %s, %s)",
                [_sql.entry_row(e) for e in entries],
            )

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
