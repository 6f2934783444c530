"""The PostgreSQL store on psycopg's async pool, for `AsyncEngine`.

It is `PostgresStore` itself: the same SQL, the same commit, the same errors. Only its
connections differ: borrowed from a `psycopg_pool.AsyncConnectionPool` and wrapped so
that each call the store makes on them hands its awaitable to the event loop
(`casework_flow._bridge.await_only`) instead of blocking. Used outside `AsyncEngine`,
it says so rather than block the loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

from .._bridge import await_only, greenlet_spawn
from ..exceptions import InvalidInput, StoreError
from ._postgres import PostgresStore

try:
    import psycopg
    import psycopg_pool
except ImportError:  # pragma: no cover - exercised only without the extra installed
    psycopg = None  # type: ignore[assignment]
    psycopg_pool = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from psycopg import AsyncConnection, AsyncCursor
    from psycopg_pool import AsyncConnectionPool

__all__ = ["AsyncPostgresStore"]


class _Cursor:
    """An async cursor seen as a blocking one."""

    __slots__ = ("_cur",)

    def __init__(self, cur: AsyncCursor[Any]) -> None:
        self._cur = cur

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        await_only(self._cur.close())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Self:
        await_only(self._cur.execute(sql, params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await_only(self._cur.executemany(sql, rows))

    def fetchone(self) -> Any:  # noqa: ANN401 - a row
        return await_only(self._cur.fetchone())

    def fetchall(self) -> list[Any]:
        return await_only(self._cur.fetchall())


class _Connection:
    """An async connection seen as a blocking one: what the SQL store calls on it."""

    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    @property
    def autocommit(self) -> bool:
        return self._conn.autocommit

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        return _Cursor(await_only(self._conn.execute(sql, params)))

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        block = self._conn.transaction()
        await_only(block.__aenter__())
        try:
            yield
        except BaseException as exc:
            await_only(block.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        await_only(block.__aexit__(None, None, None))


class AsyncPostgresStore(PostgresStore):
    """`PostgresStore` on psycopg's `AsyncConnectionPool`, for `AsyncEngine`.

    Make it with ``await AsyncPostgresStore.open(dsn)`` (or ``pool=`` the host's async
    pool, its connections in autocommit mode), close it with ``await store.aclose()``
    or ``async with``. Its methods run only under `AsyncEngine`, which awaits them.
    """

    _async = True
    _apool: AsyncConnectionPool[Any]

    def __init__(self) -> None:
        msg = "make an AsyncPostgresStore with: await AsyncPostgresStore.open(dsn)"
        raise InvalidInput("AsyncPostgresStore", msg)

    @classmethod
    async def open(
        cls,
        dsn: str | None = None,
        *,
        pool: AsyncConnectionPool[Any] | None = None,
        connect_timeout: float = 10.0,
        min_size: int = 1,
        max_size: int = 10,
        pool_timeout: float = 30.0,
    ) -> AsyncPostgresStore:
        """Connect, create or upgrade the tables, and open the pool.

        Raises:
            StoreError: as `PostgresStore` does.
        """
        if psycopg is None or psycopg_pool is None:  # pragma: no cover - without the extra
            msg = "AsyncPostgresStore needs psycopg and psycopg_pool: install casework-flow[async]"
            raise StoreError(msg)
        self = cls.__new__(cls)
        self._settle(dsn, pool, pool_timeout)
        timeout = max(1, round(connect_timeout))
        if pool is None:
            pool = psycopg_pool.AsyncConnectionPool(
                self._dsn,
                min_size=min_size,
                max_size=max_size,
                kwargs={"autocommit": True, "connect_timeout": timeout},
                timeout=pool_timeout,
                name=f"casework_flow {self._where}",
                open=False,
            )
            try:
                await pool.open(wait=True, timeout=connect_timeout)
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                await pool.close()
                msg = f"{self._where}: could not connect: {exc}; nothing was written"
                raise StoreError(msg) from None
        self._apool = pool
        await greenlet_spawn(self._open_schema)
        return self

    def _open_schema(self) -> None:
        with self._errors("connect"), self._borrow() as conn:
            self._migrate(conn)

    def __repr__(self) -> str:
        return f"<AsyncPostgresStore {self._where}>"

    @property
    def pool(self) -> AsyncConnectionPool[Any]:  # type: ignore[override]
        """The async pool the store borrows its connections from."""
        return self._apool

    def close(self) -> None:
        """Not here: close it with ``await store.aclose()``."""
        msg = "close an AsyncPostgresStore with: await store.aclose()"
        raise InvalidInput("close", msg)

    async def aclose(self) -> None:
        """Close the store's own pool (a pool the host gave is the host's to close)."""
        if self._owned:
            await self._apool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @contextmanager
    def _borrow(self) -> Iterator[Any]:
        """A connection of the async pool for one call; a broken one is not given back."""
        try:
            conn = await_only(self._apool.getconn(timeout=self._pool_timeout))
        except psycopg_pool.PoolTimeout:
            msg = (
                f"{self._where}: no connection was free within {self._pool_timeout:g} s"
                f" (the pool holds at most {self._apool.max_size}); nothing was written, try again"
            )
            raise StoreError(msg) from None
        except psycopg_pool.PoolClosed:
            raise StoreError(f"{self._where}: the store was closed") from None
        try:
            yield _Connection(conn)
        finally:
            await_only(self._apool.putconn(conn))

    def _sweep_pool(self) -> None:
        pool = getattr(self, "_apool", None)
        if pool is not None:
            try:
                await_only(pool.check())
            except (psycopg.Error, psycopg_pool.PoolClosed, StoreError):
                return
