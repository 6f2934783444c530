"""Working-day calendars: which days count, and time measured in working days.

A `Calendar` says which days are worked in an office's own time zone: every day but the
weekend and the public holidays. A working-day deadline counts only time that falls on
working days, so "3 working days" from Monday 10:00 ends on Thursday 10:00, and from
Friday 16:00 ends on Wednesday 16:00. The host supplies the calendar; `load_holidays`
reads a holiday list from a file.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import field, frozen

from ._clock import to_utc
from .exceptions import InvalidInput

__all__ = ["DEFAULT_CALENDAR", "Calendar", "load_holidays"]

_DAY: Final = timedelta(days=1)
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _zone(value: tzinfo | str) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("timezone", f"unknown time zone {value!r}") from None
    raise InvalidInput("timezone", f"expected a time zone name or tzinfo, got {value!r}")


def _weekend(value: Iterable[int | str]) -> frozenset[int]:
    days = set()
    for d in value:
        if isinstance(d, str) and d[:3].lower() in _DAYS:
            days.add(_DAYS.index(d[:3].lower()))
        elif isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6:  # noqa: PLR2004 - weekdays
            days.add(d)
        else:
            raise InvalidInput("weekend", f"{d!r} is not a weekday (0-6 or mon..sun)")
    if len(days) == 7:  # noqa: PLR2004 - a week
        raise InvalidInput("weekend", "a calendar needs at least one working weekday")
    return frozenset(days)


def _holidays(value: Iterable[date]) -> frozenset[date]:
    days = set()
    for d in value:
        if not isinstance(d, date) or isinstance(d, datetime):
            raise InvalidInput("holidays", f"expected dates, got {d!r}")
        days.add(d)
    return frozenset(days)


@frozen
class Calendar:
    """Which days are worked, in the office's time zone.

    Attributes:
        timezone: Where the office is (``"Asia/Jakarta"`` or a `tzinfo`); UTC by default.
        weekend: Days not worked each week: 0 is Monday, or names (``"sat"``, ``"sun"``).
        holidays: Public holidays and other closed days, as dates.

    >>> from datetime import UTC, datetime, date, timedelta
    >>> cal = Calendar("Asia/Jakarta", holidays={date(2024, 8, 17)})
    >>> friday = datetime(2024, 8, 16, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    >>> cal.add(friday, timedelta(days=1)).isoformat()  # Saturday is Independence Day
    '2024-08-19T03:00:00+00:00'
    """

    timezone: tzinfo = field(default=UTC, converter=_zone)
    weekend: frozenset[int] = field(default=frozenset({5, 6}), converter=_weekend)
    holidays: frozenset[date] = field(default=frozenset(), converter=_holidays)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a date in the calendar's time zone) is worked."""
        return day.weekday() not in self.weekend and day not in self.holidays

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time after ``start``.

        Only time on working days counts, so the result is always on a working day, or
        at the very start of the day after one when the amount ends exactly at midnight.
        """
        moment = to_utc(start, "start")
        if amount < timedelta(0):
            raise InvalidInput("amount", "cannot be negative")
        left = amount
        day = moment.astimezone(self.timezone).date()
        while True:
            end = _midnight_after(self.timezone, day)
            if self.is_working_day(day):
                if left <= end - moment:
                    return moment + left
                left -= end - moment
            moment, day = end, day + _DAY

    def between(self, start: datetime, end: datetime) -> timedelta:
        """How much working time lies between ``start`` and ``end``."""
        moment, end = to_utc(start, "start"), to_utc(end, "end")
        total = timedelta(0)
        day = moment.astimezone(self.timezone).date()
        while moment < end:
            stop = min(_midnight_after(self.timezone, day), end)
            if self.is_working_day(day):
                total += stop - moment
            moment, day = stop, day + _DAY
        return total

    def day_of(self, moment: datetime) -> date:
        """The calendar day a deadline at ``moment`` falls on (midnight ends the day before)."""
        local = to_utc(moment, "moment").astimezone(self.timezone)
        if local.time() == time(0):
            return local.date() - _DAY
        return local.date()

    def with_holidays(self, days: Iterable[date]) -> Calendar:
        """A copy with more holidays."""
        return Calendar(self.timezone, self.weekend, self.holidays | _holidays(days))


@functools.lru_cache(maxsize=8192)
def _midnight_after(zone: tzinfo, day: date) -> datetime:
    """The UTC moment the local ``day`` ends in ``zone``: the same for every deadline."""
    return datetime.combine(day + _DAY, time(0), tzinfo=zone).astimezone(UTC)


DEFAULT_CALENDAR: Final = Calendar()
"""Monday to Friday in UTC, no holidays: what an engine uses unless given a calendar."""

_ICS_DATE: Final = re.compile(r"^DTSTART(?:;[^:]*)?:(\d{8})", re.IGNORECASE)


def load_holidays(path: str | Path) -> frozenset[date]:
    """Read a holiday list: one ISO date per line (``2024-08-17,Independence Day``), or iCalendar.

    A text or CSV file has a date first on each line; what follows a comma is a name
    and is ignored, as are blank lines, lines starting with ``#`` and a header line.
    An ``.ics`` file contributes the start date of every event.

    Raises:
        InvalidInput: naming the file and line of anything that is not a date.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(where, f"cannot read the holiday list: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(where, "the holiday list is not UTF-8 text") from None
    days: set[date] = set()
    if text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        for line in text.splitlines():
            match = _ICS_DATE.match(line.strip())
            if match:
                raw = match.group(1)
                days.add(date(int(raw[:4]), int(raw[4:6]), int(raw[6:])))
        return frozenset(days)
    first = True
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        raw = row[0].strip()
        header, first = first and not raw[:1].isdigit(), False
        try:
            days.add(date.fromisoformat(raw))
        except ValueError:
            if header:
                continue
            raise InvalidInput(
                f"{where}, line {number}", f"{raw!r} is not a date (use YYYY-MM-DD)"
            ) from None
    return frozenset(days)
