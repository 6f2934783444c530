"""Rebuilding a case from its trail alone, to prove the trail tells the whole story."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ._audit import AuditEntry, ChainHead, EntryKind, verify
from ._calendar import DEFAULT_CALENDAR, Calendar
from ._case import Case
from ._definition import Workflow
from ._migration import migrated
from ._operations import pending_from, record_applied, transfer_applied
from ._timing import retime
from .exceptions import ReplayError

__all__ = ["replay"]


def replay(
    workflows: Workflow | Iterable[Workflow],
    trail: Sequence[AuditEntry],
    *,
    head: ChainHead | None = None,
    calendar: Calendar | None = None,
) -> Case:
    """Rebuild a case from its trail; equal to the stored case when all is well.

    The trail is verified first. Each committed transition must be one the workflow
    defines from the state the case was in; refusals change nothing but the timers a
    refused timer step used up. Pass the engine's ``calendar`` when the workflow has
    working-day deadlines or timers (Monday to Friday, UTC, by default). A case that was
    migrated needs every version its trail passed through: pass them all (any order).

    Raises:
        TrailBroken: if the trail does not verify (against ``head``, if given).
        ReplayError: if the trail does not fit the workflow.
    """
    verify(trail, head=head).raise_if_broken()
    given = [workflows] if isinstance(workflows, Workflow) else list(workflows)
    versions = {w.version: w for w in given}
    first = trail[0]
    workflow = versions.get(first.workflow_version) or next(iter(versions.values()))
    if (first.workflow, first.workflow_version) != workflow.key:
        raise ReplayError(
            first.case_id,
            1,
            f"the case runs on {first.workflow} v{first.workflow_version},"
            f" not {workflow.name} v{workflow.version}",
        )
    if first.to_state != workflow.initial:
        raise ReplayError(first.case_id, 1, f"opened in {first.to_state}, not {workflow.initial}")
    case = Case(
        id=first.case_id,
        workflow=workflow.name,
        version=workflow.version,
        state=first.to_state,
        data={c.field: c.after for c in first.changes},
        evidence=first.evidence,
        revision=1,
        opened_at=first.at,
        state_entered_at=first.at,
        assignee=first.assignee,
        unit=first.details.get("unit"),
    )
    cal = calendar or DEFAULT_CALENDAR
    case = retime(workflow, cal, None, case, first.at)
    for entry in trail[1:]:
        if entry.kind is EntryKind.TRANSITION:
            case = retime(workflow, cal, case, _apply(workflow, case, entry), entry.at, entry.timer)
        elif entry.kind is EntryKind.MIGRATED:
            workflow = _version(versions, case, entry)
            case = migrated(case, entry, workflow, cal)
        elif entry.from_state != case.state or entry.to_state != case.state:
            raise ReplayError(
                case.id, entry.seq, f"a {entry.kind} entry that claims the state changed"
            )
        elif entry.kind is EntryKind.VIEWED:
            continue
        elif entry.kind is EntryKind.REFUSED:
            if entry.timer is not None:
                case = retime(workflow, cal, case, case, entry.at, entry.timer)
        else:
            case = _operation(case, entry)
    return case


def _version(versions: dict[int, Workflow], case: Case, entry: AuditEntry) -> Workflow:
    """The workflow version a ``migrated`` entry moves the case to."""
    new = versions.get(entry.workflow_version)
    if new is None or new.name != case.workflow:
        raise ReplayError(
            case.id, entry.seq,
            f"the case moved to {entry.workflow} v{entry.workflow_version}; pass that version too",
        )  # fmt: skip
    if not new.has_state(entry.to_state):
        raise ReplayError(case.id, entry.seq, f"v{new.version} has no state {entry.to_state}")
    return new


_TRANSFERS = frozenset(
    {EntryKind.TRANSFER_REQUESTED, EntryKind.TRANSFER_ACCEPTED, EntryKind.TRANSFER_REFUSED}
)


def _operation(case: Case, entry: AuditEntry) -> Case:
    """Replay a step that does not move the case: a request, rejection, record, assignment."""
    kind = entry.kind
    if kind is EntryKind.APPROVAL_REQUESTED:
        return pending_from(case, entry)
    if kind is EntryKind.APPROVAL_REJECTED:
        if case.pending is None:
            raise ReplayError(case.id, entry.seq, "a rejection with no request pending")
        return attrs.evolve(case, revision=case.revision + 1, pending=None)
    if kind is EntryKind.RECORDED:
        return record_applied(case, entry)
    if kind is EntryKind.ASSIGNED:
        return attrs.evolve(case, revision=case.revision + 1, assignee=entry.assignee)
    if kind in _TRANSFERS:
        return transfer_applied(case, entry)
    raise ReplayError(case.id, entry.seq, f"a second {kind} entry")


def _apply(workflow: Workflow, case: Case, entry: AuditEntry) -> Case:
    if (entry.workflow, entry.workflow_version) != workflow.key:
        raise ReplayError(case.id, entry.seq, "the entry names another workflow version")
    if entry.from_state != case.state:
        raise ReplayError(
            case.id, entry.seq, f"it leaves {entry.from_state}, but the case was in {case.state}"
        )
    dests = {t.dest or case.state for t in workflow.candidates(case.state, entry.event)}
    if entry.to_state not in dests:
        raise ReplayError(
            case.id,
            entry.seq,
            f"the workflow has no {entry.event} from {case.state} to {entry.to_state}",
        )
    moved = entry.to_state != case.state
    return Case(
        id=case.id,
        workflow=case.workflow,
        version=case.version,
        state=entry.to_state,
        data=case.data.merged({c.field: c.after for c in entry.changes}),
        evidence=case.evidence.merged(entry.evidence),
        revision=case.revision + 1,
        opened_at=case.opened_at,
        state_entered_at=entry.at if moved else case.state_entered_at,
        assignee=entry.assignee,
        unit=case.unit,
        transfer=case.transfer,
    )
