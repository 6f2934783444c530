"""The outcome of one check on one attempted transition, in words a social worker reads."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from attrs import frozen

__all__ = ["CheckKind", "Verdict"]


class CheckKind(StrEnum):
    """What kind of check a `Verdict` is about."""

    STATE = "state"
    """The event is not possible from the case's current state."""
    ROLE = "role"
    """The actor lacks every role the transition allows."""
    DATA = "data"
    """A data field the transition requires was not supplied."""
    REASON = "reason"
    """A written reason or a reason code is missing or not on the list."""
    GUARD = "guard"
    """A guard on the case's facts, evidence, time or history."""


@frozen(cache_hash=True)
class Verdict:
    """One check's result.

    Attributes:
        kind: Which kind of check this was.
        check: What was checked, short (``family_contact_attempts >= 3``, ``role``).
        passed: Whether it held.
        why: A full sentence for a person ("family_contact_attempts is 1; at least 3
            needed").
        dest: The destination of the candidate transition it was checked for, if any.
    """

    kind: CheckKind
    check: str
    passed: bool
    why: str
    dest: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stored in audit entries."""
        return {
            "kind": self.kind,
            "check": self.check,
            "passed": self.passed,
            "why": self.why,
            "dest": self.dest,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Verdict:
        """Rebuild a verdict from `to_json` output."""
        return cls(
            kind=CheckKind(raw["kind"]),
            check=raw["check"],
            passed=raw["passed"],
            why=raw["why"],
            dest=raw.get("dest"),
        )
