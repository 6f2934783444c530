"""What is due: timers to fire and deadlines passed, found through the store's indexes.

`Engine.due` lists them; `Engine.run_due` fires each due timer once; `Engine.overdue`
reports overdue cases by state and assignee with how late each is. Overdue deadlines are
only ever reported: the library never acts on them by itself.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Final, Protocol

from attrs import frozen

from ._case import Case
from ._clock import to_utc
from ._guard_base import duration
from .exceptions import InvalidInput
from .stores import Query, Store
from .stores._protocol import DEFAULT_LEASE

__all__ = [
    "Due",
    "DueTimer",
    "Outcome",
    "Overdue",
    "OverdueReport",
    "RetentionReport",
    "RunReport",
    "TimerRun",
]

_PAGE: Final = 500


@frozen
class DueTimer:
    """A timer that has fallen due and not fired yet.

    Attributes:
        case_id: The case.
        workflow: Its workflow's name.
        state: The state the timer belongs to.
        timer: The timer's name.
        due_at: When it fell due.
    """

    case_id: str
    workflow: str
    state: str
    timer: str
    due_at: datetime


@frozen
class Overdue:
    """A case past its state's deadline.

    Attributes:
        case_id: The case.
        workflow: Its workflow's name.
        state: The state it is in.
        assignee: Its worker, if any.
        due_at: When the deadline fell due.
        late: How long ago that was.
    """

    case_id: str
    workflow: str
    state: str
    assignee: str | None
    due_at: datetime
    late: timedelta


@frozen
class Due:
    """Everything due at a moment: the answer of `Engine.due`."""

    at: datetime
    timers: tuple[DueTimer, ...]
    overdue: tuple[Overdue, ...]

    def __bool__(self) -> bool:
        return bool(self.timers or self.overdue)


class Outcome(enum.StrEnum):
    """What running one due timer did."""

    FIRED = "fired"
    """The event fired and the case moved (or stayed, by a self-transition)."""
    REFUSED = "refused"
    """A guard or other check refused it; the refusal is in the trail."""
    SKIPPED = "skipped"
    """The case had moved on or another worker got there first: nothing to do."""


@frozen
class TimerRun:
    """One timer run by `Engine.run_due`.

    Attributes:
        case_id: The case.
        timer: The timer's name (None when skipped before one was found).
        event: The event it fired.
        outcome: Fired, refused or skipped.
        from_state: The state before.
        to_state: The state after.
        why: For a refusal, every failed check; for a listener failure, its message.
    """

    case_id: str
    timer: str | None
    event: str | None
    outcome: Outcome
    from_state: str | None = None
    to_state: str | None = None
    why: tuple[str, ...] = ()


@frozen
class RetentionReport:
    """What `Engine.run_retention` did.

    Attributes:
        at: The time it ran for.
        erased: The cases it erased.
        due: The cases whose time is up, for two people to erase.
    """

    at: datetime
    erased: tuple[str, ...]
    due: tuple[str, ...]


@frozen
class RunReport:
    """What one `Engine.run_due` call did."""

    at: datetime
    runs: tuple[TimerRun, ...]

    def _with(self, outcome: Outcome) -> tuple[TimerRun, ...]:
        return tuple(r for r in self.runs if r.outcome is outcome)

    @property
    def fired(self) -> tuple[TimerRun, ...]:
        """The timers whose events fired."""
        return self._with(Outcome.FIRED)

    @property
    def refused(self) -> tuple[TimerRun, ...]:
        """The timers whose events were refused (recorded in the trail)."""
        return self._with(Outcome.REFUSED)

    @property
    def skipped(self) -> tuple[TimerRun, ...]:
        """The claimed cases with nothing left to do."""
        return self._with(Outcome.SKIPPED)


@frozen
class OverdueReport:
    """Overdue cases at a moment, latest first, groupable by state and by assignee."""

    at: datetime
    cases: tuple[Overdue, ...]

    def by_state(self) -> Mapping[str, tuple[Overdue, ...]]:
        """Overdue cases per state, states in name order."""
        return self._group(lambda o: o.state)

    def by_assignee(self) -> Mapping[str, tuple[Overdue, ...]]:
        """Overdue cases per assignee (``(unassigned)`` for none), in name order."""
        return self._group(lambda o: o.assignee or "(unassigned)")

    def _group(self, key: Callable[[Overdue], str]) -> Mapping[str, tuple[Overdue, ...]]:
        groups: dict[str, list[Overdue]] = {}
        for o in self.cases:
            groups.setdefault(key(o), []).append(o)
        return {k: tuple(groups[k]) for k in sorted(groups)}

    def table(self) -> str:
        """The report as text: one block per state, a line per case with its lateness."""
        if not self.cases:
            return f"No case is overdue at {self.at:%Y-%m-%d %H:%M} UTC."
        lines = [f"{len(self.cases)} overdue at {self.at:%Y-%m-%d %H:%M} UTC"]
        for state, cases in self.by_state().items():
            lines.append(f"\n{state} ({len(cases)})")
            width = max(len(o.assignee or "(unassigned)") for o in cases)
            lines += [
                f"  {(o.assignee or '(unassigned)'):<{width}}  {o.case_id}"
                f"  due {o.due_at:%Y-%m-%d %H:%M}  late {duration(o.late)}"
                for o in cases
            ]
        lines.append("")
        lines += [
            f"{who}: {len(cases)} overdue, latest {duration(cases[0].late)}"
            for who, cases in self.by_assignee().items()
        ]
        return "\n".join(lines)


def _pages(store: Store, query: Query, limit: int | None) -> Iterator[Case]:
    after = None
    taken = 0
    while True:
        size = _PAGE if limit is None else min(_PAGE, limit - taken)
        if size <= 0:
            return
        page = store.find(query, limit=size, after=after)
        yield from page.cases
        taken += len(page.cases)
        if page.cursor is None:
            return
        after = page.cursor


def _overdue(case: Case, now: datetime) -> Overdue:
    assert case.deadline is not None  # noqa: S101 - the query selects cases with one
    assert case.deadline.due_at is not None  # noqa: S101
    return Overdue(
        case_id=case.id,
        workflow=case.workflow,
        state=case.state,
        assignee=case.assignee,
        due_at=case.deadline.due_at,
        late=now - case.deadline.due_at,
    )


def moment(value: datetime | None, clock: Callable[[], datetime]) -> datetime:
    """``value`` as UTC, or the clock's time when None."""
    return to_utc(clock() if value is None else value, "now")


