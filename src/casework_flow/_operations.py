"""Casework operations beyond a plain transition: approvals, overrides, records, assignment.

Each is pure in the same way as `apply_decision`: given the case, its trail's head and
what was asked, it returns the new case and the audit entry, or the failed checks. The
engine loads, calls these, and commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ._audit import ABSENT, AuditEntry, ChainHead, Change, EntryKind, build_entry
from ._case import Actor, Case, Pending, Transfer
from ._decide import Decision, check_transition
from ._definition import Transition, Workflow
from ._frozen import EMPTY, FrozenMap
from ._guards import Consent, GuardContext
from ._verdict import CheckKind, Verdict

__all__ = [
    "approval_checks",
    "assigned",
    "consider_override",
    "recorded",
    "refusal",
    "refused_entry",
    "rejected",
    "requested",
]


def refusal(check: str, why: str, kind: CheckKind = CheckKind.ROLE) -> Verdict:
    """A failed check of an operation, as a verdict."""
    return Verdict(kind=kind, check=check, passed=False, why=why)


def _entry(
    case: Case,
    head: ChainHead,
    kind: EntryKind,
    *,
    at: datetime,
    actor: Actor,
    event: str,
    to_state: str | None = None,
    assignee: str | None = None,
    reason: str | None = None,
    reason_code: str | None = None,
    changes: Sequence[Change] = (),
    evidence: Mapping[str, str] = EMPTY,
    verdicts: Sequence[Verdict] = (),
    details: Mapping[str, str] = EMPTY,
) -> AuditEntry:
    return build_entry(
        case_id=case.id,
        seq=head.seq + 1,
        kind=kind,
        at=at,
        actor=actor,
        event=event,
        from_state=case.state,
        to_state=to_state or case.state,
        workflow=case.workflow,
        workflow_version=case.version,
        prev_hash=head.hash,
        assignee=assignee if assignee is not None else case.assignee,
        reason=reason,
        reason_code=reason_code,
        changes=changes,
        evidence=evidence,
        verdicts=verdicts,
        details=details,
    )


def refused_entry(
    case: Case,
    head: ChainHead,
    *,
    actor: Actor,
    event: str,
    at: datetime,
    verdicts: Sequence[Verdict],
    details: Mapping[str, str] = EMPTY,
) -> AuditEntry:
    """The entry recording a refused operation; the case does not change."""
    return _entry(
        case, head, EntryKind.REFUSED, at=at, actor=actor, event=event, verdicts=verdicts,
        details=details,
    )  # fmt: skip


def _changes(data: FrozenMap[Any], payload: Mapping[str, Any]) -> list[Change]:
    return [
        Change(k, v, data.get(k, ABSENT))
        for k, v in sorted(payload.items())
        if k not in data or data[k] != v
    ]


# --- consent overrides ---------------------------------------------------------------


def consider_override(
    workflow: Workflow,
    ctx: GuardContext,
    reason: str | None,
    refused: Decision,
    override_by: Actor,
) -> tuple[Decision, dict[str, str]]:
    """Turn a refusal for missing consent into an overridden decision, if allowed.

    Returns the decision (still refused, with the override's own failed checks added,
    when the override cannot apply) and the details the audit entry records.
    """
    for t in workflow.candidates(ctx.case.state, ctx.event):
        if t.override is None:
            continue
        _, verdicts = check_transition(t, ctx, reason)
        consents = {c.text for c in t.conjuncts if isinstance(c, Consent)}
        codes = t.override.reason_codes
        failed = [
            v
            for v in verdicts
            if not v.passed and not (v.check == "reason_code" and ctx.reason_code in codes)
        ]
        if not failed or not all(v.kind is CheckKind.GUARD and v.check in consents for v in failed):
            continue
        problems = _override_problems(t, ctx, reason, override_by)
        if problems:
            return attrs.evolve(refused, verdicts=(*refused.verdicts, *problems)), {}
        details = {
            "overridden_by": override_by.id,
            "overridden_by_roles": ",".join(override_by.sorted_roles),
            "overridden": "; ".join(v.check for v in failed),
        }
        allowed = Decision(
            event=ctx.event,
            state=ctx.case.state,
            allowed=True,
            transition=t,
            dest=t.dest or ctx.case.state,
            verdicts=tuple(verdicts),
        )
        return allowed, details
    why = "only missing consent can be overridden, and only where the workflow allows it"
    return attrs.evolve(
        refused, verdicts=(*refused.verdicts, refusal("override", why, CheckKind.GUARD))
    ), {}


def _override_problems(
    t: Transition, ctx: GuardContext, reason: str | None, by: Actor
) -> list[Verdict]:
    assert t.override is not None  # noqa: S101 - the caller checked
    problems = []
    if by.id == ctx.actor.id:
        problems.append(
            refusal("override", f"{by.id} cannot override their own step; a second person must")
        )
    if t.override.roles.isdisjoint(by.roles):
        needed = " or ".join(sorted(t.override.roles))
        problems.append(refusal("override", f"an override of {t.event} needs {needed}"))
    if ctx.reason_code not in t.override.reason_codes:
        codes = ", ".join(t.override.reason_codes)
        problems.append(
            refusal(
                "override", f"an override needs a reason code: one of {codes}", CheckKind.REASON
            )
        )
    if not (reason and reason.strip()):
        problems.append(refusal("override", "an override needs a written reason", CheckKind.REASON))
    return problems


# --- approvals -------------------------------------------------------------------------


def requested(
    case: Case,
    head: ChainHead,
    ctx: GuardContext,
    decision: Decision,
    reason: str | None,
    *,
    details: Mapping[str, str],
) -> tuple[Case, AuditEntry]:
    """Record a request for a transition that needs approval; the case waits for it."""
    t = decision.transition
    assert t is not None  # noqa: S101 - only allowed decisions are requested
    assert t.approval is not None  # noqa: S101
    approvers = ",".join(sorted(t.approval.roles))
    entry = _entry(
        case,
        head,
        EntryKind.APPROVAL_REQUESTED,
        at=ctx.now,
        actor=ctx.actor,
        event=ctx.event,
        reason=reason,
        reason_code=ctx.reason_code,
        changes=[Change(k, v) for k, v in sorted(ctx.payload.items())],
        evidence=ctx.supplied_evidence,
        verdicts=decision.verdicts,
        details={**details, "dest": decision.dest, "approvers": approvers},
    )
    return pending_from(case, entry), entry


def pending_from(case: Case, entry: AuditEntry) -> Case:
    """The case after a request entry: waiting, one revision on (also used by replay)."""
    pending = Pending(
        event=entry.event,
        requested_by=entry.actor_id,
        requested_at=entry.at,
        request_seq=entry.seq,
        requested_roles=entry.actor_roles,
        dest=entry.details["dest"],
        approvers=entry.details["approvers"].split(","),
        data={c.field: c.after for c in entry.changes},
        evidence=entry.evidence,
        reason=entry.reason,
        reason_code=entry.reason_code,
    )
    return attrs.evolve(case, revision=case.revision + 1, pending=pending)


def approval_checks(case: Case, actor: Actor, *, deciding: str) -> list[Verdict]:
    """Why ``actor`` may not approve or reject the case's pending request (empty: may)."""
    pending = case.pending
    if pending is None:
        return [
            refusal("pending", f"nothing on {case.id} is waiting for approval", CheckKind.STATE)
        ]
    problems = []
    if actor.id == pending.requested_by:
        problems.append(
            refusal(
                "four_eyes",
                f"{actor.id} requested {pending.event}; someone else must {deciding} it",
            )
        )
    if pending.approvers.isdisjoint(actor.roles):
        held = ", ".join(actor.sorted_roles) or "no role"
        needed = " or ".join(sorted(pending.approvers))
        problems.append(
            refusal("approver", f"{actor.id} acts as {held}; to {deciding} needs {needed}")
        )
    return problems


