"""Cases and the people who act on them, as frozen values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from attrs import Factory, field, frozen

from ._frozen import FrozenMap, freeze, frozen_map, thaw
from ._handover import Handover
from ._links import Link
from ._timing import DeadlineClock

__all__ = ["MASK", "Actor", "Case", "CaseView", "Pending"]

MASK: Final = "***"
"""What a personal value is replaced with for someone who may not see it."""


def _roles(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


def _unit_roles(value: Mapping[str, Iterable[str] | str]) -> FrozenMap[frozenset[str]]:
    if isinstance(value, FrozenMap):
        return value
    return FrozenMap({unit: _roles(roles) for unit, roles in dict(value).items()})


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _links(value: Iterable[Link]) -> tuple[Link, ...]:
    return tuple(value)


@frozen(repr=False)
class Actor:
    """Someone (or something: the ``system`` timer) who fires events.

    Attributes:
        id: A stable id from the host's user directory; never a client's name.
        roles: The roles this actor holds, such as ``social_worker`` or ``supervisor``.
        units: The units or organisations the actor works for (``dinsos-medan``,
            ``upt-binjai``); a transfer is accepted or refused by someone of the
            receiving unit. Every unit of ``unit_roles`` is one of them.
        unit_roles: Roles held in one unit only (``{"dinsos-medan": {"supervisor"},
            "upt-binjai": {"social_worker"}}``): on a case the actor holds ``roles`` and
            the roles of the unit that owns the case, or of the unit an open handover on
            it is addressed to. A host whose people hold the same roles everywhere
            leaves it empty.

    >>> Actor("sw-017", {"social_worker"})
    <Actor sw-017 social_worker>
    >>> units = {"dinsos-medan": {"supervisor"}, "upt-binjai": "social_worker"}
    >>> lina = Actor("lina", unit_roles=units)
    >>> sorted(lina.units), lina.in_units({"upt-binjai"}).roles
    (['dinsos-medan', 'upt-binjai'], frozenset({'social_worker'}))
    """

    id: str
    roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    units: frozenset[str] = field(converter=_roles, factory=frozenset, kw_only=True)
    unit_roles: FrozenMap[frozenset[str]] = field(
        converter=_unit_roles, factory=lambda: FrozenMap({}), kw_only=True
    )
    sorted_roles: tuple[str, ...] = field(init=False, eq=False, repr=False)
    """The roles in sorted order, as audit entries record them."""

    def __attrs_post_init__(self) -> None:
        if not self.unit_roles.keys() <= self.units:
            object.__setattr__(self, "units", self.units.union(self.unit_roles))

    @sorted_roles.default
    def _sorted_roles(self) -> tuple[str, ...]:
        return tuple(sorted(self.roles))

    def in_units(self, units: Iterable[str | None]) -> Actor:
        """The actor with the roles they hold in any of ``units`` added to ``roles``."""
        extra = frozenset().union(*(self.unit_roles.get(u, ()) for u in units if u))
        if extra <= self.roles:
            return self
        return Actor(self.id, self.roles | extra, units=self.units, unit_roles=self.unit_roles)

    def __repr__(self) -> str:
        return f"<Actor {self.id} {','.join(sorted(self.roles)) or '(no roles)'}>"


@frozen
class Pending:
    """A requested step waiting for approval, with everything it was requested with.

    Attributes:
        kind: The approval's kind (the event's name unless the workflow names one).
        event: The event requested.
        requested_by: Who requested it.
        requested_at: When.
        request_seq: The sequence number of the request's audit entry.
        requested_roles: The roles the requester acted with.
        dest: Where the case goes if the request is approved.
        approvers: The roles that may approve it.
        data: Data given with the request.
        evidence: Documents given with the request.
        reason: The reason given.
        reason_code: The reason code given.
        overridden_by: Who overrode missing consent for the request, if anyone; the
            approval re-checks the step with the same override.
        overridden_roles: The roles that person acted with.
        approved_by: Who has approved so far, when the approval needs several people.
        rejected_by: Who has rejected so far, when it takes several rejections to end it.
    """

    event: str
    requested_by: str
    requested_at: datetime
    request_seq: int
    requested_roles: frozenset[str] = field(converter=_roles)
    kind: str = field(kw_only=True)
    dest: str = field(kw_only=True)
    approvers: frozenset[str] = field(converter=_roles, kw_only=True)
    data: FrozenMap[Any] = field(converter=frozen_map, factory=FrozenMap)
    evidence: FrozenMap[str] = field(converter=frozen_map, factory=FrozenMap)
    reason: str | None = None
    reason_code: str | None = None
    overridden_by: str | None = None
    overridden_roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    approved_by: tuple[str, ...] = field(converter=_names, default=(), kw_only=True)
    rejected_by: tuple[str, ...] = field(converter=_names, default=(), kw_only=True)

    def voted(self, actor_id: str) -> bool:
        """Whether ``actor_id`` has voted on this request already."""
        return actor_id in self.approved_by or actor_id in self.rejected_by

    def to_json(self) -> dict[str, Any]:
        """The JSON form stores keep."""
        out = self._json()
        if self.approved_by or self.rejected_by:
            out["approved_by"] = list(self.approved_by)
            out["rejected_by"] = list(self.rejected_by)
        return out

    def _json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event": self.event,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "request_seq": self.request_seq,
            "requested_roles": sorted(self.requested_roles),
            "dest": self.dest,
            "approvers": sorted(self.approvers),
            "data": thaw(self.data),
            "evidence": dict(self.evidence),
            "reason": self.reason,
            "reason_code": self.reason_code,
            "overridden_by": self.overridden_by,
            "overridden_roles": sorted(self.overridden_roles),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Pending:
        """Invert `to_json`."""
        return cls(
            kind=raw.get("kind", raw["event"]),
            event=raw["event"],
            requested_by=raw["requested_by"],
            requested_at=datetime.fromisoformat(raw["requested_at"]),
            request_seq=raw["request_seq"],
            requested_roles=raw["requested_roles"],
            dest=raw["dest"],
            approvers=raw["approvers"],
            data=freeze(raw["data"]),
            evidence=raw["evidence"],
            reason=raw["reason"],
            reason_code=raw["reason_code"],
            overridden_by=raw.get("overridden_by"),
            overridden_roles=raw.get("overridden_roles", ()),
            approved_by=raw.get("approved_by", ()),
            rejected_by=raw.get("rejected_by", ()),
        )


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
        approvals: The requests waiting for approval, by approval kind.
        unit: The unit or organisation that owns the case.
        handovers: The case's handovers (referrals, transfers, transfer requests)
            by id, open and closed; `open_handovers` are the open ones.
        configuration: The innermost states the case is in, one per active track, in
            document order: ``(state,)`` unless the workflow has stages. ``state`` is
            then the innermost state holding all of them (the parallel stage whose
            tracks the case is in).
        history: For each stage with ``history`` the case has left, the state it was
            left in.
        entered: When the case entered each active state, stages included (empty in
            a workflow with no stages: ``state_entered_at`` says it).
        links: The case's links to other cases (`Link`), oldest first: the earlier
            cases of a returning client, the family case it is a member of, and so on.
        erased_at: When its personal values were erased (`Engine.erase`), if they were.
    """

    id: str
    workflow: str
    version: int
    state: str
    data: FrozenMap[Any] = field(converter=frozen_map)
    evidence: FrozenMap[str] = field(converter=frozen_map)
    revision: int
    opened_at: datetime
    state_entered_at: datetime
    assignee: str | None = None
    deadline: DeadlineClock | None = None
    timer: str | None = None
    timer_at: datetime | None = None
    fired: tuple[str, ...] = ()
    approvals: FrozenMap[Pending] = field(converter=frozen_map, factory=FrozenMap)
    unit: str | None = None
    handovers: FrozenMap[Handover] = field(converter=frozen_map, factory=FrozenMap)
    configuration: tuple[str, ...] = field(
        converter=_names, kw_only=True, default=Factory(lambda self: (self.state,), takes_self=True)
    )
    history: FrozenMap[str] = field(converter=frozen_map, factory=FrozenMap, kw_only=True)
    entered: FrozenMap[datetime] = field(converter=frozen_map, factory=FrozenMap, kw_only=True)
    links: tuple[Link, ...] = field(converter=_links, default=(), kw_only=True)
    erased_at: datetime | None = field(default=None, kw_only=True)

    def __repr__(self) -> str:
        return f"<Case {self.id} {self.state} rev={self.revision}>"

    @property
    def open_handovers(self) -> tuple[Handover, ...]:
        """The handovers still open, oldest first."""
        return tuple(h for h in self.handovers.values() if h.open)

    def handover(self, kind: str) -> Handover | None:
        """The most recent open handover of ``kind`` (``transfer``...), if any."""
        found = [h for h in self.open_handovers if h.kind == kind]
        return found[-1] if found else None

    def entered_at(self, state: str) -> datetime:
        """When the case entered ``state`` (active now), a stage or the current state."""
        return self.entered.get(state) or self.state_entered_at

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stores keep (times as UTC ISO 8601)."""
        out = self._json()
        if self.configuration != (self.state,) or self.entered or self.history:
            out["configuration"] = list(self.configuration)
            out["history"] = dict(self.history)
            out["entered"] = {k: v.isoformat() for k, v in self.entered.items()}
        if self.links:
            out["links"] = [link.to_json() for link in self.links]
        if self.erased_at is not None:
            out["erased_at"] = self.erased_at.isoformat()
        return out

    def _json(self) -> dict[str, Any]:
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
            "approvals": {k: p.to_json() for k, p in self.approvals.items()},
            "unit": self.unit,
            "handovers": {k: h.to_json() for k, h in self.handovers.items()},
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
            approvals={k: Pending.from_json(p) for k, p in raw.get("approvals", {}).items()},
            unit=raw.get("unit"),
            handovers={k: Handover.from_json(h) for k, h in raw.get("handovers", {}).items()},
            configuration=raw.get("configuration") or (raw["state"],),
            history=raw.get("history", {}),
            entered={k: datetime.fromisoformat(v) for k, v in raw.get("entered", {}).items()},
            links=[Link.from_json(link) for link in raw.get("links", ())],
            erased_at=datetime.fromisoformat(raw["erased_at"]) if raw.get("erased_at") else None,
        )


@frozen
class CaseView:
    """A case as one actor may see it, from `Engine.read`.

    Attributes:
        case: The case, with the personal fields the actor may not read replaced by
            ``"***"``.
        masked: The personal fields masked for this actor.
        shown: The personal fields shown (and, if the workflow says so, logged).
    """

    case: Case
    masked: tuple[str, ...]
    shown: tuple[str, ...]
