"""Handovers: referrals, transfers and transfer requests, as records on the case.

A referral asks another worker or service to act on the case while its owner keeps it;
a transfer asks another unit (or a named worker there) to take the case over; a
transfer request is the receiving side asking for a case. Each is a `Handover` on the
case, with an id, its parties, its consent evidence and a status that only the parties
the workflow names may move. What a workflow declares per kind is a `HandoverRule`
(in `_parts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from attrs import field, frozen

from ._frozen import FrozenMap, frozen_map

__all__ = [
    "OPEN_STATUSES",
    "Handover",
    "HandoverKind",
    "HandoverStatus",
    "OnClose",
    "OnTransfer",
]


class HandoverKind(StrEnum):
    """What a handover asks for."""

    REFERRAL = "referral"
    """Another worker or service is asked to act on the case; the owner keeps it."""
    TRANSFER = "transfer"
    """Another unit, or a worker there, is asked to take the case over."""
    TRANSFER_REQUEST = "transfer_request"
    """The receiving side asks the case's owner to let it take the case."""


class HandoverStatus(StrEnum):
    """Where a handover stands. Only `IN_PROGRESS` and an accepted referral are open."""

    IN_PROGRESS = "in_progress"
    """Sent, not yet answered."""
    ACCEPTED = "accepted"
    """Accepted: a referral is now being worked on; a transfer moved the case."""
    REJECTED = "rejected"
    """Refused by the addressee (or for them), with a reason."""
    DONE = "done"
    """A referral whose service is done."""
    REVOKED = "revoked"
    """Withdrawn by its sender (or the case's owner)."""
    CANCELLED = "cancelled"
    """Ended by what happened to the case (closed, transferred), as the workflow says."""


OPEN_STATUSES: Final = frozenset({HandoverStatus.IN_PROGRESS, HandoverStatus.ACCEPTED})
KINDS: Final = frozenset(str(k) for k in HandoverKind)
"""Every kind of handover, by name."""


class OnClose(StrEnum):
    """What closing the case (entering a terminal state) does to an open handover."""

    CANCEL = "cancel"
    """The handover is cancelled, with an entry of its own, in the same step."""
    REFUSE = "refuse"
    """The case cannot be closed while the handover is open."""


class OnTransfer(StrEnum):
    """What an accepted transfer does to another open handover or a pending approval."""

    CANCEL = "cancel"
    """It is cancelled, with an entry of its own, in the same step."""
    CARRY = "carry"
    """It stays open; from then on only the receiving unit's people may decide it."""


@frozen
class Handover:
    """One handover on a case.

    Attributes:
        id: Unique on the case (``referral-14``: its kind and its entry's sequence).
        kind: Referral, transfer or transfer request.
        status: Where it stands.
        sent_by: Who started it.
        sent_at: When.
        seq: The sequence number of the entry that started it.
        from_unit: The unit the case belonged to when it was sent.
        to_unit: The unit addressed, if any.
        to_worker: The worker addressed, if any (for a transfer request: who asks).
        reason: Why it was sent.
        service: For a referral, the service asked for (``shelter_placement``).
        evidence: Documents sent with it (consent, a referral letter).
        overridden_by: Who overrode missing consent for it, if anyone.
        answered_by: Who last moved its status, if anyone.
        answered_at: When.
    """

    id: str
    kind: HandoverKind = field(converter=HandoverKind)
    status: HandoverStatus = field(converter=HandoverStatus)
    sent_by: str
    sent_at: datetime
    seq: int
    from_unit: str | None = None
    to_unit: str | None = None
    to_worker: str | None = None
    reason: str | None = None
    service: str | None = None
    evidence: FrozenMap[str] = field(converter=frozen_map, factory=FrozenMap)
    overridden_by: str | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Whether it is still open (sent, or an accepted referral not yet done)."""
        return self.status in OPEN_STATUSES and not (
            self.status is HandoverStatus.ACCEPTED and self.kind is not HandoverKind.REFERRAL
        )

    @property
    def addressee(self) -> str:
        """Whom it is addressed to, in words (a worker, a unit, or both)."""
        if self.to_worker and self.to_unit:
            return f"{self.to_worker} of {self.to_unit}"
        return self.to_worker or self.to_unit or "nobody"

    def to_json(self) -> dict[str, Any]:
        """The JSON form stores keep."""
        return {
            "id": self.id,
            "kind": str(self.kind),
            "status": str(self.status),
            "sent_by": self.sent_by,
            "sent_at": self.sent_at.isoformat(),
            "seq": self.seq,
            "from_unit": self.from_unit,
            "to_unit": self.to_unit,
            "to_worker": self.to_worker,
            "reason": self.reason,
            "service": self.service,
            "evidence": dict(self.evidence),
            "overridden_by": self.overridden_by,
            "answered_by": self.answered_by,
            "answered_at": None if self.answered_at is None else self.answered_at.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Handover:
        """Invert `to_json`."""
        answered_at = raw.get("answered_at")
        return cls(
            id=raw["id"],
            kind=raw["kind"],
            status=raw["status"],
            sent_by=raw["sent_by"],
            sent_at=datetime.fromisoformat(raw["sent_at"]),
            seq=raw["seq"],
            from_unit=raw.get("from_unit"),
            to_unit=raw.get("to_unit"),
            to_worker=raw.get("to_worker"),
            reason=raw.get("reason"),
            service=raw.get("service"),
            evidence=raw.get("evidence", {}),
            overridden_by=raw.get("overridden_by"),
            answered_by=raw.get("answered_by"),
            answered_at=datetime.fromisoformat(answered_at) if answered_at else None,
        )
