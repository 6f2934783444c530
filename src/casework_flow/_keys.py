"""Data keys of cases, wrapped by the host's key-encryption key.

Each case whose workflow has personal fields gets its own 256-bit data key when it is
opened. A `KeyStore` keeps it; the engine never stores a data key in the clear. The
built-in `InMemoryKeyStore` wraps each data key with the host's key-encryption key
(AES key wrap, RFC 3394) and keeps only the wrapped form; a host with a KMS implements
the three methods of the protocol on it. Destroying a case's key is how its personal
values are erased: the ciphertext stays in the trail, verifiable, and unreadable.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from .exceptions import InvalidInput, KeysMismatch, StoreError

__all__ = ["InMemoryKeyStore", "KeyStore", "SQLiteKeyStore"]

KEY_BYTES = 32


@runtime_checkable
class KeyStore(Protocol):
    """Where the data keys of cases are kept (wrapped)."""

    def data_key(self, case_id: str) -> bytes | None:
        """The case's data key; None if it has none (never made, or destroyed)."""
        ...

    def new_data_key(self, case_id: str) -> bytes:
        """Make, keep and return a data key for a new case."""
        ...

    def destroy(self, case_id: str) -> bool:
        """Destroy the case's data key for good; False if it had none."""
        ...


def _kek(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != KEY_BYTES:
        raise InvalidInput("kek", "must be 32 bytes (a 256-bit key-encryption key)")
    return value


class InMemoryKeyStore:
    """Data keys wrapped by ``kek``, kept in this process (for tests and one-process hosts).

    Args:
        kek: The key-encryption key, 32 bytes, from the host's secret store.
    """

    def __init__(self, kek: bytes) -> None:
        self._kek = _kek(kek)
        self._wrapped: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<InMemoryKeyStore keys={len(self._wrapped)}>"

    def data_key(self, case_id: str) -> bytes | None:
        """The case's data key, unwrapped; None if it has none."""
        with self._lock:
            wrapped = self._wrapped.get(case_id)
        return None if wrapped is None else _unwrap(self._kek, case_id, wrapped)

    def new_data_key(self, case_id: str) -> bytes:
        """Make a data key for ``case_id`` and keep it wrapped."""
        key = os.urandom(KEY_BYTES)
        with self._lock:
            if case_id in self._wrapped:
                raise InvalidInput("case_id", f"{case_id} already has a data key")
            self._wrapped[case_id] = _wrap(self._kek, key)
        return key

    def destroy(self, case_id: str) -> bool:
        """Forget the case's wrapped key."""
        with self._lock:
            return self._wrapped.pop(case_id, None) is not None

    def rewrap(self, kek: bytes) -> int:
        """Wrap every data key under a new key-encryption key (key rotation).

        All or nothing: every key is unwrapped and wrapped again before any is
        replaced, so a key that does not unwrap leaves every key as it was.

        Returns:
            How many keys were wrapped again.
        """
        new = _kek(kek)
        with self._lock:
            ids = list(self._wrapped)
        fresh = {}
        for cid in ids:
            key = self.data_key(cid)
            if key is not None:
                fresh[cid] = _wrap(new, key)
        with self._lock:
            self._wrapped.update(fresh)
            self._kek = new
        return len(fresh)


def _wrap(kek: bytes, key: bytes) -> bytes:
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap  # noqa: PLC0415

    return aes_key_wrap(kek, key)


def _unwrap(kek: bytes, case_id: str, wrapped: bytes) -> bytes:
    from cryptography.hazmat.primitives.keywrap import (  # noqa: PLC0415
        InvalidUnwrap,
        aes_key_unwrap,
    )

    try:
        return aes_key_unwrap(kek, wrapped)
    except InvalidUnwrap:
        raise KeysMismatch(case_id) from None


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS casework_keys ("
    " case_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL) WITHOUT ROWID"
)


class SQLiteKeyStore:
    """Data keys wrapped by ``kek``, kept in an SQLite file (the cases' own, or another).

    A destroyed key is overwritten where it lay (``secure_delete``) and the write-ahead
    log is folded into the file and truncated, so no copy of it is left in the file.

    Args:
        path: The database file; a table ``casework_keys`` is made in it.
        kek: The key-encryption key, 32 bytes, from the host's secret store.
    """

    def __init__(self, path: str | os.PathLike[str], kek: bytes) -> None:
        self.path = Path(path)
        self._kek = _kek(kek)
        self._lock = threading.Lock()
        with self._db() as db:
            db.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"<SQLiteKeyStore {self.path}>"

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the key table: {exc}") from None
        try:
            db.execute("PRAGMA secure_delete = ON")
            yield db
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: the key table failed: {exc}") from None
        finally:
            db.close()

    def data_key(self, case_id: str) -> bytes | None:
        """The case's data key, unwrapped; None if it has none."""
        with self._db() as db:
            row = db.execute(
                "SELECT wrapped FROM casework_keys WHERE case_id = ?", (case_id,)
            ).fetchone()
        return None if row is None else _unwrap(self._kek, case_id, row[0])

    def new_data_key(self, case_id: str) -> bytes:
        """Make a data key for ``case_id`` and keep it wrapped."""
        key = os.urandom(KEY_BYTES)
        with self._db() as db:
            try:
                db.execute(
                    "INSERT INTO casework_keys (case_id, wrapped) VALUES (?, ?)",
                    (case_id, _wrap(self._kek, key)),
                )
            except sqlite3.IntegrityError:
                raise InvalidInput("case_id", f"{case_id} already has a data key") from None
        return key

    def destroy(self, case_id: str) -> bool:
        """Delete the case's wrapped key and leave no copy of it in the file."""
        with self._db() as db:
            gone = db.execute("DELETE FROM casework_keys WHERE case_id = ?", (case_id,)).rowcount
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(gone)

    def rewrap(self, kek: bytes) -> int:
        """Wrap every data key under a new key-encryption key, in one transaction.

        Returns:
            How many keys were wrapped again.
        """
        new = _kek(kek)
        with self._lock, self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute("SELECT case_id, wrapped FROM casework_keys").fetchall()
                fresh = [(_wrap(new, _unwrap(self._kek, cid, w)), cid) for cid, w in rows]
                db.executemany("UPDATE casework_keys SET wrapped = ? WHERE case_id = ?", fresh)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self._kek = new
        return len(fresh)