def approval_details(pending: Pending, note: str | None) -> dict[str, str]:
    """What an approval's transition entry records about the request."""
    details = {
        "decision": "approved",
        "requested_by": pending.requested_by,
        "request_seq": str(pending.request_seq),
    }
    if note:
        details["note"] = note
    return details


def rejected(
    case: Case, head: ChainHead, actor: Actor, at: datetime, reason: str
) -> tuple[Case, AuditEntry]:
    """Drop the pending request, recording who rejected it and why."""
    pending = case.pending
    assert pending is not None  # noqa: S101 - checked by approval_checks
    entry = _entry(
        case,
        head,
        EntryKind.APPROVAL_REJECTED,
        at=at,
        actor=actor,
        event=pending.event,
        reason=reason,
        details={
            "decision": "rejected",
            "requested_by": pending.requested_by,
            "request_seq": str(pending.request_seq),
        },
    )
    return attrs.evolve(case, revision=case.revision + 1, pending=None), entry


# --- records and assignment ---------------------------------------------------------------


def record_roles(workflow: Workflow) -> frozenset[str]:
    """Who may record on a case of this workflow."""
    return workflow.record_roles or frozenset(r for t in workflow.transitions for r in t.roles)


def recorded(
    case: Case,
    head: ChainHead,
    *,
    what: str,
    actor: Actor,
    at: datetime,
    data: FrozenMap[Any],
    evidence: FrozenMap[str],
    reason: str | None,
) -> tuple[Case, AuditEntry]:
    """Record data or documents on the case without moving it."""
    added = {k: v for k, v in evidence.items() if case.evidence.get(k) != v}
    entry = _entry(
        case,
        head,
        EntryKind.RECORDED,
        at=at,
        actor=actor,
        event=what,
        reason=reason,
        changes=_changes(case.data, data),
        evidence=added,
    )
    return record_applied(case, entry), entry