def find_due(store: Store, now: datetime, limit: int | None) -> Due:
    """Due timers and overdue deadlines, through the store's indexes."""
    timers = tuple(
        DueTimer(c.id, c.workflow, c.state, c.timer, c.timer_at)
        for c in _pages(store, Query(timers_due=now), limit)
        if c.timer is not None and c.timer_at is not None
    )
    overdue = tuple(_overdue(c, now) for c in _pages(store, Query(due_before=now), limit))
    return Due(now, timers, overdue)


def overdue_report(store: Store, now: datetime, query: Query | None = None) -> OverdueReport:
    """Every overdue case (matching ``query``), latest first."""
    q = Query(
        workflow=query.workflow if query else None,
        version=query.version if query else None,
        state=query.state if query else None,
        assignee=query.assignee if query else None,
        due_before=now,
    )
    cases = sorted((_overdue(c, now) for c in _pages(store, q, None)), key=lambda o: o.due_at)
    return OverdueReport(now, tuple(cases))


class TimerRunner(Protocol):
    """What `run_timers` needs of an engine: its public store and `run_timer`."""

    @property
    def store(self) -> Store:
        """The store cases live in."""
        ...

    def run_timer(self, case_id: str, now: datetime | None = None) -> TimerRun:
        """Fire the case's timer if due."""
        ...


def run_timers(
    engine: TimerRunner, now: datetime, *, batch: int, lease: timedelta = DEFAULT_LEASE
) -> RunReport:
    """Claim due timers batch by batch and run each once, through the engine's public API."""
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 10_000:  # noqa: PLR2004 - page bound
        raise InvalidInput("batch", "must be an integer from 1 to 10000")
    runs: list[TimerRun] = []
    while True:
        claimed = engine.store.claim_timers(now, limit=batch, lease=lease)
        if not claimed:
            return RunReport(now, tuple(runs))
        runs += [engine.run_timer(case_id, now) for case_id in claimed]
