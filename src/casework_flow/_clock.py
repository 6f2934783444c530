"""Where time comes from: an injectable clock, so the core never reads the wall clock.

Every time the library stores is timezone-aware and normalised to UTC. A naive datetime
is refused, because "3 days in assessment" means nothing without knowing whose midnight.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from .exceptions import InvalidInput

__all__ = ["Clock", "ManualClock", "system_clock", "to_utc"]


class Clock(Protocol):
    """Anything that, called with no arguments, returns the current aware datetime."""

    def __call__(self) -> datetime: ...


def system_clock() -> datetime:
    """Return the current time in UTC; the default clock."""
    return datetime.now(UTC)


def to_utc(value: datetime, where: str = "time") -> datetime:
    """Return ``value`` in UTC, refusing a naive datetime.

    >>> from datetime import timezone, timedelta
    >>> to_utc(datetime(2024, 3, 4, 9, 0, tzinfo=timezone(timedelta(hours=7))))
    datetime.datetime(2024, 3, 4, 2, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(value, datetime):
        raise InvalidInput(where, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is UTC:
        return value
    offset = value.utcoffset()
    if offset is None:
        raise InvalidInput(where, f"{value.isoformat()} has no timezone; pass an aware datetime")
    return value.astimezone(UTC)


class ManualClock:
    """A clock that stands still until moved: for tests, replays and simulations.

    >>> clock = ManualClock(datetime(2024, 3, 4, 8, 0, tzinfo=UTC))
    >>> clock.advance(days=2)
    >>> clock().isoformat()
    '2024-03-06T08:00:00+00:00'
    """

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = to_utc(start, "start")

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **parts: float) -> None:
        """Move forward by ``delta`` or by ``timedelta(**parts)``; never backwards."""
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta(0):
            raise InvalidInput("delta", "a clock cannot go backwards")
        self._now += step

    def set(self, when: datetime) -> None:
        """Jump to ``when``, which must not be earlier than now."""
        when = to_utc(when, "when")
        if when < self._now:
            raise InvalidInput("when", "a clock cannot go backwards")
        self._now = when
