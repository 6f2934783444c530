"""Applying a decision: the entry it makes and the case it leaves. Pure and clock-free.

`Engine.fire` and the bounded explorer of `casework_flow.testing` both go through
`apply_decision`, so a step explored in memory is byte for byte the step the engine
would commit.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._audit import ABSENT, AuditEntry, ChainHead, Change, EntryKind, build_entry
from ._calendar import Calendar
from ._case import Case
from ._decide import Decision
from ._definition import Workflow
from ._frozen import EMPTY
from ._guards import GuardContext
from ._timing import retime

__all__ = ["apply_decision"]


def apply_decision(
    case: Case,
    head: ChainHead,
    ctx: GuardContext,
    decision: Decision,
    reason: str | None,
    *,
    workflow: Workflow,
    calendar: Calendar,
    timer: str | None = None,
    details: Mapping[str, str] = EMPTY,
) -> tuple[Case, AuditEntry]:
    """Return the case after the step and the entry recording it.

    A refused decision leaves the case as it was and makes a ``REFUSED`` entry; an
    allowed one makes the new revision and a ``TRANSITION`` entry with the data changes
    and the documents the step added. Deadline and timers move along (`retime`); a
    timer's step, even refused, marks the timer as fired for this stay.
    """
    allowed = decision.allowed
    changes = (
        [
            Change(k, v, case.data.get(k, ABSENT))
            for k, v in sorted(ctx.payload.items())
            if k not in case.data or case.data[k] != v
        ]
        if allowed
        else []
    )
    added = (
        {k: v for k, v in ctx.supplied_evidence.items() if case.evidence.get(k) != v}
        if allowed
        else EMPTY
    )
    entry = build_entry(
        case_id=case.id,
        seq=head.seq + 1,
        kind=EntryKind.TRANSITION if allowed else EntryKind.REFUSED,
        at=ctx.now,
        actor=ctx.actor,
        event=ctx.event,
        from_state=case.state,
        to_state=decision.dest,
        workflow=case.workflow,
        workflow_version=case.version,
        prev_hash=head.hash,
        assignee=case.assignee,
        reason=reason,
        reason_code=ctx.reason_code,
        changes=changes,
        evidence=added,
        verdicts=decision.verdicts,
        timer=timer,
        details=details,
    )
    if not allowed:
        if timer is None:
            return case, entry
        return retime(workflow, calendar, case, case, ctx.now, timer), entry
    moved = case.state != decision.dest
    new_case = Case(
        id=case.id,
        workflow=case.workflow,
        version=case.version,
        state=decision.dest,
        data=ctx.data,
        evidence=ctx.evidence,
        revision=case.revision + 1,
        opened_at=case.opened_at,
        state_entered_at=ctx.now if moved else case.state_entered_at,
        assignee=case.assignee,
        deadline=case.deadline,
        timer=case.timer,
        timer_at=case.timer_at,
        fired=case.fired,
        unit=case.unit,
        transfer=case.transfer,
    )
    if moved or timer is not None:
        new_case = retime(workflow, calendar, case, new_case, ctx.now, timer)
    return new_case, entry
