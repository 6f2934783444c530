"""Cases and the people who act on them, as frozen values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from ._frozen import EMPTY, FrozenMap, freeze, thaw
from ._timing import DeadlineClock

__all__ = ["Actor", "Case"]


def _roles(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


def _map(value: Mapping[str, Any] | None) -> FrozenMap[Any]:
    if not value:
        return EMPTY
    if isinstance(value, FrozenMap):
        return value
    return FrozenMap(value)


@frozen(repr=False)
class Actor:
    """Someone (or something: the ``system`` timer) who fires events.

    Attributes:
        id: A stable id from the host's user directory; never a client's name.
        roles: The roles this actor holds, such as ``social_worker`` or ``supervisor``.

    >>> Actor("sw-017", {"social_worker"})
    <Actor sw-017 social_worker>
    """

    id: str
    roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    sorted_roles: tuple[str, ...] = field(init=False, eq=False, repr=False)
    """The roles in sorted order, as audit entries record them."""

    @sorted_roles.default
    def _sorted_roles(self) -> tuple[str, ...]:
        return tuple(sorted(self.roles))

    def __repr__(self) -> str:
        return f"<Actor {self.id} {','.join(sorted(self.roles)) or '(no roles)'}>"


@frozen(repr=False)
class Case:
    """One client's case at one revision. Only the `Engine` makes new ones.

    Attributes:
        id: The host's case id (``MDN-2024-0173``), never derived from personal data.
        workflow: The workflow's name.
        version: The workflow version the case runs on.
        state: The current state's id.
        data: Facts recorded on the case, deep-frozen JSON data.
        evidence: Documents on file: document kind → the host's reference to it.
        revision: 1 when opened, one more for every committed transition.
        opened_at: When the case was opened (UTC).
        state_entered_at: When the case entered its current state (UTC).
        assignee: The id of the worker who owns the case, if any.
        deadline: The running (or paused) deadline of the state, if it has one.
        timer: The name of the state's next timer to fall due, if any.
        timer_at: When that timer falls due.
        fired: Timers already fired during this stay in the state.
    """

    id: str
    workflow: str
    version: int
    state: str
    data: FrozenMap[Any] = field(converter=_map)
    evidence: FrozenMap[str] = field(converter=_map)
    revision: int
    opened_at: datetime
    state_entered_at: datetime
    assignee: str | None = None
    deadline: DeadlineClock | None = None
    timer: str | None = None
    timer_at: datetime | None = None
    fired: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<Case {self.id} {self.state} rev={self.revision}>"

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stores keep (times as UTC ISO 8601)."""
        return {
            "id": self.id,
            "workflow": self.workflow,
            "version": self.version,
            "state": self.state,
            "data": thaw(self.data),
            "evidence": dict(self.evidence),
            "revision": self.revision,
            "opened_at": self.opened_at.isoformat(),
            "state_entered_at": self.state_entered_at.isoformat(),
            "assignee": self.assignee,
            "deadline": None if self.deadline is None else self.deadline.to_json(),
            "timer": self.timer,
            "timer_at": None if self.timer_at is None else self.timer_at.isoformat(),
            "fired": list(self.fired),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Case:
        """Rebuild a case from `to_json` output."""
        return cls(
            id=raw["id"],
            workflow=raw["workflow"],
            version=raw["version"],
            state=raw["state"],
            data=freeze(raw["data"]),
            evidence=raw["evidence"],
            revision=raw["revision"],
            opened_at=datetime.fromisoformat(raw["opened_at"]),
            state_entered_at=datetime.fromisoformat(raw["state_entered_at"]),
            assignee=raw["assignee"],
            deadline=DeadlineClock.from_json(raw["deadline"]) if raw.get("deadline") else None,
            timer=raw.get("timer"),
            timer_at=datetime.fromisoformat(raw["timer_at"]) if raw.get("timer_at") else None,
            fired=tuple(raw.get("fired", ())),
        )
