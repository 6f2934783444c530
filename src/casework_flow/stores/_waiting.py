"""The SQL stores' table of requests waiting for approval, for approvers' queues.

One row per waiting request and approver role: which case, the approval's kind, the
role that may decide it, who requested it and when. The case's own row keeps every
request in its JSON; this table only lets ``Query(awaiting_roles=...)`` reach the cases
that wait for a role through an index instead of reading every case. Its rows are
rewritten in the step's transaction whenever the step may have changed the requests:
when the case has any now, or an entry of the step can end one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .._audit import AuditEntry, EntryKind
from .._case import Case

__all__ = [
    "DELETE",
    "INSERT",
    "SCHEMA",
    "insert",
    "replace",
    "rows",
    "term",
    "touches",
    "unit_filter",
]

SCHEMA: Final = (
    (
        "CREATE TABLE casework_waiting ("
        " case_id TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " requested_by TEXT NOT NULL,"
        " requested_at {big} NOT NULL,"
        " unit TEXT,"
        " PRIMARY KEY (case_id, kind, role))"
    ),
    "CREATE INDEX casework_waiting_role ON casework_waiting (role, unit, case_id)",
    (
        "CREATE INDEX casework_cases_unit_due ON casework_cases (unit, due_at, id)"
        " WHERE due_at IS NOT NULL"
    ),
    "CREATE INDEX casework_cases_unit_state ON casework_cases (unit, state, changed_at)",
    "CREATE INDEX casework_cases_unit_assignee ON casework_cases (unit, assignee)",
)
"""The table and its index, and the case indexes of one unit's queues (deadlines, idle
cases, caseload by state and by assignee), as one schema migration's statements."""

DELETE: Final = "DELETE FROM casework_waiting WHERE case_id = {m}"
INSERT: Final = (
    "INSERT INTO casework_waiting (case_id, kind, role, requested_by, requested_at, unit)"
    " VALUES ({m}, {m}, {m}, {m}, {m}, {m})"
)

_ENDS: Final = frozenset(
    {EntryKind.APPROVAL_REJECTED, EntryKind.APPROVAL_CANCELLED, EntryKind.MIGRATED}
)
"""The kinds of entry that end a waiting request (a rejection, a cancellation by a move,
a transfer or a timer, a migration), besides the approved step's own transition."""


def rows(case: Case) -> list[tuple[str, str, str, str, int, str | None]]:
    """The case's rows: (case id, kind, role, requested by, requested at in µs, unit)."""
    from ._sql import micros  # noqa: PLC0415 - _sql imports this module for its schema

    return [
        (case.id, kind, role, pending.requested_by, micros(pending.requested_at), case.unit)
        for kind, pending in sorted(case.approvals.items())
        for role in sorted(pending.approvers)
    ]


def touches(case: Case, entries: Sequence[AuditEntry]) -> bool:
    """Whether a step that wrote ``entries`` may have changed the case's waiting rows."""
    return bool(case.approvals) or any(
        e.kind in _ENDS or (e.kind is EntryKind.TRANSITION and "approval_kind" in e.details)
        for e in entries
    )


def term(
    roles: frozenset[str],
    not_by: str | None,
    units: frozenset[str | None] | None,
    mark: str,
) -> tuple[str, list[Any]]:
    """The WHERE term (on ``casework_cases``) for ``awaiting_roles`` and ``not_requested_by``.

    ``units`` (the query's) narrows the waiting rows too, so that an approver's queue in
    one unit reads only that unit's rows of the index.
    """
    if not roles:
        return "1 = 0", []
    names = sorted(roles)
    sql = (
        "id IN (SELECT case_id FROM casework_waiting"  # noqa: S608 - fixed names
        f" WHERE role IN ({', '.join([mark] * len(names))})"
    )
    params: list[Any] = list(names)
    if units is not None:
        unit_term, unit_params = unit_filter(units, mark)
        sql += f" AND {unit_term}"
        params += unit_params
    if not_by is not None:
        sql += f" AND requested_by <> {mark}"
        params.append(not_by)
    return sql + ")", params


def insert(conn: Any, cases: Sequence[Case], mark: str) -> None:  # noqa: ANN401 - a DB-API connection
    """Add the rows of new cases (an import's may wait for approval)."""
    found = [r for case in cases for r in rows(case)]
    if found:
        conn.cursor().executemany(INSERT.format(m=mark), found)


def replace(conn: Any, case: Case, mark: str) -> None:  # noqa: ANN401 - a DB-API connection
    """Put the case's rows in place of those it had, inside the step's transaction."""
    conn.execute(DELETE.format(m=mark), (case.id,))
    insert(conn, [case], mark)


def unit_filter(units: frozenset[str | None], mark: str) -> tuple[str, list[Any]]:
    """``unit`` in ``units``, where None stands for no unit."""
    names = sorted(u for u in units if u is not None)
    terms = [f"unit IN ({', '.join([mark] * len(names))})"] if names else []
    if None in units:
        terms.append("unit IS NULL")
    if not terms:
        return "1 = 0", []
    return "(" + " OR ".join(terms) + ")", list(names)
