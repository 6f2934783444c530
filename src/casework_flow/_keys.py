"""Data keys of cases, wrapped by the host's key-encryption key.

Each case whose workflow has personal fields gets its own 256-bit data key when it is
opened. A `KeyStore` keeps it; the engine never stores a data key in the clear. The
built-in `InMemoryKeyStore` wraps each data key with the host's key-encryption key
(AES key wrap, RFC 3394) and keeps only the wrapped form; a host with a KMS implements
the three methods of the protocol on it. Destroying a case's key is how its personal
values are erased: the ciphertext stays in the trail, verifiable, and unreadable.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol, runtime_checkable

from .exceptions import InvalidInput, KeysMismatch

__all__ = ["InMemoryKeyStore", "KeyStore"]

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
        from cryptography.hazmat.primitives.keywrap import (  # noqa: PLC0415
            InvalidUnwrap,
            aes_key_unwrap,
        )

        with self._lock:
            wrapped = self._wrapped.get(case_id)
        if wrapped is None:
            return None
        try:
            return aes_key_unwrap(self._kek, wrapped)
        except InvalidUnwrap:
            raise KeysMismatch(case_id) from None

    def new_data_key(self, case_id: str) -> bytes:
        """Make a data key for ``case_id`` and keep it wrapped."""
        from cryptography.hazmat.primitives.keywrap import aes_key_wrap  # noqa: PLC0415

        key = os.urandom(KEY_BYTES)
        with self._lock:
            if case_id in self._wrapped:
                raise InvalidInput("case_id", f"{case_id} already has a data key")
            self._wrapped[case_id] = aes_key_wrap(self._kek, key)
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
        from cryptography.hazmat.primitives.keywrap import aes_key_wrap  # noqa: PLC0415

        new = _kek(kek)
        with self._lock:
            ids = list(self._wrapped)
        fresh = {}
        for cid in ids:
            key = self.data_key(cid)
            if key is not None:
                fresh[cid] = aes_key_wrap(new, key)
        with self._lock:
            self._wrapped.update(fresh)
            self._kek = new
        return len(fresh)
