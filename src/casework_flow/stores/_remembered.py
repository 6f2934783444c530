"""What an SQL store remembers between calls: parsed cases and each case's trail so far.

A step loads a case row and, when its guards read the past, every entry up to the row's
head. Both are immutable once written: a case row's text always parses to the same
case, and the entries up to a head (sequence number and hash) never change. So the store
keeps, per case, the last trail it read or wrote with the head it ends at, and on the
next load reads only the entries after that head, checking that the first of them links
to it. The head names the whole chain: a rolled-back step, another process's step, or a
rewrite of the row all show as a different head and a fresh read. What remembering does
not see is an edit to an entry already remembered, which only `Engine.verify` (it never
uses this) is there to catch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from .._audit import AuditEntry, ChainHead

__all__ = ["Lru", "Trails"]

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A mapping of at most ``size`` items that forgets the least recently used; thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, now the most recently used, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key``, forgetting the oldest item past the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Trails:
    """Each case's trail up to a head, as last read or committed by this store."""

    def __init__(self, size: int = 2048) -> None:
        self._kept: Lru[str, tuple[AuditEntry, ...]] = Lru(size)

    def upto(
        self,
        case_id: str,
        head: ChainHead,
        read_after: Callable[[int], tuple[AuditEntry, ...]],
        read_all: Callable[[], tuple[AuditEntry, ...]],
    ) -> tuple[AuditEntry, ...]:
        """The case's entries up to ``head``, reading from the store only what is new.

        ``read_after(seq)`` reads the entries after ``seq`` up to the head;
        ``read_all()`` reads them all.
        """
        kept = self._kept.get(case_id)
        if kept and kept[-1].seq == head.seq and kept[-1].hash == head.hash:
            return kept
        entries: tuple[AuditEntry, ...] | None = None
        if kept and kept[-1].seq < head.seq:
            newer = read_after(kept[-1].seq)
            if newer and newer[0].prev_hash == kept[-1].hash and newer[-1].head == head:
                entries = kept + newer
        if entries is None:
            entries = read_all()
        if entries and entries[-1].head == head:
            self._kept.put(case_id, entries)
        return entries

    def extend(self, case_id: str, entries: tuple[AuditEntry, ...]) -> None:
        """After a commit: the kept trail grows by ``entries`` if they follow it."""
        if not entries:
            return
        kept = self._kept.get(case_id)
        if kept and kept[-1].head == ChainHead(entries[0].seq - 1, entries[0].prev_hash):
            self._kept.put(case_id, kept + entries)
        elif entries[0].seq == 1:
            self._kept.put(case_id, entries)
