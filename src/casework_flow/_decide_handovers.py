"""`decide` for assignment and handovers: referrals, transfers, transfer requests, answers.

Registered on the same dispatch as every other command (`_step.decide_command`). Each
handler runs the checks of `_handover_checks`, then builds the step's entries; an
accepted transfer also cancels, each with its own entry, what the receiving side may
not decide (see `Entries.cancel_waiting`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._audit import EntryKind
from ._checks import override_problems
from ._commands import Answer, Assign, Send
from ._frozen import EMPTY
from ._guards import Consent, GuardContext
from ._handover import HandoverKind
from ._handover_checks import (
    answer_checks,
    assign_checks,
    assignee_on_accept,
    find_handover,
    send_checks,
    worker_problems,
)
from ._overrides import not_overridable, override_details
from ._parts import HandoverRule
from ._step import Entries, Step, StepResult, decide_command, refused_step
from ._verdict import CheckKind, Verdict

__all__: list[str] = []

_STATUS: Final = {"accept": "accepted", "reject": "rejected", "done": "done", "revoke": "revoked"}


@decide_command.register
def _assign(command: Assign, step: Step) -> StepResult:
    wf, case, roster = step.workflow, step.case, step.roster
    problems = assign_checks(wf, case, command.actor, command.assignee, roster)
    if problems:
        return refused_step(step, command.actor, "assign", problems, reason=command.reason)
    details = {"from": case.assignee or ""}
    worker = roster.get(command.assignee) if roster is not None else None
    if wf.unit_follows_assignee and worker is not None and worker.home != case.unit:
        details["unit"] = worker.home or ""
        details["from_unit"] = case.unit or ""
    out = Entries(step)
    out.add(
        EntryKind.ASSIGNED, command.actor, "assign",
        assignee=command.assignee, reason=command.reason, details=details,
    )  # fmt: skip
    out.cancel_waiting(wf, command.actor, case, f"the case moved to {out.case.unit}")
    return out.result("assign")


def _guard_problems(
    rule: HandoverRule, step: Step, command: Send
) -> tuple[list[Verdict], dict[str, str]]:
    """The rule's guard (consent, documents) on the case with what is sent, and overrides."""
    if not rule.conjuncts:
        return [], {}
    ctx = GuardContext(
        case=step.case,
        actor=command.actor,
        event=str(rule.kind),
        payload=EMPTY,
        evidence=command.evidence,
        now=step.now,
        reason_code=command.reason_code,
        history=step.snap.history,
        personal=step.workflow.personal,
        active=step.active,
    )
    failed = []
    for part in rule.conjuncts:
        passed, why = part.test(ctx)
        if not passed:
            failed.append(Verdict(CheckKind.GUARD, part.text, passed=False, why=why))
    by = command.override_by
    if not failed or by is None:
        return failed, {}
    consents = {c.text for c in rule.conjuncts if isinstance(c, Consent)}
    if rule.override is None or not all(v.check in consents for v in failed):
        return [*failed, not_overridable()], {}
    problems = override_problems(rule.override, ctx, command.reason, by)
    if problems:
        return [*failed, *problems], {}
    return [], override_details(by, failed)


@decide_command.register
def _send(command: Send, step: Step) -> StepResult:
    wf, case = step.workflow, step.case
    kind = command.kind
    problems = send_checks(
        wf, case, command.actor, kind, command.to_unit, command.to_worker, step.roster
    )
    rule = wf.handovers.get(str(kind))
    override: Mapping[str, str] = {}
    if rule is not None:
        failed, override = _guard_problems(rule, step, command)
        problems += failed
    if problems:
        return refused_step(step, command.actor, str(kind), problems, reason=command.reason)
    seq = step.snap.head.seq + 1
    details = {
        **override,
        "handover": f"{kind}-{seq}",
        "handover_kind": str(kind),
        "from_unit": case.unit or "",
    }
    if command.to_unit:
        details["to_unit"] = command.to_unit
    if command.to_worker:
        details["to_worker"] = command.to_worker
    if command.service:
        details["service"] = command.service
    out = Entries(step)
    out.add(
        EntryKind.HANDOVER_SENT, command.actor, str(kind), reason=command.reason,
        reason_code=command.reason_code, evidence=command.evidence, details=details,
    )  # fmt: skip
    return out.result(str(kind))


@decide_command.register
def _answer(command: Answer, step: Step) -> StepResult:
    wf, case, roster = step.workflow, step.case, step.roster
    h = find_handover(case, command.handover_id)
    event = str(h.kind) if h is not None else "handover"
    problems = answer_checks(
        wf, case, command.actor, command.handover_id, command.answer, command.reason, roster
    )
    problems += worker_problems(roster, command.actor.id)
    assignee = None
    moves = h is not None and command.answer == "accept" and h.kind is not HandoverKind.REFERRAL
    if moves and h is not None:
        assignee, found = assignee_on_accept(h, command.assignee, roster)
        problems += found
    if problems or h is None:
        return refused_step(step, command.actor, event, problems, reason=command.reason)
    details = {
        "handover": h.id,
        "handover_kind": event,
        "status": _STATUS[command.answer],
        "request_seq": str(h.seq),
    }
    if moves:
        details["from_unit"] = case.unit or ""
        details["to_unit"] = h.to_unit or ""
        details["from_assignee"] = case.assignee or ""
    out = Entries(step)
    out.add(
        EntryKind.HANDOVER_ANSWERED, command.actor, event, reason=command.reason,
        assignee=(assignee or "") if moves else None, evidence=command.evidence, details=details,
    )  # fmt: skip
    if moves:
        out.cancel_waiting(wf, command.actor, case, f"{h.id} moved the case to {h.to_unit}")
    return out.result(event)
