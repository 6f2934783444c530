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

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

import attrs
from attrs import field, frozen

from .._audit import AuditEntry, ChainHead
from .._case import Actor, Case
from .._definition import Workflow
from .._snapshot import Snapshot
from ..exceptions import StoreError
from ._feed import FEED_PAGE, FeedPage

__all__ = [
    "DEFAULT_LEASE",
    "GROUPS",
    "Change",
    "Page",
    "Query",
    "Snapshot",
    "Store",
    "Stored",
    "check_group",
    "every_stored",
]

DEFAULT_LEASE: Final = timedelta(minutes=5)

GROUPS: Final = ("state", "unit", "assignee", "workflow")
"""What `Store.count_by` groups by: columns every store keeps for its queries."""


def check_group(by: str) -> str:
    """``by`` if it is one of `GROUPS`.

    Raises:
        InvalidInput: naming the groups there are.
    """
    if by not in GROUPS:
        from ..exceptions import InvalidInput  # noqa: PLC0415 - keeps the protocol module light

        raise InvalidInput("by", f"cannot count by {by!r}; by one of {', '.join(GROUPS)}")
    return by


Change = tuple[Case, Sequence[AuditEntry], int]
"""One case's part of `Store.commit_many`: the case, its new entries, the revision expected."""


def every_stored(store: Store, *, page: int = 500) -> Iterator[Stored]:
    """Every case in ``store``, in case id order, ``page`` cases read at a time."""
    after: str | None = None
    while True:
        batch = store.scan(after=after, limit=page)
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].case_id


def _window(value: tuple[datetime, datetime] | None) -> tuple[datetime, datetime] | None:
    if value is None:
        return None
    from .._clock import to_utc  # noqa: PLC0415 - keeps the protocol module light

    start, end = value
    return (to_utc(start, "from"), to_utc(end, "to"))


def _moment(value: datetime | None, where: str) -> datetime | None:
    from .._clock import to_utc  # noqa: PLC0415 - keeps the protocol module light

    return None if value is None else to_utc(value, where)


def _due_before(value: datetime | None) -> datetime | None:
    return _moment(value, "due_before")


def _timers_due(value: datetime | None) -> datetime | None:
    return _moment(value, "timers_due")


def _idle_since(value: datetime | None) -> datetime | None:
    return _moment(value, "idle_since")


