"""The in-memory store: the reference implementation of the store protocol.

For tests, simulations and hosts that persist elsewhere. Thread-safe: one lock makes
each create and commit atomic. Cases are frozen values, so handing them out is safe.
Queries scan every case: fine in memory, and the reason durable stores use indexes.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Container, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from .._audit import AuditEntry, ChainHead, EntryKind
from .._case import Case
from .._history import History
from .._reports import Report, Stages, Terminal, figures
from ..exceptions import (
    CaseExists,
    ConcurrentModification,
    FeedPositionConflict,
    InvalidInput,
    UnknownCase,
)
from . import _cursor
from ._feed import FEED_PAGE, FeedItem, FeedPage, check_consumer, check_page
from ._protocol import DEFAULT_LEASE, Change, Page, Query, Snapshot, Stored, check_group

__all__ = ["InMemoryStore"]


class InMemoryStore:
    """Keeps cases and trails in dictionaries.

    >>> InMemoryStore()
    <InMemoryStore cases=0>
    """

    __slots__ = ("_cases", "_feed", "_ids", "_leases", "_lock", "_tracked", "_trails")

    def __init__(self) -> None:
        self._cases: dict[str, Case] = {}
        self._trails: dict[str, list[AuditEntry]] = {}
        self._leases: dict[str, datetime] = {}
        self._ids: list[str] | None = None
        self._feed: list[FeedItem] = []
        self._tracked: dict[str, int] = {}
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

    def create(self, case: Case, entries: Sequence[AuditEntry]) -> None:
        """Store a new case with its trail so far."""
        _same_case(case, entries, new=True)
        with self._lock:
            if case.id in self._cases:
                raise CaseExists(case.id)
            self._cases[case.id] = case
            self._trails[case.id] = list(entries)
            self._append(entries)
            self._ids = None

    def create_many(self, cases: Sequence[tuple[Case, Sequence[AuditEntry]]]) -> None:
        """Store new cases with their trails, all or none."""
        _new_ids(cases)
        with self._lock:
            for case, _ in cases:
                if case.id in self._cases:
                    raise CaseExists(case.id)
            for case, entries in cases:
                self._cases[case.id] = case
                self._trails[case.id] = list(entries)
                self._append(entries)
            self._ids = None

    def load(self, case_id: str, *, history: Container[tuple[str, int]] = frozenset()) -> Snapshot:
        """Return the case and its trail's head (and its trail, for ``history`` keys)."""
        with self._lock:
            try:
                case = self._cases[case_id]
                trail = self._trails[case_id]
            except KeyError:
                raise UnknownCase(case_id) from None
            if (case.workflow, case.version) in history:
                return Snapshot(case, trail[-1].head, History(tuple(trail)))
            return Snapshot(case, trail[-1].head)

    def commit(
        self,
        case: Case,
        entries: Sequence[AuditEntry],
        *,
        expected_revision: int,
    ) -> None:
        """Replace the case and append entries if revision and head are as expected."""
        _same_case(case, entries)
        with self._lock:
            self._check(case, entries, expected_revision)
            self._put(case, entries)

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Commit several cases under one lock, all or nothing."""
        for case, entries, _ in changes:
            _same_case(case, entries)
        with self._lock:
            for case, entries, expected in changes:
                self._check(case, entries, expected)
            for case, entries, _ in changes:
                self._put(case, entries)

    def _put(self, case: Case, entries: Sequence[AuditEntry]) -> None:
        self._cases[case.id] = case
        self._trails[case.id].extend(entries)
        self._append(entries)
        if self._leases:
            self._leases.pop(case.id, None)

    def _check(self, case: Case, entries: Sequence[AuditEntry], expected: int) -> None:
        stored = self._cases.get(case.id)
        if stored is None:
            raise UnknownCase(case.id)
        trail = self._trails[case.id]
        if stored.revision != expected or (
            entries and (entries[0].prev_hash != trail[-1].hash or entries[0].seq != len(trail) + 1)
        ):
            raise ConcurrentModification(case.id, expected, stored.revision)

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return a copy of the case's trail."""
        with self._lock:
            try:
                return tuple(self._trails[case_id])
            except KeyError:
                raise UnknownCase(case_id) from None

    def heads(self) -> Iterator[tuple[str, ChainHead]]:
        """Yield every case's id and head, in id order."""
        with self._lock:
            heads = [
                (cid, trail[-1].head) for cid, trail in self._trails.items() if cid in self._cases
            ]
        return iter(sorted(heads))

    def scan(self, *, after: str | None = None, limit: int = 500) -> Sequence[Stored]:
        """Return up to ``limit`` cases after the id ``after``, each with its trail."""
        _cursor.check_limit(limit)
        with self._lock:
            if self._ids is None:
                self._ids = sorted(self._cases)
            start = 0 if after is None else bisect.bisect_right(self._ids, after)
            ids = self._ids[start : start + limit]
            return [
                Stored(c, self._trails[c][-1].head, self._cases[c], tuple(self._trails[c]))
                for c in ids
            ]

    def stray_trails(self) -> Sequence[str]:
        """Always empty: this store keeps a case and its trail together."""
        return ()

    def _append(self, entries: Sequence[AuditEntry]) -> None:
        start = len(self._feed) + 1
        self._feed.extend(FeedItem(start + i, e) for i, e in enumerate(entries))

    def feed(self, *, after: int = 0, limit: int = FEED_PAGE) -> FeedPage:
        """Return up to ``limit`` committed entries after position ``after``."""
        after, limit = check_page(after, limit)
        with self._lock:
            items = tuple(self._feed[after : after + limit])
        return FeedPage(items, items[-1].position if items else after)

    def tracked(self, consumer: str) -> int:
        """Return the feed position stored for ``consumer`` (0 when none is)."""
        with self._lock:
            return self._tracked.get(check_consumer(consumer, 0, 0), 0)

    def track(self, consumer: str, position: int, *, expected: int) -> None:
        """Store ``consumer``'s feed position, if it is still at ``expected``."""
        name = check_consumer(consumer, position, expected)
        with self._lock:
            stored = self._tracked.get(name, 0)
            if stored != expected:
                raise FeedPositionConflict(name, expected, stored)
            self._tracked[name] = position

    def find(
        self, query: Query | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page:
        """Return one page of matching cases, ordered by id (by due time for due queries)."""
        q = query or Query()
        _cursor.check_limit(limit)
        by_due = q.by_due or q.timers_due is not None
        when = _timer_at if q.timers_due is not None else _due_at
        with self._lock:
            rows = [(when(c), c) for c in self._cases.values() if self._matches(q, c)]
        if by_due:
            rows.sort(key=lambda r: (r[0], r[1].id))
        else:
            rows.sort(key=lambda r: r[1].id)
        if after is not None:
            last_id, last_due = _cursor.decode(after, by_due=by_due)
            if by_due:
                rows = [r for r in rows if (r[0], r[1].id) > (last_due, last_id)]
            else:
                rows = [r for r in rows if r[1].id > last_id]
        page = rows[:limit]
        more = len(rows) > limit
        cursor = _cursor.encode(page[-1][1].id, page[-1][0] if by_due else None) if more else None
        return Page(tuple(c for _, c in page), cursor)

    def count_by_state(self, query: Query | None = None) -> Mapping[str, int]:
        """Return how many matching cases are in each state."""
        q = query or Query()
        with self._lock:
            return dict(Counter(c.state for c in self._cases.values() if self._matches(q, c)))

    def report(
        self,
        terminal: Terminal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        units: frozenset[str | None] | None = None,
        stages: Stages | None = None,
    ) -> Report:
        """The oversight report, folded from the trails in Python (see `Engine.report`)."""
        with self._lock:
            pairs = [
                (c.unit, tuple(self._trails[c.id]))
                for c in self._cases.values()
                if units is None or c.unit in units
            ]
        return figures(pairs, terminal, stages=stages, since=since, until=until)

    def count_by(self, query: Query | None = None, *, by: str) -> Mapping[str | None, int]:
        """Return how many matching cases have each value of ``by`` (see `GROUPS`)."""
        column = check_group(by)
        q = query or Query()
        with self._lock:
            matching = [c for c in self._cases.values() if self._matches(q, c)]
        return dict(Counter(getattr(c, column) for c in matching))

    def claim_timers(
        self, now: datetime, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> tuple[str, ...]:
        """Lease up to ``limit`` cases whose timer is due, skipping cases leased already."""
        _cursor.check_limit(limit)
        with self._lock:
            due = sorted(
                (c.timer_at, c.id)
                for c in self._cases.values()
                if c.timer_at is not None
                and c.timer_at <= now
                and self._leases.get(c.id, now) <= now
            )[:limit]
            for _, case_id in due:
                self._leases[case_id] = now + lease
        return tuple(sorted(case_id for _, case_id in due))

    def _matches(self, q: Query, c: Case) -> bool:
        due = _due_at(c)
        return (
            (q.workflow is None or c.workflow == q.workflow)
            and (q.version is None or c.version == q.version)
            and (q.state is None or c.state == q.state)
            and (q.states is None or c.state in q.states)
            and (q.assignee is None or c.assignee == q.assignee)
            and (q.unit is None or c.unit == q.unit)
            and (q.units is None or c.unit in q.units)
            and (q.opened is None or q.opened[0] <= c.opened_at < q.opened[1])
            and (q.changed is None or q.changed[0] <= self._changed(c.id) < q.changed[1])
            and (q.due_before is None or (due is not None and due < q.due_before))
            and (q.timers_due is None or (c.timer_at is not None and c.timer_at <= q.timers_due))
            and (q.due is None or (due is not None and q.due[0] <= due < q.due[1]))
            and (q.idle_since is None or self._changed(c.id) < q.idle_since)
            and (q.awaiting_roles is None or _awaits(q.awaiting_roles, q.not_requested_by, c))
        )

    def _changed(self, case_id: str) -> datetime:
        """When the case's last step that was not a refusal happened (its opening at least)."""
        return next(
            e.at for e in reversed(self._trails[case_id]) if e.kind is not EntryKind.REFUSED
        )


def _awaits(roles: frozenset[str], not_by: str | None, case: Case) -> bool:
    return any(
        not p.approvers.isdisjoint(roles) and p.requested_by != not_by
        for p in case.approvals.values()
    )


def _due_at(case: Case) -> datetime | None:
    return case.deadline.due_at if case.deadline is not None else None


def _timer_at(case: Case) -> datetime | None:
    return case.timer_at


def _new_ids(cases: Sequence[tuple[Case, Sequence[AuditEntry]]]) -> list[str]:
    """The ids of a batch of new cases, each with its trail; a repeated id is refused."""
    ids: list[str] = []
    seen: set[str] = set()
    for case, entries in cases:
        _same_case(case, entries, new=True)
        if case.id in seen:
            raise InvalidInput("cases", f"{case.id!r} comes twice in one batch")
        seen.add(case.id)
        ids.append(case.id)
    return ids


def _same_case(case: Case, entries: Sequence[AuditEntry], *, new: bool = False) -> None:
    if new and (not entries or entries[0].seq != 1):
        raise InvalidInput("entries", "a new case's trail must start with its opening entry")
    for e in entries:
        if e.case_id != case.id:
            raise InvalidInput("entries", f"entry {e.seq} is for case {e.case_id}, not {case.id}")
