"""Keys for sealing personal fields (needs the ``crypto`` extra: cryptography).

Give an engine a key store (``Engine(keys=InMemoryKeyStore(kek))``) and the values of
every workflow's personal fields are sealed with AES-256-GCM under a data key of their
case before they are hashed and stored; destroying a case's key erases them. See
``docs/personal-data.md``.
"""

from ._keys import InMemoryKeyStore, KeyStore, SQLiteKeyStore
from ._sealing import ERASED, is_sealed
from .stores._postgres_keys import PostgresKeyStore

__all__ = [
    "ERASED",
    "InMemoryKeyStore",
    "KeyStore",
    "PostgresKeyStore",
    "SQLiteKeyStore",
    "is_sealed",
]
