"""Applying a decision: the entry it makes and the case it leaves. Pure and clock-free.

`Engine.fire` and the bounded explorer of `casework_flow.testing` both go through
`apply_decision`, so a step explored in memory is byte for byte the step the engine
would commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._audit import ABSENT, AuditEntry, ChainHead, Change, EntryKind, build_entry
from ._calendar import Calendar
from ._case import Case
from ._decide import Decision
from ._definition import Workflow
from ._frozen import EMPTY, adopt
from ._guards import GuardContext
from ._timing import retime, timing

__all__ = ["apply_decision"]

_TRANSITION: Final = EntryKind.TRANSITION
_REFUSED: Final = EntryKind.REFUSED


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
    and the documents the step added; a request waiting for approval is settled by it.
    Deadline and timers move along (`retime`); a timer's step, even refused, marks the
    timer as fired for this stay.
    """
    allowed = decision.allowed
    if allowed:
        data = case.data
        payload = ctx.payload
        changes = (
            tuple(
                Change(k, v, data.get(k, ABSENT))
                for k, v in sorted(payload.items())
                if k not in data or data[k] != v
            )
            if payload
            else ()
        )
        supplied = ctx.supplied_evidence
        on_file = case.evidence
        added = (
            adopt({k: v for k, v in supplied.items() if on_file.get(k) != v}) if supplied else EMPTY
        )
    else:
        changes, added = (), EMPTY
    entry = build_entry(
        case_id=case.id,
        seq=head.seq + 1,
        kind=_TRANSITION if allowed else _REFUSED,
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
    dest = decision.dest
    moved = case.state != dest
    entered = ctx.now if moved else case.state_entered_at
    if (moved or timer is not None) and workflow.timed:
        deadline, next_timer, timer_at, fired = timing(
            workflow, calendar, case, dest, entered, ctx.now, timer
        )
    else:
        deadline, next_timer, timer_at, fired = case.deadline, case.timer, case.timer_at, case.fired
    new_case = Case(  # by position, in field order: this runs on every step
        case.id, case.workflow, case.version, dest, ctx.data, ctx.evidence, case.revision + 1,
        case.opened_at, entered, case.assignee, deadline, next_timer, timer_at, fired, None,
        case.unit, case.transfer,
    )  # fmt: skip
    return new_case, entry
