"""Where cases and their trails are kept.

`InMemoryStore` is here now; durable stores (SQLite, PostgreSQL) implement the same
`Store` protocol.
"""

from ._memory import InMemoryStore
from ._protocol import Snapshot, Store

__all__ = ["InMemoryStore", "Snapshot", "Store"]
