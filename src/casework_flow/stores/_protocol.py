"""What the engine needs from a store, and nothing more.

A store keeps cases and their trails. Its one write that matters is `Store.commit`: the
new case and its new entries land together or not at all, and only if nobody else got
there first. Two checks decide that, both made inside the store's transaction:

- the case's stored revision equals ``expected_revision`` (no lost update of the case);
- the first new entry's ``prev_hash`` equals the stored head's hash (no fork of the
  trail, which also serialises refusals that leave the revision alone).

Either check failing raises `ConcurrentModification` and writes nothing. SQL stores get
the second check for free from a primary key on (case id, sequence number).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from attrs import frozen

from .._audit import AuditEntry, ChainHead
from .._case import Case

__all__ = ["Snapshot", "Store"]


@frozen
class Snapshot:
    """A case as stored, with the head of its trail.

    Attributes:
        case: The case at its latest revision.
        head: The last entry of its trail (which may be a refusal).
    """

    case: Case
    head: ChainHead


@runtime_checkable
class Store(Protocol):
    """The store protocol. `InMemoryStore` is the reference implementation."""

    def create(self, case: Case, entry: AuditEntry) -> None:
        """Store a new case with its opening entry, atomically.

        Raises:
            CaseExists: if the id is taken; nothing is written.
        """

    def load(self, case_id: str) -> Snapshot:
        """Return the case and its trail's head.

        Raises:
            UnknownCase: if there is no such case.
        """

    def commit(self, case: Case, entries: Sequence[AuditEntry], *, expected_revision: int) -> None:
        """Replace the case and append entries, atomically, if nobody else did first.

        Raises:
            UnknownCase: if there is no such case.
            ConcurrentModification: if the revision or the trail's head moved on.
        """

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's whole trail, oldest first.

        Raises:
            UnknownCase: if there is no such case.
        """

    def __len__(self) -> int:
        """Return how many cases are stored."""
