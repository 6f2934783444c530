"""Linked cases: the relationships a workflow declares, and each link a case holds.

Cases do not stand alone. The same client comes back after release (a *re-entry*: the
new case references the earlier ones, and its guards count them); the children of one
family are cases *member of* the family's case, and what closing the family's case does
to its open members is declared per kind (`Closing`); a case opened at the unit a
referral was sent to is linked to the sending case as a *referral*, naming the handover
it answers. A link is written to both cases in one commit, each an entry of its own
trail, so either trail alone says who its relatives are; a guard reads a case's links
from the case the step loaded, never from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import field, frozen

__all__ = ["Closing", "Link", "LinkRule", "LinkType", "Side"]


def _roles(value: Iterable[str] | str) -> frozenset[str]:
    return frozenset((value,)) if isinstance(value, str) else frozenset(value)


class LinkType(StrEnum):
    """What a kind of link means."""

    RE_ENTRY = "re_entry"
    """The case is the same client's return: it links to an earlier case."""
    MEMBER_OF = "member_of"
    """The case belongs to a family's (or household's) case; each case to one per kind.

    Membership is one level deep: a family's case is not itself a member, and a member
    has no members, so no chain of memberships can close into a cycle."""
    REFERRAL = "referral"
    """The case was opened at the unit a referral was sent to: it links to the sending
    case and names the referral (`Link.handover`), which only that unit answers."""


class Closing(StrEnum):
    """What closing a family's case does to its member cases still open."""

    LEAVE = "leave"
    """They stay open; each goes on alone."""
    REFUSE = "refuse"
    """The family's case cannot be closed while a member case is open."""
    CLOSE = "close"
    """Each open member takes the kind's ``close_event``, fired by the system actor in
    the same commit; if a member cannot take it, the family's case is not closed."""


class Side(StrEnum):
    """Which end of a link a case holds."""

    TO = "to"
    """The case named by the command: the returning case, the member, or the case
    the referral's receiving unit opened."""
    FROM = "from"
    """The other end: the earlier case, the family's case, or the sending case."""


@frozen
class LinkRule:
    """What a workflow declares for one kind of link.

    Attributes:
        kind: The kind's name, as the workflow files it (``re_entry``, ``family``).
        type: What the kind means (`LinkType`).
        roles: Who may link a case of this workflow this way (empty: anyone who may
            record on it). A referral is linked by whoever may accept the referral.
        on_close: For a membership, what closing the family's case does to a member of
            this workflow that is still open (`Closing`).
        close_event: For ``on_close: close``, the event of this workflow a member takes.
    """

    kind: str
    type: LinkType = field(converter=LinkType)
    roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    on_close: Closing = field(converter=Closing, default=Closing.LEAVE, kw_only=True)
    close_event: str | None = field(default=None, kw_only=True)


@frozen
class Link:
    """One link a case holds.

    Attributes:
        kind: The kind of link.
        other: The case at the other end.
        side: Which end this case holds (`Side`).
        other_opened_at: When the other case was opened (re-entry guards count the
            earlier cases opened within a span).
        at: When the link was made.
        seq: The sequence number of this case's entry that made it.
        type: What the kind meant when the link was made (`LinkType`).
        on_close: For a membership, what closing the family's case does to the member
            (`Closing`), as declared when the link was made.
        handover: For a referral, the sending case's handover the link answers.
    """

    kind: str
    other: str
    side: Side = field(converter=Side)
    other_opened_at: datetime
    at: datetime
    seq: int
    type: LinkType = field(converter=LinkType, default=LinkType.RE_ENTRY, kw_only=True)
    on_close: Closing = field(converter=Closing, default=Closing.LEAVE, kw_only=True)
    handover: str | None = field(default=None, kw_only=True)

    @property
    def holds_member(self) -> bool:
        """Whether this case is the family's end of a membership."""
        return self.type is LinkType.MEMBER_OF and self.side is Side.FROM

    @property
    def is_member(self) -> bool:
        """Whether this case is the member's end of a membership."""
        return self.type is LinkType.MEMBER_OF and self.side is Side.TO

    def to_json(self) -> dict[str, Any]:
        """The JSON form stores keep."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "other": self.other,
            "side": str(self.side),
            "other_opened_at": self.other_opened_at.isoformat(),
            "at": self.at.isoformat(),
            "seq": self.seq,
            "type": str(self.type),
            "on_close": str(self.on_close),
        }
        if self.handover is not None:
            out["handover"] = self.handover
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Link:
        """Invert `to_json`."""
        return cls(
            kind=raw["kind"],
            other=raw["other"],
            side=raw["side"],
            other_opened_at=datetime.fromisoformat(raw["other_opened_at"]),
            at=datetime.fromisoformat(raw["at"]),
            seq=raw["seq"],
            type=raw.get("type", LinkType.RE_ENTRY),
            on_close=raw.get("on_close", Closing.LEAVE),
            handover=raw.get("handover"),
        )
