"""`decide`: every rule of a step, as one pure function.

Given the registered workflows, the case as loaded (with its trail's head and the
history its guards read), a command, the time of the step and, where the host keeps a
worker directory, its answers for the people the command names, `decide` returns the
entries to append, or a refusal with every reason and the refusal's own entry. It does
no I/O and reads no clock; `evolve` turns each entry into the next case. The engine's
commands, the timer runner and `testing.explore` all decide here; replay, import and
migration fold `evolve` over what was decided. Handovers and assignment are decided in
`_decide_handovers`, registered on the same dispatch.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from . import _decide_erasure, _decide_handovers  # noqa: F401 - register their commands
from ._access import access_problem, acting_on
from ._audit import ABSENT, AuditEntry, Change, EntryKind, build_entry, genesis_hash
from ._case import Actor, Pending
from ._catalog import Catalog
from ._checks import (
    approval_checks,
    approval_rule,
    move_problems,
    pending_for,
    record_checks,
    refusal,
    waiting,
)
from ._closing import close_members
from ._commands import Approve, Command, Fire, Migrate, Open, Record, Reject, View
from ._compiled import Decision, refused
from ._definition import Approval
from ._directory import Roster
from ._frozen import EMPTY, FrozenMap, adopt
from ._guards import GuardContext
from ._handover_checks import worker_problems
from ._migration import plan_case
from ._overrides import consider_override
from ._privacy import masked_view
from ._sealing import Sealing
from ._snapshot import Snapshot
from ._stages import complete
from ._step import Entries, Step, StepResult, decide_command, refused_step
from ._verdict import CheckKind, Verdict
from .exceptions import UnknownEvent

__all__ = ["StepResult", "decide", "open_case"]


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
    details: dict[str, str] = {"unit": command.unit} if command.unit else {}
    configuration = wf.initial_configuration
    if wf.staged:
        details["configuration"] = " ".join(wf.tree.path(s) for s in configuration)
    return build_entry(
        case_id=command.case_id,
        seq=1,
        kind=EntryKind.OPENED,
        at=now,
        actor=command.actor,
        event="open",
        from_state=None,
        to_state=wf.tree.state_of(configuration),
        workflow=wf.name,
        workflow_version=wf.version,
        prev_hash=genesis_hash(command.case_id),
        assignee=command.assignee,
        changes=[Change(k, v) for k, v in sorted(command.data.items())],
        evidence=command.evidence,
        details=details or EMPTY,
    )


def decide(
    catalog: Catalog,
    snap: Snapshot,
    command: Command,
    now: datetime,
    roster: Roster | None = None,
    *,
    sealing: Sealing | None = None,
) -> StepResult:
    """Decide a command on a loaded case: the entries it appends, or why it is refused.

    Pure: the same arguments always give the same outcome, and nothing is read or
    written. A refusal's outcome still carries the refusal's entry, for the shell to
    record. ``roster`` holds the directory's answers for the people the command names
    (`named_people`); None when the host keeps no directory. With ``sealing``, the
    snapshot's cases are open (their personal values readable) and the entries come
    out with their personal values sealed, hashed as sealed; ``after`` stays open.
    """
    case = snap.case
    compiled = catalog.compiled(case.workflow, case.version)
    command = acting_on(compiled.workflow, case, command)
    return decide_command(command, Step(catalog, compiled, snap, now, roster, sealing))


def _fire_extra(step: Step, command: Fire, decision: Decision) -> list[Verdict]:
    """What refuses an allowed choice: access, a request of its kind waiting, a move."""
    wf, case = step.workflow, step.case
    problems = []
    found = access_problem(wf, case, command.actor, command.event)
    if found is not None:
        problems.append(found)
    t = decision.transition
    if not decision.allowed or t is None:
        return problems
    approval = t.approval
    if approval is not None:
        kind = approval.kind_for(t.event)
        if kind in case.approvals:
            problems.append(waiting(case.approvals[kind]))
        if not _direct(approval, case.assignee, command.actor):
            return problems
    problems += move_problems(wf, case, decision.dest, None, decision.configuration)
    return problems


def _direct(approval: Approval, assignee: str | None, actor: Actor) -> bool:
    """Whether ``actor`` takes an approval's step at once, with no prior request."""
    return bool(
        approval.direct
        and not approval.roles.isdisjoint(actor.roles)
        and not (approval.not_assignee and actor.id == assignee)
    )