def record_applied(case: Case, entry: AuditEntry) -> Case:
    """The case after a record entry (also used by replay)."""
    return attrs.evolve(
        case,
        revision=case.revision + 1,
        data=case.data.merged({c.field: c.after for c in entry.changes}),
        evidence=case.evidence.merged(entry.evidence),
    )


def assigned(
    case: Case,
    head: ChainHead,
    *,
    assignee: str,
    actor: Actor,
    at: datetime,
    reason: str | None,
) -> tuple[Case, AuditEntry]:
    """Give the case to another worker."""
    entry = _entry(
        case,
        head,
        EntryKind.ASSIGNED,
        at=at,
        actor=actor,
        event="assign",
        assignee=assignee,
        reason=reason,
        details={"from": case.assignee or ""},
    )
    return attrs.evolve(case, revision=case.revision + 1, assignee=assignee), entry


# --- transfers ------------------------------------------------------------------------------


def transfer_requested(
    case: Case,
    head: ChainHead,
    *,
    to_unit: str,
    to_assignee: str | None,
    actor: Actor,
    at: datetime,
    reason: str,
) -> tuple[Case, AuditEntry]:
    """Ask another unit to take the case; it stays with its unit until they accept."""
    details = {"from_unit": case.unit or "", "to_unit": to_unit}
    if to_assignee:
        details["to_assignee"] = to_assignee
    entry = _entry(
        case, head, EntryKind.TRANSFER_REQUESTED, at=at, actor=actor, event="transfer",
        reason=reason, details=details,
    )  # fmt: skip
    return transfer_applied(case, entry), entry


def transfer_answered(
    case: Case,
    head: ChainHead,
    *,
    accept: bool,
    actor: Actor,
    at: datetime,
    reason: str | None,
    assignee: str | None,
) -> tuple[Case, AuditEntry]:
    """The receiving side accepts (the case and its assignee move) or refuses."""
    transfer = case.transfer
    assert transfer is not None  # noqa: S101 - the engine checked
    details = {
        "from_unit": case.unit or "",
        "to_unit": transfer.to_unit,
        "request_seq": str(transfer.request_seq),
    }
    kind = EntryKind.TRANSFER_ACCEPTED if accept else EntryKind.TRANSFER_REFUSED
    new_assignee = (assignee or transfer.to_assignee or "") if accept else None
    entry = _entry(
        case, head, kind, at=at, actor=actor, event="transfer", reason=reason,
        assignee=new_assignee if accept else case.assignee, details=details,
    )  # fmt: skip
    return transfer_applied(case, entry), entry


def transfer_applied(case: Case, entry: AuditEntry) -> Case:
    """The case after a transfer entry (also used by replay)."""
    revision = case.revision + 1
    if entry.kind is EntryKind.TRANSFER_REQUESTED:
        transfer = Transfer(
            to_unit=entry.details["to_unit"],
            to_assignee=entry.details.get("to_assignee"),
            requested_by=entry.actor_id,
            requested_at=entry.at,
            request_seq=entry.seq,
        )
        return attrs.evolve(case, revision=revision, transfer=transfer)
    if entry.kind is EntryKind.TRANSFER_ACCEPTED:
        return attrs.evolve(
            case,
            revision=revision,
            transfer=None,
            unit=entry.details["to_unit"],
            assignee=entry.assignee or None,
        )
    return attrs.evolve(case, revision=revision, transfer=None)


def transfer_checks(case: Case, actor: Actor, workflow: Workflow) -> list[Verdict]:
    """Why ``actor`` may not answer the case's transfer (empty: may)."""
    transfer = case.transfer
    if transfer is None:
        return [refusal("transfer", f"no transfer of {case.id} is waiting", CheckKind.STATE)]
    problems = []
    if transfer.to_unit not in actor.units:
        problems.append(
            refusal(
                "unit",
                f"{actor.id} is not of {transfer.to_unit}; the receiving unit must answer",
            )
        )
    if workflow.receive_roles and workflow.receive_roles.isdisjoint(actor.roles):
        needed = " or ".join(sorted(workflow.receive_roles))
        problems.append(refusal("role", f"answering a transfer needs {needed}"))
    return problems
