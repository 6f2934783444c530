"""Deadlines and timers: what a state declares, and the clock each case carries.

A state may declare a `Deadline` (how long a case may stay in it, in calendar or working
time, paused while the case waits in certain other states) and `Timer` s (after so long
in the state, an event fires on its own as the system actor). The case carries the
running `DeadlineClock` and its next timer; `timing` moves them along with every step.
It is pure: the time of the step and the host's `Calendar` are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from attrs import field, frozen

from ._calendar import Calendar

if TYPE_CHECKING:
    from ._case import Case
    from ._definition import Workflow

__all__ = [
    "Deadline",
    "DeadlineClock",
    "Retention",
    "Timer",
    "Timing",
    "ended_deadline",
    "next_active_timer",
    "next_timer",
    "staged_timing",
    "timing",
]


def _states(value: Iterable[str] | str) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


@frozen
class Deadline:
    """How long a case may stay in a state before it is overdue.

    Attributes:
        within: The time allowed (``timedelta(days=3)``).
        working: Count only time on the calendar's working days.
        pause_in: States where the case waits on someone outside; while it is in one of
            them the deadline stands still, and it runs on when the case comes back. A
            deadline already missed does not pause: the case stays overdue.
    """

    within: timedelta
    working: bool = False
    pause_in: frozenset[str] = field(default=frozenset(), converter=_states)

    def describe(self) -> str:
        """The deadline in words (``3 working days``)."""
        return _span(self.within, working=self.working)


@frozen
class Timer:
    """An event that fires on its own after a time in the state, as the system actor.

    The time counts from when the case entered the state; a step that keeps the case in
    the state does not restart it, leaving the state cancels it. When it falls due,
    `Engine.run_due` fires ``event`` once, with every guard checked; a refusal is
    recorded like any other, and the timer does not fire again during that stay.

    Attributes:
        after: How long the case must have been in the state.
        event: The event to fire.
        working: Count only time on the calendar's working days.
        reason: The written reason recorded with the step.
        reason_code: The reason code given with the step, if the transition wants one.
        name: The name the trail records (the event's name by default).
    """

    after: timedelta
    event: str
    working: bool = False
    reason: str | None = None
    reason_code: str | None = None
    name: str = field()

    @name.default
    def _name(self) -> str:
        return self.event

    def describe(self) -> str:
        """The timer in words (``family_unresponsive after 14 days``)."""
        return f"{self.event} after {_span(self.after, working=self.working)}"


def _span(amount: timedelta, *, working: bool) -> str:
    kind = "working day" if working else "day"
    if amount % timedelta(days=1):
        hours = amount / timedelta(hours=1)
        return f"{hours:g} {'working hours' if working else 'hours'}"
    days = amount.days
    return f"{days} {kind}{'' if days == 1 else 's'}"


@frozen
class DeadlineClock:
    """A case's running deadline.

    Attributes:
        state: The state whose deadline this is.
        started_at: When the case entered that state.
        used: Time counted before the current run (the deadline's own kind of time).
        since: When the current run started; None while paused.
        due_at: When the case falls overdue; None while paused.
    """

    state: str
    started_at: datetime
    used: timedelta
    since: datetime | None
    due_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The JSON form stores keep."""
        return {
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "used_us": _micros(self.used),
            "since": None if self.since is None else self.since.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DeadlineClock:
        """Invert `to_json`."""
        return cls(
            state=raw["state"],
            started_at=datetime.fromisoformat(raw["started_at"]),
            used=timedelta(microseconds=raw["used_us"]),
            since=None if raw["since"] is None else datetime.fromisoformat(raw["since"]),
            due_at=None if raw["due_at"] is None else datetime.fromisoformat(raw["due_at"]),
        )


def _micros(d: timedelta) -> int:
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _add(calendar: Calendar, start: datetime, amount: timedelta, *, working: bool) -> datetime:
    if not working:
        return start + amount
    if amount <= timedelta(0):
        return start + amount
    return calendar.add(start, amount)


def _elapsed(calendar: Calendar, start: datetime, end: datetime, *, working: bool) -> timedelta:
    return calendar.between(start, end) if working else end - start


def _clock(
    workflow: Workflow, calendar: Calendar, clock: DeadlineClock | None, state: str, at: datetime
) -> DeadlineClock | None:
    """The deadline clock after the case moved to ``state`` at ``at``."""
    if clock is not None:
        spec = workflow.state(clock.state).deadline
        if spec is not None and state == clock.state:
            if clock.since is not None:
                return clock
            left = spec.within - clock.used
            return attrs.evolve(
                clock, since=at, due_at=_add(calendar, at, left, working=spec.working)
            )
        if spec is not None and state in spec.pause_in:
            if clock.since is None or (clock.due_at is not None and at >= clock.due_at):
                return clock
            used = clock.used + _elapsed(calendar, clock.since, at, working=spec.working)
            return attrs.evolve(clock, used=used, since=None, due_at=None)
    own = workflow.state(state).deadline
    if own is None:
        return None
    due = _add(calendar, at, own.within, working=own.working)
    return DeadlineClock(state=state, started_at=at, used=timedelta(0), since=at, due_at=due)


Timing = tuple[DeadlineClock | None, str | None, datetime | None, tuple[str, ...]]
"""A case's timing fields: deadline clock, next timer, when it is due, timers fired."""


def ended_deadline(
    before: DeadlineClock | None, after: DeadlineClock | None, at: datetime
) -> dict[str, str]:
    """What a step that turns deadline clock ``before`` into ``after`` at ``at`` records.

    A clock ends when the step leaves it behind (the case is no longer under that
    state's deadline, or under a new run of it); the step's entry then says whose
    deadline it was, when it was due and whether it was met (left by ``due_at``; a
    paused clock had time left). Reports count deadlines met from these records, as
    the due time depends on the calendar and pauses, which SQL does not know.
    """
    if before is None or (
        after is not None and (after.state, after.started_at) == (before.state, before.started_at)
    ):
        return {}
    met = before.due_at is None or at <= before.due_at
    due = "" if before.due_at is None else before.due_at.isoformat()
    return {"deadline": before.state, "deadline_due": due, "deadline_met": "yes" if met else "no"}


def timing(  # noqa: PLR0917 - a pure function of everything a step's timing needs
    workflow: Workflow,
    calendar: Calendar,
    before: Case | None,
    state: str,
    entered: datetime,
    at: datetime,
    fired: str | None = None,
) -> Timing:
    """The timing fields of a case that is in ``state`` (entered at ``entered``) after a step.

    ``before`` is the case before the step (None for an opening), ``fired`` the timer
    the step fired, if it was a timer's; the new case is given by its state and the time
    it entered it.
    """
    moved = before is None or before.state != state
    deadline = before.deadline if before is not None else None
    if moved:
        deadline = _clock(workflow, calendar, deadline, state, at)
    done = () if moved or before is None else before.fired
    if fired is not None:
        done = (*done, fired)
    timer, timer_at = next_timer(workflow, state, entered, done, calendar)
    return deadline, timer, timer_at, done


def next_timer(
    workflow: Workflow,
    state: str,
    entered: datetime,
    fired: tuple[str, ...],
    calendar: Calendar,
) -> tuple[str | None, datetime | None]:
    """The state's next timer not yet fired in this stay, and when it falls due."""
    timer, timer_at = None, None
    for t in workflow.state(state).timers:
        if t.name in fired:
            continue
        due = _add(calendar, entered, t.after, working=t.working)
        if timer_at is None or due < timer_at:
            timer, timer_at = t.name, due
    return timer, timer_at


def _staged_clock(
    workflow: Workflow,
    calendar: Calendar,
    clock: DeadlineClock | None,
    active: frozenset[str],
    at: datetime,
) -> DeadlineClock | None:
    """`_clock` for a configuration: a stage's deadline runs while any state inside is."""
    if clock is not None:
        spec = workflow.state(clock.state).deadline
        if spec is not None and clock.state in active:
            if clock.since is not None:
                return clock
            left = spec.within - clock.used
            return attrs.evolve(
                clock, since=at, due_at=_add(calendar, at, left, working=spec.working)
            )
        if spec is not None and not active.isdisjoint(spec.pause_in):
            if clock.since is None or (clock.due_at is not None and at >= clock.due_at):
                return clock
            used = clock.used + _elapsed(calendar, clock.since, at, working=spec.working)
            return attrs.evolve(clock, used=used, since=None, due_at=None)
    for state in workflow.tree.ordered(active):
        own = workflow.state(state).deadline
        if own is not None:
            due = _add(calendar, at, own.within, working=own.working)
            return DeadlineClock(state, started_at=at, used=timedelta(0), since=at, due_at=due)
    return None


def staged_timing(
    workflow: Workflow,
    calendar: Calendar,
    before: Case | None,
    after: Case,
    *,
    at: datetime,
    fired: str | None = None,
) -> Timing:
    """`timing` for a workflow with stages: the case is ``after`` but for its timing.

    Every active state's timers count from when the case entered that state, so a
    stage's timer runs on while the case moves inside it; a timer already fired stays
    fired while its state stays active. The one deadline clock (the build refuses two
    that could run at once) belongs to the active state that declares one.
    """
    tree = workflow.tree
    active = tree.active(after.configuration)
    moved = before is None or before.configuration != after.configuration
    done: tuple[str, ...] = ()
    if before is None:
        deadline = _staged_clock(workflow, calendar, None, active, at)
    elif moved:
        deadline = _staged_clock(workflow, calendar, before.deadline, active, at)
        stayed = active & tree.active(before.configuration)
        names = {t.name for s in stayed for t in workflow.state(s).timers}
        done = tuple(n for n in before.fired if n in names)
    else:
        deadline, done = before.deadline, before.fired
    if fired is not None:
        done = (*done, fired)
    timer, timer_at = next_active_timer(workflow, calendar, after, active, done)
    return deadline, timer, timer_at, done


def next_active_timer(
    workflow: Workflow,
    calendar: Calendar,
    case: Case,
    active: frozenset[str],
    fired: tuple[str, ...],
) -> tuple[str | None, datetime | None]:
    """`next_timer` over every active state, each counting from when the case entered it."""
    timer, timer_at = None, None
    for state in workflow.tree.ordered(active):
        for t in workflow.state(state).timers:
            if t.name in fired:
                continue
            due = _add(calendar, case.entered_at(state), t.after, working=t.working)
            if timer_at is None or due < timer_at:
                timer, timer_at = t.name, due
    return timer, timer_at


def _plus_years(when: datetime, years: int) -> datetime:
    """``when`` so many calendar years on (29 February becomes 28 February)."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


@frozen
class Retention:
    """How long a case's personal data is kept once it is closed, and what then.

    In a workflow file: ``retention: {keep: P5Y, erase: true}``.

    Attributes:
        years: Calendar years kept after the case reaches a terminal state.
        more: Time kept besides the years (``keep: P1Y6W`` is a year and six weeks).
        erase: Whether `Engine.run_retention` then erases the values itself, as the
            system actor; otherwise it lists the case as due, for two people with an
            erasing role to decide (`Engine.erase`).
    """

    years: int = 0
    more: timedelta = timedelta(0)
    erase: bool = False

    def __attrs_post_init__(self) -> None:
        if self.years < 0 or self.more < timedelta(0) or not (self.years or self.more):
            raise ValueError("retention must keep data for some positive time")

    def due(self, closed_at: datetime) -> datetime:
        """When the personal values of a case closed at ``closed_at`` fall due for erasure."""
        return _plus_years(closed_at, self.years) + self.more