def _names(value: Iterable[str] | str | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


def _units(value: Iterable[str | None] | str | None) -> frozenset[str | None] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


@frozen
class Query:
    """Which cases to find. Every filter given must hold; none given means all cases.

    Attributes:
        workflow: Cases of this workflow.
        version: ... and of this version (with ``workflow``).
        state: Cases in this state.
        assignee: Cases assigned to this worker id.
        unit: Cases owned by this unit or organisation.
        opened: Cases opened in ``[start, end)``.
        changed: Cases whose last committed step is in ``[start, end)``.
        due_before: Cases whose running deadline falls due strictly before this (that
            is, overdue at this time); ordered by due time.
        timers_due: Cases whose next timer is due at or before this; ordered by when
            it fell due.
        states: Cases in any of these states (`in_stage` fills it for a stage).
        units: Cases owned by any of these units (`for_actor` fills it with the units
            an actor works in); None among them stands for cases of no unit.
        due: Cases whose running deadline falls due in ``[start, end)`` (due soon,
            when ``start`` is now); ordered by due time.
        idle_since: Cases with no committed step since this time (refusals do not
            count): the stale ones.
        awaiting_roles: Cases with a request waiting for approval that one of these
            roles may decide.
        not_requested_by: With ``awaiting_roles``: such a request made by someone
            else than this person (an approver's queue leaves out their own).
    """

    workflow: str | None = None
    version: int | None = None
    state: str | None = None
    assignee: str | None = None
    unit: str | None = None
    opened: tuple[datetime, datetime] | None = field(default=None, converter=_window)
    changed: tuple[datetime, datetime] | None = field(default=None, converter=_window)
    due_before: datetime | None = field(default=None, converter=_due_before)
    timers_due: datetime | None = field(default=None, converter=_timers_due)
    states: frozenset[str] | None = field(default=None, converter=_names)
    units: frozenset[str | None] | None = field(default=None, converter=_units)
    due: tuple[datetime, datetime] | None = field(default=None, converter=_window)
    idle_since: datetime | None = field(default=None, converter=_idle_since)
    awaiting_roles: frozenset[str] | None = field(default=None, converter=_names)
    not_requested_by: str | None = field(default=None)

    @not_requested_by.validator
    def _check_requester(self, _: object, value: str | None) -> None:
        if value is not None and self.awaiting_roles is None:
            from ..exceptions import InvalidInput  # noqa: PLC0415 - keeps the protocol module light

            raise InvalidInput("not_requested_by", "means something only with awaiting_roles")

    @property
    def by_due(self) -> bool:
        """Whether pages are ordered by the deadline's due time (then case id)."""
        return self.due_before is not None or self.due is not None

    def for_actor(self, actor: Actor) -> Query:
        """This query narrowed to the cases of the units ``actor`` works in.

        An actor who names no units is not scoped, and the query is left as it is; a
        case reached only through a handover addressed to the actor's unit is not
        listed (the receiving unit lists its handovers).
        """
        if not actor.units:
            return self
        units = actor.units if self.units is None else actor.units & self.units
        return attrs.evolve(self, units=units)

    @classmethod
    def in_stage(cls, workflow: Workflow, stage: str) -> Query:
        """Cases of this workflow version in ``stage``: in it, or in any state inside it.

        Raises:
            InvalidInput: if the workflow has no such state, or it lies inside a track
                (a case in tracks is stored under its parallel stage: query that, and
                read each case's ``configuration``).
        """
        from ..exceptions import InvalidInput  # noqa: PLC0415 - keeps the protocol module light

        tree = workflow.tree
        if not workflow.has_state(stage):
            raise InvalidInput("stage", f"{workflow.name} v{workflow.version} has no state {stage}")
        if any(tree.is_parallel(up) for up in tree.ancestors(stage)):
            raise InvalidInput(
                "stage",
                f"{stage} is inside a track; query its parallel stage and read each"
                " case's configuration",
            )
        inside = frozenset(s.id for s in workflow.all_states if tree.is_within(s.id, stage))
        return cls(workflow=workflow.name, version=workflow.version, states=inside)


@frozen
class Page:
    """One page of a query's results, in a stable order.

    The order is by case id; for ``timers_due`` by the timer's time, for ``due_before``
    and ``due`` by the deadline's, and then by case id.

    Attributes:
        cases: The cases on this page.
        cursor: Pass it back as ``after`` for the next page; None on the last page.
    """

    cases: tuple[Case, ...]
    cursor: str | None


@frozen
class Stored:
    """All a store holds of one case, read together, for a sweep over every case.

    Attributes:
        case_id: The case row's id.
        head: The head its row records.
        case: The case, or None if its row cannot be read.
        trail: Its entries, oldest first, up to the first that cannot be read.
        problem: Why a row cannot be read (the error names the entry), or None.
    """

    case_id: str
    head: ChainHead
    case: Case | None
    trail: tuple[AuditEntry, ...]
    problem: StoreError | None = None


@runtime_checkable
class Store(Protocol):
    """The store protocol. `InMemoryStore` is the reference implementation."""

    def create(self, case: Case, entries: Sequence[AuditEntry]) -> None:
        """Store a new case with its trail so far, atomically.

        The trail is the opening entry, or a whole imported trail.

        Raises:
            CaseExists: if the id is taken; nothing is written.
        """

    def create_many(self, cases: Sequence[tuple[Case, Sequence[AuditEntry]]]) -> None:
        """Store several new cases, each with its trail, atomically: all or none.

        Raises:
            CaseExists: naming a case whose id is taken; nothing is written.
            InvalidInput: if an id comes twice in the batch.
        """

    def load(self, case_id: str, *, history: Container[tuple[str, int]] = frozenset()) -> Snapshot:
        """Return the case and its trail's head, in one consistent read.

        Args:
            case_id: The case.
            history: The ``(workflow, version)`` keys whose cases are loaded with their
                trail up to the head read (`Snapshot.history`): the workflows whose
                guards read the past.

        Raises:
            UnknownCase: if there is no such case.
        """

    def commit(self, case: Case, entries: Sequence[AuditEntry], *, expected_revision: int) -> None:
        """Replace the case and append entries, atomically, if nobody else did first.

        Raises:
            UnknownCase: if there is no such case.
            ConcurrentModification: if the revision or the trail's head moved on.
        """

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Commit several cases at once, all or nothing.

        Each change is ``(case, entries, expected_revision)``, checked as `commit`
        checks one; if any check fails, nothing at all is written.

        Raises:
            UnknownCase: if a case is not stored.
            ConcurrentModification: if any case moved on; nothing is written.
        """

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's whole trail, oldest first.

        Raises:
            UnknownCase: if there is no such case.
        """

    def find(
        self, query: Query | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page:
        """Return one page of the cases matching ``query``.

        Raises:
            InvalidInput: if ``after`` is not a cursor this query returned.
        """

    def count_by_state(self, query: Query | None = None) -> Mapping[str, int]:
        """Return how many cases matching ``query`` are in each state."""

    def count_by(self, query: Query | None = None, *, by: str) -> Mapping[str | None, int]:
        """Return how many cases matching ``query`` have each value of ``by``.

        ``by`` is one of `GROUPS`: ``state``, ``unit``, ``assignee`` or ``workflow``;
        cases with no unit or no assignee are counted under None.

        Raises:
            InvalidInput: if ``by`` is not one of them.
        """

    def claim_timers(
        self, now: datetime, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> tuple[str, ...]:
        """Lease up to ``limit`` cases whose next timer is due at ``now``.

        A leased case is not handed to another caller until ``now + lease`` or until
        the case is next committed, so several workers running timers at once share
        the work instead of racing for it. The lease is an optimisation only: the
        revision check of `commit` is what makes each timer fire once.
        """

    def heads(self) -> Iterator[tuple[str, ChainHead]]:
        """Yield every case's id and the head its row records, a page at a time."""

    def scan(self, *, after: str | None = None, limit: int = 500) -> Sequence[Stored]:
        """Return up to ``limit`` cases after the id ``after``, each with its whole trail.

        Each case comes from one consistent read of its row and its entries; the order
        is the store's order of ids, so passing the last id back reads the next page.
        """

    def stray_trails(self) -> Sequence[str]:
        """The case ids that have entries but no case row (a case deleted underneath)."""

    def feed(self, *, after: int = 0, limit: int = FEED_PAGE) -> FeedPage:
        """Return up to ``limit`` committed entries after position ``after``, in order.

        Positions count every entry committed to the store, refusals included, from 1.
        An entry still being committed is never skipped: a later read returns it before
        anything at a higher position (see `casework_flow.stores.FeedItem`).

        Raises:
            InvalidInput: if ``after`` or ``limit`` is not a position or a count.
        """

    def tracked(self, consumer: str) -> int:
        """Return the feed position stored for ``consumer`` (0 when none is)."""

    def track(self, consumer: str, position: int, *, expected: int) -> None:
        """Store ``consumer``'s feed position, if it is still at ``expected``.

        On a store joined to the host's transaction the position commits or rolls back
        with the host's own writes.

        Raises:
            FeedPositionConflict: if the stored position is not ``expected``; nothing is
                written.
            InvalidInput: if the position goes back.
        """

    def __len__(self) -> int:
        """Return how many cases are stored."""
