"""Time: clocks, working-day calendars, deadlines, timers, and what is due or overdue.

The core never reads the wall clock: an `Engine` takes a clock (`system_clock` by
default, a `ManualClock` in tests), and working-day arithmetic counts on a `Calendar`.
"""

from ._calendar import Calendar, load_holidays
from ._clock import Clock, ManualClock, system_clock
from ._due import (
    Due,
    DueTimer,
    Outcome,
    Overdue,
    OverdueReport,
    RetentionReport,
    RunReport,
    TimerRun,
)
from ._timing import Deadline, DeadlineClock, Retention, Timer

__all__ = [
    "Calendar",
    "Clock",
    "Deadline",
    "DeadlineClock",
    "Due",
    "DueTimer",
    "ManualClock",
    "Outcome",
    "Overdue",
    "OverdueReport",
    "Retention",
    "RetentionReport",
    "RunReport",
    "Timer",
    "TimerRun",
    "load_holidays",
    "system_clock",
]
