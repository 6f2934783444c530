"""Data keys wrapped by the host's key-encryption key, kept in a PostgreSQL table.

The table ``casework_keys`` sits beside the cases (the same database, or another). A
destroyed key's row is deleted; PostgreSQL keeps a deleted row's bytes on disk until
its page is reused (after ``VACUUM``), so a host that must be sure no copy of a key is
left on the database's disks runs ``VACUUM`` on the table after erasures, or keeps its
keys in a KMS (the `KeyStore` protocol).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .._keys import KEY_BYTES, _kek, _unwrap, _wrap
from ..exceptions import InvalidInput, StoreError, first_line

if TYPE_CHECKING:
    from psycopg import Cursor

__all__ = ["PostgresKeyStore"]

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS casework_keys ( case_id text PRIMARY KEY, wrapped bytea NOT NULL)"
)


class PostgresKeyStore:
    """Data keys wrapped by ``kek``, kept in PostgreSQL (needs the ``postgres`` extra).

    Connections come from a small pool of its own (up to ``pool_size``); close it with
    `close` or a ``with`` block.

    Args:
        dsn: Where the table is (``postgresql://...``); it is made if missing.
        kek: The key-encryption key, 32 bytes, from the host's secret store.
        pool_size: The most connections it holds open.
    """

    def __init__(self, dsn: str, kek: bytes, *, pool_size: int = 4) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise InvalidInput("dsn", "give the database's DSN (postgresql://...)")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise InvalidInput("pool_size", "must be a positive integer")
        import psycopg_pool  # noqa: PLC0415 - the postgres extra

        self._kek = _kek(kek)
        self._lock = threading.Lock()
        self._pool = psycopg_pool.ConnectionPool(
            dsn, min_size=1, max_size=pool_size, open=True, name="casework-keys"
        )
        try:
            self._run(lambda cur: cur.execute(_SCHEMA).rowcount)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return "<PostgresKeyStore>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()

    def _run(self, work: Callable[[Cursor[Any]], T]) -> T:
        import psycopg  # noqa: PLC0415 - the postgres extra

        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                out = work(cur)
                conn.commit()
                return out
        except psycopg.Error as exc:
            first = first_line(exc)
            raise StoreError(f"the key table failed: {first}") from None

    def data_key(self, case_id: str) -> bytes | None:
        """The case's data key, unwrapped; None if it has none."""

        def read(cur: Cursor[Any]) -> Any:  # noqa: ANN401 - a row of the driver's
            cur.execute("SELECT wrapped FROM casework_keys WHERE case_id = %s", (case_id,))
            return cur.fetchone()

        row = self._run(read)
        return None if row is None else _unwrap(self._kek, case_id, bytes(row[0]))

    def new_data_key(self, case_id: str) -> bytes:
        """Make a data key for ``case_id`` and keep it wrapped."""
        key = os.urandom(KEY_BYTES)
        wrapped = _wrap(self._kek, key)

        def insert(cur: Cursor[Any]) -> int:
            cur.execute(
                "INSERT INTO casework_keys (case_id, wrapped) VALUES (%s, %s)"
                " ON CONFLICT (case_id) DO NOTHING",
                (case_id, wrapped),
            )
            return int(cur.rowcount)

        if self._run(insert) != 1:
            raise InvalidInput("case_id", f"{case_id} already has a data key")
        return key

    def destroy(self, case_id: str) -> bool:
        """Delete the case's wrapped key."""

        def delete(cur: Cursor[Any]) -> int:
            cur.execute("DELETE FROM casework_keys WHERE case_id = %s", (case_id,))
            return int(cur.rowcount)

        return bool(self._run(delete))

    def rewrap(self, kek: bytes) -> int:
        """Wrap every data key under a new key-encryption key, in one transaction.

        Returns:
            How many keys were wrapped again.
        """
        new = _kek(kek)

        def rotate(cur: Cursor[Any]) -> int:
            cur.execute("SELECT case_id, wrapped FROM casework_keys FOR UPDATE")
            rows = cur.fetchall()
            fresh = [(_wrap(new, _unwrap(self._kek, cid, bytes(w))), cid) for cid, w in rows]
            cur.executemany("UPDATE casework_keys SET wrapped = %s WHERE case_id = %s", fresh)
            return len(fresh)

        with self._lock:
            count = int(self._run(rotate))
            self._kek = new
        return count
