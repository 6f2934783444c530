"""The in-memory store: the reference implementation of the store protocol.

For tests, simulations and hosts that persist elsewhere. Thread-safe: one lock makes
each create and commit atomic. Cases are frozen values, so handing them out is safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from .._audit import AuditEntry
from .._case import Case
from ..exceptions import CaseExists, ConcurrentModification, InvalidInput, UnknownCase
from ._protocol import Snapshot

__all__ = ["InMemoryStore"]


class InMemoryStore:
    """Keeps cases and trails in dictionaries.

    >>> InMemoryStore()
    <InMemoryStore cases=0>
    """

    __slots__ = ("_cases", "_lock", "_trails")

    def __init__(self) -> None:
        self._cases: dict[str, Case] = {}
        self._trails: dict[str, list[AuditEntry]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<InMemoryStore cases={len(self._cases)}>"

    def __len__(self) -> int:
        return len(self._cases)

    def __iter__(self) -> Iterator[Case]:
        """Iterate over a snapshot of the stored cases."""
        with self._lock:
            cases = list(self._cases.values())
        return iter(cases)

    def create(self, case: Case, entry: AuditEntry) -> None:
        """Store a new case with its opening entry."""
        _same_case(case, (entry,))
        with self._lock:
            if case.id in self._cases:
                raise CaseExists(case.id)
            self._cases[case.id] = case
            self._trails[case.id] = [entry]

    def load(self, case_id: str) -> Snapshot:
        """Return the case and its trail's head."""
        with self._lock:
            try:
                return Snapshot(self._cases[case_id], self._trails[case_id][-1].head)
            except KeyError:
                raise UnknownCase(case_id) from None

    def commit(self, case: Case, entries: Sequence[AuditEntry], *, expected_revision: int) -> None:
        """Replace the case and append entries if revision and head are as expected."""
        _same_case(case, entries)
        with self._lock:
            stored = self._cases.get(case.id)
            if stored is None:
                raise UnknownCase(case.id)
            trail = self._trails[case.id]
            if stored.revision != expected_revision or (
                entries
                and (entries[0].prev_hash != trail[-1].hash or entries[0].seq != len(trail) + 1)
            ):
                raise ConcurrentModification(case.id, expected_revision, stored.revision)
            self._cases[case.id] = case
            trail.extend(entries)

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return a copy of the case's trail."""
        with self._lock:
            try:
                return tuple(self._trails[case_id])
            except KeyError:
                raise UnknownCase(case_id) from None


def _same_case(case: Case, entries: Sequence[AuditEntry]) -> None:
    for e in entries:
        if e.case_id != case.id:
            raise InvalidInput("entries", f"entry {e.seq} is for case {e.case_id}, not {case.id}")
