"""The change feed: every committed entry of every case, at a store-wide position.

A relay, an outbox or a projection reads the feed in position order and keeps the last
position it handled. Positions are handed out inside the committing transaction, under
one lock held until the commit, so an entry at a lower position is always visible before
any at a higher one: a reader that polls never skips an entry that commits late. (A
database sequence alone would not do: two writers take 7 and 8, the one holding 8
commits first, a reader sees 8 and moves past 7 for ever.) The cost is that the last
statements of concurrent commits run one at a time.

Refusals are in the feed too (entries of kind ``refused``), for supervision and security
monitoring. Each consumer's position may be stored beside the cases (`Store.track`);
on a store joined to the host's transaction it commits with the host's own writes, which
makes a projection exactly once.
"""

from __future__ import annotations

from typing import Any, Final

from attrs import frozen

from .._audit import AuditEntry, EntryKind
from ..exceptions import InvalidInput

__all__ = ["FEED_PAGE", "FeedItem", "FeedPage", "check_consumer", "check_page", "move_position"]

FEED_PAGE: Final = 500
"""Entries a feed read returns unless told otherwise."""


@frozen
class FeedItem:
    """One committed entry at its place in the store-wide order.

    Attributes:
        position: The entry's position, from 1, one more for each entry committed.
        entry: The entry, as in its case's trail.
    """

    position: int
    entry: AuditEntry

    @property
    def refused(self) -> bool:
        """Whether the entry records a refused attempt (nothing moved)."""
        return self.entry.kind is EntryKind.REFUSED


@frozen
class FeedPage:
    """Entries after a position, in position order, and where to read on from.

    Attributes:
        items: The entries read, oldest position first (empty: nothing new yet).
        position: The position to pass as ``after`` next: the last item's, or the
            ``after`` this page was read from when it is empty.
    """

    items: tuple[FeedItem, ...]
    position: int


def check_page(after: object, limit: object) -> tuple[int, int]:
    """``after`` and ``limit`` of a feed read, or `InvalidInput` saying which is wrong."""
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise InvalidInput("after", "must be a position: an integer, 0 or more")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput("limit", "must be an integer, 1 or more")
    return after, limit


def _position(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(where, "must be a position: an integer, 0 or more")
    return value


def check_consumer(consumer: object, position: object, expected: object) -> str:
    """A consumer's name and the positions it moves between, checked."""
    if not isinstance(consumer, str) or not consumer.strip():
        raise InvalidInput("consumer", "must be a non-empty name")
    moved_to, moved_from = _position(position, "position"), _position(expected, "expected")
    if moved_to < moved_from:
        raise InvalidInput("position", f"must not go back from {expected} to {position}")
    return consumer


def move_position(conn: Any, m: str, consumer: str, position: int, expected: int) -> bool:  # noqa: ANN401 - a DB-API connection
    """Move an SQL store's row for ``consumer`` from ``expected`` (a new row from 0).

    False when it was not there. ``m`` is the dialect's parameter mark.
    """
    moved = conn.execute(
        f"UPDATE casework_feed_positions SET position = {m}"  # noqa: S608 - fixed names
        f" WHERE consumer = {m} AND position = {m}",
        (position, consumer, expected),
    ).rowcount
    if moved == 1:
        return True
    if expected != 0:
        return False
    insert = "INSERT INTO casework_feed_positions (consumer, position) VALUES ({m}, {m})"
    conn.execute(insert.format(m=m), (consumer, position))
    return True