@decide_command.register
def _fire(command: Fire, step: Step) -> StepResult:
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
        personal=wf.personal,
        active=step.active,
    )
    details: Mapping[str, str] = EMPTY
    decision = compiled.choose(ctx, command.reason)
    if not decision.allowed and command.override_by is not None:
        decision, details = consider_override(
            compiled.workflow, ctx, command.reason, decision, command.override_by
        )
    extra = _fire_extra(step, command, decision)
    out = Entries(step)
    if not decision.allowed or extra:
        return _refused_fire(step, command, ctx, (*decision.reasons, *extra))
    t = decision.transition
    if t is not None and t.approval is not None:
        kind = t.approval.kind_for(t.event)
        if not _direct(t.approval, case.assignee, command.actor):
            approvers = ",".join(sorted(t.approval.roles))
            out.add(
                EntryKind.APPROVAL_REQUESTED, command.actor, command.event,
                reason=command.reason, reason_code=command.reason_code,
                changes=[Change(k, v) for k, v in sorted(command.data.items())],
                evidence=command.evidence, verdicts=decision.verdicts, timer=command.timer,
                details={**details, "dest": decision.dest, "approvers": approvers,
                         "approval_kind": kind},
            )  # fmt: skip
            return out.result(command.event, decision)
        details = {**details, "decision": "approved", "approval": "direct", "approval_kind": kind}
    out.add(
        EntryKind.TRANSITION, command.actor, command.event,
        to_state=decision.dest, reason=command.reason, reason_code=command.reason_code,
        changes=_changes(case.data, command.data), evidence=_added(case.evidence, command.evidence),
        verdicts=decision.verdicts, timer=command.timer, details=details,
        configuration=decision.configuration,
    )  # fmt: skip
    out.cancel_waiting(wf, command.actor, case, f"{command.event} moved the case")
    complete(step, out, case)
    problems, others = close_members(step, case, out.case)
    if problems:
        return _refused_fire(step, command, ctx, tuple(problems))
    return out.result(command.event, decision, others)


def _refused_fire(
    step: Step, command: Fire, ctx: GuardContext, failed: tuple[Verdict, ...]
) -> StepResult:
    return refused_step(
        step, command.actor, command.event, failed, reason=command.reason,
        reason_code=command.reason_code, timer=command.timer, decision=refused(ctx, failed),
    )  # fmt: skip


def _recheck(step: Step, pending: Pending) -> tuple[Decision, Mapping[str, str]]:
    """The requested step's checks, run again as of now with what was requested."""
    compiled, case = step.compiled, step.case
    requester = Actor(pending.requested_by, pending.requested_roles)
    ctx = GuardContext(
        case=case,
        actor=requester,
        event=pending.event,
        payload=pending.data,
        evidence=pending.evidence,
        now=step.now,
        reason_code=pending.reason_code,
        history=step.snap.history,
        personal=step.workflow.personal,
        active=step.active,
    )
    decision = compiled.choose(ctx, pending.reason)
    override: Mapping[str, str] = EMPTY
    if not decision.allowed and pending.overridden_by is not None:
        by = Actor(pending.overridden_by, pending.overridden_roles)
        decision, override = consider_override(compiled.workflow, ctx, pending.reason, decision, by)
    return decision, override


def _decider_problems(
    step: Step, command: Approve | Reject, deciding: str
) -> tuple[Pending | None, list[Verdict]]:
    pending, problem = pending_for(step.case, command.kind)
    if pending is None:
        return None, [problem] if problem is not None else []
    problems = approval_checks(step.workflow, step.case, command.actor, pending, deciding=deciding)
    problems += worker_problems(step.roster, command.actor.id)
    return pending, problems


_APPROVAL_REFUSED: Final = {"decision": "approval refused"}


def _vote(step: Step, actor: Actor, pending: Pending, vote: str, reason: str | None) -> StepResult:
    """One vote on a request that needs several: an entry, and the request waits on."""
    rule = approval_rule(step.workflow, pending)
    approvals = len(pending.approved_by) + (vote == "approve")
    rejections = len(pending.rejected_by) + (vote == "reject")
    details = {
        "approval_kind": pending.kind,
        "vote": vote,
        "request_seq": str(pending.request_seq),
        "approvals": f"{approvals}/{rule.quorum}",
        "rejections": f"{rejections}/{rule.rejections}",
    }
    out = Entries(step)
    out.add(EntryKind.APPROVAL_VOTED, actor, pending.event, reason=reason, details=details)
    return out.result(pending.event)


