"""What a step's guards may read of the case's past, as a value loaded with the case.

A guard never reaches into a store. The shell reads the case and, when the workflow's
guards need it, the case's trail up to the head it read, in the same store read; the
pure core then only looks at this value. So a decision is a function of what was loaded,
and two decisions on the same snapshot always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from attrs import field, frozen

from ._audit import AuditEntry, EntryKind

__all__ = ["NO_HISTORY", "History", "doer"]

_TRANSITION: Final = EntryKind.TRANSITION


def doer(entry: AuditEntry) -> str:
    """Who made the step an entry records.

    For a step that waited for approval this is the requester, not the approver: the
    approver is the entry's actor, and ``details["requested_by"]`` names the one whose
    step it was. Separation-of-duties guards (`not_actor_of`) ask about the doer.
    """
    return entry.details.get("requested_by") or entry.actor_id


def _entries(value: Iterable[AuditEntry]) -> tuple[AuditEntry, ...]:
    return tuple(value)


@frozen
class History:
    """A case's trail as its guards see it: the entries loaded with the case, oldest first.

    Attributes:
        entries: Every entry of the trail up to the loaded head (empty when the
            workflow's guards read nothing of the past).

    >>> History().count("record_contact_attempt")
    0
    """

    entries: tuple[AuditEntry, ...] = field(default=(), converter=_entries)

    def committed(self, event: str) -> tuple[AuditEntry, ...]:
        """The committed transitions of ``event``, oldest first."""
        return tuple(e for e in self.entries if e.kind is _TRANSITION and e.event == event)

    def count(self, event: str) -> int:
        """How often ``event`` was committed."""
        return len(self.committed(event))

    def doers(self, event: str) -> frozenset[str]:
        """Who made the committed ``event`` steps (requesters of approved ones)."""
        return frozenset(doer(e) for e in self.committed(event))

    def __len__(self) -> int:
        return len(self.entries)


NO_HISTORY: Final = History()
"""The history of a case whose workflow's guards read nothing of the past."""
