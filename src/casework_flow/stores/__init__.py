"""Where cases and their trails are kept.

All stores implement the `Store` protocol and pass one conformance suite:

- `InMemoryStore`: in a dictionary, for tests and simulations;
- `SQLiteStore`: one SQLite file, the embedded default;
- `PostgresStore`: PostgreSQL through psycopg 3 (``pip install casework-flow[postgres]``),
  for several processes and hosts sharing one database;
- `AsyncPostgresStore`: the same on psycopg's async pool, for `AsyncEngine`
  (``pip install casework-flow[async]``).

Every store also keeps the change feed (`Store.feed`): each committed entry, refusals
included, at a store-wide position, and each consumer's position (`Store.track`).
"""

from ._async_postgres import AsyncPostgresStore
from ._feed import FeedItem, FeedPage
from ._joined import AfterCommit
from ._memory import InMemoryStore
from ._postgres import PostgresStore
from ._protocol import Page, Query, Snapshot, Store, Stored
from ._sqlite import SQLiteStore

__all__ = [
    "AfterCommit",
    "AsyncPostgresStore",
    "FeedItem",
    "FeedPage",
    "InMemoryStore",
    "Page",
    "PostgresStore",
    "Query",
    "SQLiteStore",
    "Snapshot",
    "Store",
    "Stored",
]