@decide_command.register
def _approve(command: Approve, step: Step) -> StepResult:
    case = step.case
    pending, problems = _decider_problems(step, command, "approve")
    if problems or pending is None:
        event = pending.event if pending is not None else "approve"
        return refused_step(step, command.actor, event, problems, _APPROVAL_REFUSED)
    quorum = approval_rule(step.workflow, pending).quorum
    if len(pending.approved_by) + 1 < quorum:
        return _vote(step, command.actor, pending, "approve", command.note)
    decision, override = _recheck(step, pending)
    reasons = list(decision.reasons)
    if decision.allowed and decision.dest != pending.dest:
        why = (
            f"{pending.event} would now lead to {decision.dest}, not to {pending.dest}"
            " as requested; reject the request and ask again"
        )
        reasons.append(refusal("dest", why, CheckKind.STATE))
    if decision.allowed:
        reasons += move_problems(
            step.workflow, case, decision.dest, pending.kind, decision.configuration
        )
    if reasons:
        return refused_step(step, command.actor, pending.event, reasons, _APPROVAL_REFUSED)
    details = {
        **override,
        "decision": "approved",
        "approval_kind": pending.kind,
        "requested_by": pending.requested_by,
        "requested_roles": ",".join(sorted(pending.requested_roles)),
        "request_seq": str(pending.request_seq),
    }
    if command.note:
        details["note"] = command.note
    if quorum > 1:
        details["approved_by"] = ",".join((*pending.approved_by, command.actor.id))
    out = Entries(step)
    out.add(
        EntryKind.TRANSITION, command.actor, pending.event,
        to_state=decision.dest, reason=pending.reason, reason_code=pending.reason_code,
        changes=_changes(case.data, pending.data), evidence=_added(case.evidence, pending.evidence),
        verdicts=decision.verdicts, details=details, configuration=decision.configuration,
    )  # fmt: skip
    out.cancel_waiting(step.workflow, command.actor, case, f"{pending.event} moved the case")
    complete(step, out, case)
    problems, others = close_members(step, case, out.case)
    if problems:
        return refused_step(step, command.actor, pending.event, problems, _APPROVAL_REFUSED)
    return out.result(pending.event, decision, others)


@decide_command.register
def _reject(command: Reject, step: Step) -> StepResult:
    pending, problems = _decider_problems(step, command, "reject")
    if not (command.reason and command.reason.strip()):
        why = "a rejection needs a written reason"
        problems.append(refusal("reason", why, CheckKind.REASON))
    if problems or pending is None:
        event = pending.event if pending is not None else "approve"
        return refused_step(step, command.actor, event, problems, _APPROVAL_REFUSED)
    needed = approval_rule(step.workflow, pending).rejections
    if len(pending.rejected_by) + 1 < needed:
        return _vote(step, command.actor, pending, "reject", command.reason)
    details = {
        "decision": "rejected",
        "approval_kind": pending.kind,
        "requested_by": pending.requested_by,
        "request_seq": str(pending.request_seq),
    }
    out = Entries(step)
    out.add(
        EntryKind.APPROVAL_REJECTED, command.actor, pending.event,
        reason=command.reason, details=details,
    )  # fmt: skip
    return out.result(pending.event)


@decide_command.register
def _record(command: Record, step: Step) -> StepResult:
    case = step.case
    problems = record_checks(step.workflow, case, command.actor)
    if problems:
        return refused_step(step, command.actor, command.what, problems)
    out = Entries(step)
    out.add(
        EntryKind.RECORDED, command.actor, command.what,
        reason=command.reason, changes=_changes(case.data, command.data),
        evidence=_added(case.evidence, command.evidence),
    )  # fmt: skip
    return out.result(command.what)


@decide_command.register
def _view(command: View, step: Step) -> StepResult:
    wf, case = step.workflow, step.case
    found = access_problem(wf, case, command.actor, "read")
    if found is not None:
        return refused_step(step, command.actor, "read", [found])
    view = masked_view(wf, case, command.actor)
    if not (view.shown and wf.log_personal_reads and command.in_trail):
        return StepResult("read", (), view=view)
    details = {"fields": ",".join(view.shown)}
    if command.purpose:
        details["purpose"] = command.purpose
    out = Entries(step)
    out.add(EntryKind.VIEWED, command.actor, "read", details=details)
    return StepResult("read", tuple(out.entries), view=view, after=out.case)


@decide_command.register
def _migrate(command: Migrate, step: Step) -> StepResult:
    compiled, case = step.compiled, step.case
    new = step.catalog.workflow(case.workflow, command.to_version)
    item = plan_case(case, compiled.workflow, new, command.state_map)
    if not item.ok or item.to_state is None:
        problems = [refusal("migration", why, CheckKind.STATE) for why in item.blockers]
        return StepResult("migrate", (), refused=tuple(problems))
    out = Entries(step)
    out.add(
        EntryKind.MIGRATED, command.actor, "migrate",
        to_state=item.to_state, reason=command.reason, workflow=new,
        configuration=item.configuration or None,
        details={"from_version": str(case.version), "to_version": str(new.version)},
    )  # fmt: skip
    return out.result("migrate")
