"""Guards: the conditions of a transition, as values that explain themselves.

Measures read one value from the situation of an attempted step and comparisons turn
them into guards; guards combine with ``&``, ``|`` and ``~``. Every guard says in words
why it held or failed (a `Verdict`), and a refusal lists every failed check at once.

>>> from datetime import timedelta
>>> silent = (count("record_contact_attempt") >= 3) & (
...     span("record_contact_attempt") >= timedelta(days=7)
... )
>>> silent.text
'count(record_contact_attempt) >= 3 and span(record_contact_attempt) >= 7 days'
"""

from ._guards import (
    Guard,
    GuardContext,
    Measure,
    always,
    check,
    consent,
    count,
    evidence,
    fact,
    handover,
    in_state,
    linked,
    not_actor_of,
    not_assignee,
    span,
    time_in_state,
    time_since_opened,
    traced,
)
from ._history import History
from ._verdict import CheckKind, Verdict

__all__ = [
    "CheckKind",
    "Guard",
    "GuardContext",
    "History",
    "Measure",
    "Verdict",
    "always",
    "check",
    "consent",
    "count",
    "evidence",
    "fact",
    "handover",
    "in_state",
    "linked",
    "not_actor_of",
    "not_assignee",
    "span",
    "time_in_state",
    "time_since_opened",
    "traced",
]
