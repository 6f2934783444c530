"""Oversight: the report's tables and its HTML page, for managers and auditors.

`Engine.report` computes a `Report` in the store (in the database, on the SQL stores):
time in each state and stage (median and 90th percentile), cases opened and closed per
month, refusal, override and reopen rates, and the share of each state's deadlines met,
by workflow version and unit. `report_page` draws
it as one self-contained HTML page with charts; ``casework-flow report`` writes it as
CSV, JSON or that page. The work queues are engine calls (`Engine.awaiting_decision`,
`due_soon`, `overdue_cases`, `idle`, `caseload`); `CASELOAD_GROUPS` names what the
caseload counts by.
"""

from ._engine_queues import CASELOAD_GROUPS
from ._report_page import report_page
from ._reports import DeadlineCount, PeriodCount, Rates, Report, StateTime, figures

__all__ = [
    "CASELOAD_GROUPS",
    "DeadlineCount",
    "PeriodCount",
    "Rates",
    "Report",
    "StateTime",
    "figures",
    "report_page",
]
