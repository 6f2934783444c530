"""Linked cases: the relationships a workflow declares, and each link a case holds.

Cases do not stand alone. The same client comes back after release (a *re-entry*: the
new case references the earlier ones, and its guards count them); the children of one
family are cases *member of* the family's case. A link is written to both cases in one
commit, each an entry of its own trail, so either trail alone says who its relatives
are; a guard reads a case's links from the case the step loaded, never from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import field, frozen

__all__ = ["Link", "LinkRule", "LinkType", "Side"]


def _roles(value: Iterable[str] | str) -> frozenset[str]:
    return frozenset((value,)) if isinstance(value, str) else frozenset(value)


class LinkType(StrEnum):
    """What a kind of link means."""

    RE_ENTRY = "re_entry"
    """The case is the same client's return: it links to an earlier case."""
    MEMBER_OF = "member_of"
    """The case belongs to a family's (or household's) case; each case to one per kind."""


class Side(StrEnum):
    """Which end of a link a case holds."""

    TO = "to"
    """The case named by the command: the returning case, or the member."""
    FROM = "from"
    """The other end: the earlier case, or the family's case."""


@frozen
class LinkRule:
    """What a workflow declares for one kind of link.

    Attributes:
        kind: The kind's name, as the workflow files it (``re_entry``, ``family``).
        type: What the kind means (`LinkType`).
        roles: Who may link a case of this workflow this way (empty: anyone who may
            record on it).
    """

    kind: str
    type: LinkType = field(converter=LinkType)
    roles: frozenset[str] = field(converter=_roles, factory=frozenset)


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
    """

    kind: str
    other: str
    side: Side = field(converter=Side)
    other_opened_at: datetime
    at: datetime
    seq: int

    def to_json(self) -> dict[str, Any]:
        """The JSON form stores keep."""
        return {
            "kind": self.kind,
            "other": self.other,
            "side": str(self.side),
            "other_opened_at": self.other_opened_at.isoformat(),
            "at": self.at.isoformat(),
            "seq": self.seq,
        }

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
        )
