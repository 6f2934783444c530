"""`decide`: every rule of a step, as one pure function.

Given the registered workflows, the case as loaded (with its trail's head and the
history its guards read), a command and the time of the step, `decide` returns the
entries to append, or a refusal with every reason and the refusal's own entry. It does
no I/O and reads no clock; `evolve` turns each entry into the next case. The engine's
commands, the timer runner and `testing.explore` all decide here; replay, import and
migration fold `evolve` over what was decided.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import singledispatch
from typing import Any

from attrs import frozen

from ._audit import ABSENT, AuditEntry, ChainHead, Change, EntryKind, build_entry, genesis_hash
from ._case import Actor, Case, CaseView
from ._catalog import Catalog
from ._checks import (
    approval_checks,
    assign_checks,
    record_checks,
    refusal,
    transfer_answer_checks,
    transfer_request_checks,
    waiting,
)
from ._commands import (
    AnswerTransfer,
    Approve,
    Assign,
    Command,
    Fire,
    Migrate,
    Open,
    Record,
    Reject,
    Transfer,
    View,
)
from ._compiled import CompiledWorkflow, Decision, refused
from ._definition import Workflow
from ._frozen import EMPTY, FrozenMap, adopt
from ._guards import GuardContext
from ._migration import plan_case
from ._overrides import consider_override
from ._privacy import masked_view
from ._snapshot import Snapshot
from ._verdict import CheckKind, Verdict
from .exceptions import UnknownEvent

__all__ = ["StepResult", "decide", "open_case"]


@frozen
class StepResult:
    """What `decide` says of a command.

    Attributes:
        event: The event the command concerns (``assign``, ``transfer``...).
        entries: The entries to append: the step's, or the refusal's own entry.
        refused: Every failed check; empty when the command is allowed.
        decision: For a fired or approved event, the `Decision` behind it.
        binding: A refusal that must be committed whatever the shell's settings (a
            timer's refused step spends the timer).
        view: For a read, the case as the reader may see it.
    """

    event: str
    entries: tuple[AuditEntry, ...]
    refused: tuple[Verdict, ...] = ()
    decision: Decision | None = None
    binding: bool = False
    view: CaseView | None = None

    @property
    def allowed(self) -> bool:
        """Whether the command goes through."""
        return not self.refused


def _entry(  # noqa: PLR0917 - the common fields of every entry, by position
    case: Case,
    head: ChainHead,
    kind: EntryKind,
    now: datetime,
    actor: Actor,
    event: str,
    *,
    to_state: str | None = None,
    assignee: str | None = None,
    reason: str | None = None,
    reason_code: str | None = None,
    changes: Sequence[Change] = (),
    evidence: Mapping[str, str] = EMPTY,
    verdicts: Sequence[Verdict] = (),
    timer: str | None = None,
    details: Mapping[str, str] = EMPTY,
    workflow: Workflow | None = None,
) -> AuditEntry:
    return build_entry(
        case_id=case.id,
        seq=head.seq + 1,
        kind=kind,
        at=now,
        actor=actor,
        event=event,
        from_state=case.state,
        to_state=to_state or case.state,
        workflow=case.workflow if workflow is None else workflow.name,
        workflow_version=case.version if workflow is None else workflow.version,
        prev_hash=head.hash,
        assignee=case.assignee if assignee is None else assignee,
        reason=reason,
        reason_code=reason_code,
        changes=changes,
        evidence=evidence,
        verdicts=verdicts,
        timer=timer,
        details=details,
    )


def _refusal(  # noqa: PLR0917 - the refusal's own fields
    snap: Snapshot,
    actor: Actor,
    event: str,
    now: datetime,
    problems: Sequence[Verdict],
    details: Mapping[str, str] = EMPTY,
) -> StepResult:
    entry = _entry(
        snap.case, snap.head, EntryKind.REFUSED, now, actor, event, verdicts=problems,
        details=details,
    )  # fmt: skip
    return StepResult(event, (entry,), refused=tuple(problems))


def _changes(data: FrozenMap[Any], payload: Mapping[str, Any]) -> tuple[Change, ...]:
    return tuple(
        Change(k, v, data.get(k, ABSENT))
        for k, v in sorted(payload.items())
        if k not in data or data[k] != v
    )


def _added(on_file: FrozenMap[str], supplied: Mapping[str, str]) -> FrozenMap[str]:
    return adopt({k: v for k, v in supplied.items() if on_file.get(k) != v})


def open_case(catalog: Catalog, command: Open, now: datetime) -> AuditEntry:
    """The opening entry of a new case (opening is never refused by a rule)."""
    wf = catalog.workflow(command.workflow, command.version)
    return build_entry(
        case_id=command.case_id,
        seq=1,
        kind=EntryKind.OPENED,
        at=now,
        actor=command.actor,
        event="open",
        from_state=None,
        to_state=wf.initial,
        workflow=wf.name,
        workflow_version=wf.version,
        prev_hash=genesis_hash(command.case_id),
        assignee=command.assignee,
        changes=[Change(k, v) for k, v in sorted(command.data.items())],
        evidence=command.evidence,
        details={"unit": command.unit} if command.unit else EMPTY,
    )


@frozen
class _Step:
    """What every handler of `decide` reads besides its command."""

    catalog: Catalog
    compiled: CompiledWorkflow
    snap: Snapshot
    now: datetime


def decide(catalog: Catalog, snap: Snapshot, command: Command, now: datetime) -> StepResult:
    """Decide a command on a loaded case: the entries it appends, or why it is refused.

    Pure: the same arguments always give the same outcome, and nothing is read or
    written. A refusal's outcome still carries the refusal's entry, for the shell to
    record.
    """
    case = snap.case
    compiled = catalog.compiled(case.workflow, case.version)
    return _decide(command, _Step(catalog, compiled, snap, now))


@singledispatch
def _decide(command: object, step: _Step) -> StepResult:
    raise TypeError(f"not a command: {command!r} at {step!r}")


@_decide.register
def _fire(command: Fire, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    wf = compiled.workflow
    if not wf.has_event(command.event):
        near = difflib.get_close_matches(command.event, wf.events, n=2)
        raise UnknownEvent(case.id, command.event, case.workflow, near)
    ctx = GuardContext(
        case=case,
        actor=command.actor,
        event=command.event,
        payload=command.data,
        evidence=command.evidence,
        now=now,
        reason_code=command.reason_code,
        history=snap.history,
    )
    details: Mapping[str, str] = EMPTY
    if case.pending is not None:
        decision = refused(ctx, (waiting(case.pending),))
    else:
        decision = compiled.choose(ctx, command.reason)
        if not decision.allowed and command.override_by is not None:
            decision, details = consider_override(
                compiled.workflow, ctx, command.reason, decision, command.override_by
            )
    if not decision.allowed:
        entry = _entry(
            case, snap.head, EntryKind.REFUSED, now, command.actor, command.event,
            reason=command.reason, reason_code=command.reason_code,
            verdicts=decision.verdicts, timer=command.timer,
        )  # fmt: skip
        return StepResult(
            command.event,
            (entry,),
            refused=decision.reasons,
            decision=decision,
            binding=command.timer is not None,
        )
    t = decision.transition
    if t is not None and t.approval is not None:
        approvers = ",".join(sorted(t.approval.roles))
        entry = _entry(
            case, snap.head, EntryKind.APPROVAL_REQUESTED, now, command.actor, command.event,
            reason=command.reason, reason_code=command.reason_code,
            changes=[Change(k, v) for k, v in sorted(command.data.items())],
            evidence=command.evidence, verdicts=decision.verdicts, timer=command.timer,
            details={**details, "dest": decision.dest, "approvers": approvers},
        )  # fmt: skip
        return StepResult(command.event, (entry,), decision=decision)
    entry = _entry(
        case, snap.head, EntryKind.TRANSITION, now, command.actor, command.event,
        to_state=decision.dest, reason=command.reason, reason_code=command.reason_code,
        changes=_changes(case.data, command.data), evidence=_added(case.evidence, command.evidence),
        verdicts=decision.verdicts, timer=command.timer, details=details,
    )  # fmt: skip
    return StepResult(command.event, (entry,), decision=decision)


@_decide.register
def _approve(command: Approve, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    pending = case.pending
    problems = approval_checks(case, command.actor, deciding="approve")
    if problems or pending is None:
        event = pending.event if pending is not None else "approve"
        return _refusal(snap, command.actor, event, now, problems, {"decision": "approval refused"})
    requester = Actor(pending.requested_by, pending.requested_roles)
    ctx = GuardContext(
        case=case,
        actor=requester,
        event=pending.event,
        payload=pending.data,
        evidence=pending.evidence,
        now=now,
        reason_code=pending.reason_code,
        history=snap.history,
    )
    decision = compiled.choose(ctx, pending.reason)
    override: Mapping[str, str] = EMPTY
    if not decision.allowed and pending.overridden_by is not None:
        by = Actor(pending.overridden_by, pending.overridden_roles)
        decision, override = consider_override(compiled.workflow, ctx, pending.reason, decision, by)
    reasons = list(decision.reasons)
    if decision.allowed and decision.dest != pending.dest:
        why = (
            f"{pending.event} would now lead to {decision.dest}, not to {pending.dest}"
            " as requested; reject the request and ask again"
        )
        reasons.append(refusal("dest", why, CheckKind.STATE))
    if reasons:
        return _refusal(
            snap, command.actor, pending.event, now, reasons, {"decision": "approval refused"}
        )
    details = {
        **override,
        "decision": "approved",
        "requested_by": pending.requested_by,
        "requested_roles": ",".join(sorted(pending.requested_roles)),
        "request_seq": str(pending.request_seq),
    }
    if command.note:
        details["note"] = command.note
    entry = _entry(
        case, snap.head, EntryKind.TRANSITION, now, command.actor, pending.event,
        to_state=decision.dest, reason=pending.reason, reason_code=pending.reason_code,
        changes=_changes(case.data, pending.data), evidence=_added(case.evidence, pending.evidence),
        verdicts=decision.verdicts, details=details,
    )  # fmt: skip
    return StepResult(pending.event, (entry,), decision=decision)


@_decide.register
def _reject(command: Reject, step: _Step) -> StepResult:
    snap, now = step.snap, step.now
    case = snap.case
    pending = case.pending
    problems = approval_checks(case, command.actor, deciding="reject")
    if not (command.reason and command.reason.strip()):
        why = "a rejection needs a written reason"
        problems.append(refusal("reason", why, CheckKind.REASON))
    if problems or pending is None:
        event = pending.event if pending is not None else "approve"
        return _refusal(snap, command.actor, event, now, problems, {"decision": "approval refused"})
    details = {
        "decision": "rejected",
        "requested_by": pending.requested_by,
        "request_seq": str(pending.request_seq),
    }
    entry = _entry(
        case, snap.head, EntryKind.APPROVAL_REJECTED, now, command.actor, pending.event,
        reason=command.reason, details=details,
    )  # fmt: skip
    return StepResult(pending.event, (entry,))


@_decide.register
def _record(command: Record, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    problems = record_checks(compiled.workflow, case, command.actor)
    if problems:
        return _refusal(snap, command.actor, command.what, now, problems)
    entry = _entry(
        case, snap.head, EntryKind.RECORDED, now, command.actor, command.what,
        reason=command.reason, changes=_changes(case.data, command.data),
        evidence=_added(case.evidence, command.evidence),
    )  # fmt: skip
    return StepResult(command.what, (entry,))


@_decide.register
def _assign(command: Assign, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    problems = assign_checks(compiled.workflow, command.actor)
    if problems:
        return _refusal(snap, command.actor, "assign", now, problems)
    entry = _entry(
        case, snap.head, EntryKind.ASSIGNED, now, command.actor, "assign",
        assignee=command.assignee, reason=command.reason, details={"from": case.assignee or ""},
    )  # fmt: skip
    return StepResult("assign", (entry,))


@_decide.register
def _transfer(command: Transfer, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    problems = transfer_request_checks(compiled.workflow, case, command.actor, command.to_unit)
    if problems:
        return _refusal(snap, command.actor, "transfer", now, problems)
    details = {"from_unit": case.unit or "", "to_unit": command.to_unit}
    if command.to_assignee:
        details["to_assignee"] = command.to_assignee
    entry = _entry(
        case, snap.head, EntryKind.TRANSFER_REQUESTED, now, command.actor, "transfer",
        reason=command.reason, details=details,
    )  # fmt: skip
    return StepResult("transfer", (entry,))


@_decide.register
def _answer(command: AnswerTransfer, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    problems = transfer_answer_checks(
        compiled.workflow, case, command.actor, accept=command.accept, reason=command.reason
    )
    transfer = case.transfer
    if problems or transfer is None:
        return _refusal(snap, command.actor, "transfer", now, problems)
    details = {
        "from_unit": case.unit or "",
        "to_unit": transfer.to_unit,
        "request_seq": str(transfer.request_seq),
    }
    if command.accept:
        kind = EntryKind.TRANSFER_ACCEPTED
        assignee = command.assignee or transfer.to_assignee or ""
        details["from_assignee"] = case.assignee or ""
    else:
        kind, assignee = EntryKind.TRANSFER_REFUSED, None
    entry = _entry(
        case, snap.head, kind, now, command.actor, "transfer", reason=command.reason,
        assignee=assignee, details=details,
    )  # fmt: skip
    return StepResult("transfer", (entry,))


@_decide.register
def _view(command: View, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    wf = compiled.workflow
    view = masked_view(wf, snap.case, command.actor)
    if not (view.shown and wf.log_personal_reads):
        return StepResult("read", (), view=view)
    details = {"fields": ",".join(view.shown)}
    if command.purpose:
        details["purpose"] = command.purpose
    entry = _entry(
        snap.case, snap.head, EntryKind.VIEWED, now, command.actor, "read", details=details
    )
    return StepResult("read", (entry,), view=view)


@_decide.register
def _migrate(command: Migrate, step: _Step) -> StepResult:
    compiled, snap, now = step.compiled, step.snap, step.now
    case = snap.case
    new = step.catalog.workflow(case.workflow, command.to_version)
    item = plan_case(case, compiled.workflow, new, command.state_map)
    if not item.ok or item.to_state is None:
        problems = [refusal("migration", why, CheckKind.STATE) for why in item.blockers]
        return StepResult("migrate", (), refused=tuple(problems))
    entry = _entry(
        case, snap.head, EntryKind.MIGRATED, now, command.actor, "migrate",
        to_state=item.to_state, reason=command.reason, workflow=new,
        details={"from_version": str(case.version), "to_version": str(new.version)},
    )  # fmt: skip
    return StepResult("migrate", (entry,))
