"""The PostgreSQL store, on psycopg 3 and its pool: one database for many processes and hosts.

Every write is one transaction that locks the case's row (``SELECT ... FOR UPDATE``),
re-checks the revision and the trail's head, and appends entries under the primary key
(case id, sequence number). A connection that breaks (the server restarted, a network
blip) is not given back to the pool; the call fails with `StoreError`, nothing
half-written remains, and the next call gets a new connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._audit import AuditEntry
from ..exceptions import CaseworkError, InvalidInput, StoreError, first_line
from . import _reports_sql, _sql
from ._protocol import Query
from ._sqlbase import SqlStore

try:
    import psycopg
    import psycopg_pool
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - exercised only without the extra installed
    psycopg = None  # type: ignore[assignment]
    psycopg_pool = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

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

    Connections come from a `psycopg_pool.ConnectionPool`: each call borrows one for as
    long as it runs and gives it back, so the number of connections is bounded by the
    pool however many threads call (a thread pool that replaces its threads leaves
    nothing behind). Give a DSN and the store makes and closes its own pool, or give the
    host's pool (its connections in autocommit mode) and the store leaves it open.

    Args:
        dsn: A libpq connection string or URL, such as
            ``postgresql://casework@db.internal:5432/social_service``.
        pool: The host's pool, instead of ``dsn``.
        connect_timeout: Seconds to wait for a new connection.
        min_size: Connections the store's own pool keeps open.
        max_size: The most connections it opens at once.
        pool_timeout: Seconds a call waits for a free connection before `StoreError`.

    Raises:
        StoreError: if psycopg is not installed, the database cannot be reached, or its
            schema was made by a newer casework_flow. The message names host, port,
            database and user, never the password.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: ConnectionPool[Any] | None = None,
        connect_timeout: float = 10.0,
        min_size: int = 1,
        max_size: int = 10,
        pool_timeout: float = 30.0,
    ) -> None:
        if psycopg is None or psycopg_pool is None:  # pragma: no cover - without the extra
            msg = "PostgresStore needs psycopg and psycopg_pool: install casework-flow[postgres]"
            raise StoreError(msg)
        self._settle(dsn, pool, pool_timeout)
        timeout = max(1, round(connect_timeout))
        with self._errors("connect"):
            if pool is None:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=timeout) as conn:
                    self._migrate(conn)
                pool = psycopg_pool.ConnectionPool(
                    self._dsn,
                    min_size=min_size,
                    max_size=max_size,
                    kwargs={"autocommit": True, "connect_timeout": timeout},
                    timeout=pool_timeout,
                    name=f"casework_flow {self._where}",
                    open=True,
                )
                self._pool = pool
            else:
                self._pool = pool
                with self._borrow() as conn:
                    self._migrate(conn)

    def _settle(self, dsn: str | None, pool: Any, pool_timeout: float) -> None:  # noqa: ANN401 - a sync or async pool
        """Check that a DSN or a pool is given, and note where the store connects."""
        if (dsn is None) == (pool is None):
            raise InvalidInput("dsn", "give a DSN or a pool, not both and not neither")
        self._owned = pool is None
        conninfo = dsn if dsn is not None else pool.conninfo
        self._dsn = conninfo if isinstance(conninfo, str) else ""
        self._where = _where(self._dsn)
        self._pool_timeout = pool_timeout

    @staticmethod
    def joining(conn: Connection[Any]) -> PostgresStore:
        """A store on the host's psycopg connection: each step joins its transaction.

        ``conn`` must have autocommit off. Steps run in a savepoint inside the host's
        transaction (begun if none is open); the host's commit or rollback decides.
        Pass it to `Engine.using` with ``after_commit`` so listeners wait for that.

        Raises:
            InvalidInput: for a connection in autocommit mode.
            StoreError: if the casework tables are missing or of another version, or the
                host's transaction has failed.
        """
        from ._joined import JoinedPostgresStore  # noqa: PLC0415 - it subclasses this one

        return JoinedPostgresStore.on(conn)

    _mark = "%s"
    _report_dialect = _reports_sql.POSTGRES
    _one_statement = True
    _lock_row = " FOR UPDATE"
    _skip_locked = " FOR UPDATE SKIP LOCKED"
    _unique = (pg_errors.UniqueViolation,) if psycopg is not None else ()

    def __repr__(self) -> str:
        return f"<PostgresStore {self._where}>"

    @property
    def pool(self) -> ConnectionPool[Any]:
        """The pool the store borrows its connections from."""
        return self._pool

    def close(self) -> None:
        """Close the store's own pool (a pool the host gave is the host's to close)."""
        pool = getattr(self, "_pool", None)
        if pool is not None and self._owned:
            pool.close()

    # --- connections and errors -----------------------------------------------------

    @contextmanager
    def _borrow(self) -> Iterator[Connection[Any]]:
        """A connection of the pool for one call; a broken one is not given back."""
        try:
            with self._pool.connection(timeout=self._pool_timeout) as conn:
                yield conn
        except psycopg_pool.PoolTimeout:
            msg = (
                f"{self._where}: no connection was free within {self._pool_timeout:g} s"
                f" (the pool holds at most {self._pool.max_size}); nothing was written, try again"
            )
            raise StoreError(msg) from None
        except psycopg_pool.PoolClosed:
            raise StoreError(f"{self._where}: the store was closed") from None

    @contextmanager
    def _read(self, doing: str) -> Iterator[Connection[Any]]:
        with self._errors(doing), self._borrow() as conn:
            if conn.autocommit:
                yield conn
            else:
                with conn.transaction():
                    yield conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except CaseworkError:
            raise
        except psycopg.OperationalError as exc:
            self._sweep_pool()
            first = first_line(exc)
            msg = f"{self._where}: could not {doing}: {first}; nothing was written, try again"
            raise StoreError(msg) from None
        except psycopg.Error as exc:
            raise StoreError(f"{self._where}: could not {doing}: {exc}") from exc

    def _sweep_pool(self) -> None:
        """After a lost connection, drop the pool's other dead ones (a restart kills all)."""
        pool = getattr(self, "_pool", None)
        if pool is not None:
            with contextlib.suppress(psycopg.Error, psycopg_pool.PoolClosed):
                pool.check()

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection[Any]]:
        with self._errors(doing), self._borrow() as conn, conn.transaction():
            yield conn

    @contextmanager
    def _step(self, doing: str) -> Iterator[Connection[Any]]:
        """One statement on an autocommit connection is its own transaction: no BEGIN."""
        with self._read(doing) as conn:
            yield conn

    def _migrate(self, conn: Connection[Any]) -> None:
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
            cur.executemany(_sql.ENTRY_INSERT.format(m="%s"), self._numbered(conn, entries))

    def explain(self, query: Query | None = None) -> list[str]:
        """Return PostgreSQL's plan for `find` with ``query``, sequential scans disabled.

        With scans disabled the plan shows whether an index can serve the query at all;
        on a small table PostgreSQL would rightly prefer a scan.
        """
        sql, params = _sql.select_cases(query or Query(), limit=1, after=None, mark="%s")
        with self._errors("explain a query"), self._borrow() as conn, conn.transaction():
            conn.execute("SET LOCAL enable_seqscan = off")
            rows = conn.execute("EXPLAIN " + sql, params).fetchall()
        return [r[0] for r in rows]
