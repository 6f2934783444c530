"""The checks of handovers, assignment and the worker directory, each returning failures.

Like `_checks`, every function here is pure and returns the failed verdicts (empty: the
step may go); `_decide_handovers` calls them. The directory's answers come in as a
`Roster` read by the shell before deciding (None: no directory, workers are bare ids).
"""

from __future__ import annotations

from ._access import MANAGE, access_problem, addressed_to, owns
from ._case import Actor, Case
from ._checks import closed_problem, refusal, role_problem
from ._definition import AssignScope, Workflow
from ._directory import Roster, Worker
from ._handover import KINDS, Handover, HandoverKind, HandoverStatus
from ._parts import HandoverRule
from ._verdict import CheckKind, Verdict

__all__ = [
    "answer_checks",
    "assign_checks",
    "assignee_on_accept",
    "find_handover",
    "send_checks",
    "worker_problems",
]

_VERB = {
    HandoverKind.REFERRAL: "refer it",
    HandoverKind.TRANSFER: "transfer it",
    HandoverKind.TRANSFER_REQUEST: "ask for it",
}
_DOING = {
    HandoverKind.REFERRAL: "referring a case",
    HandoverKind.TRANSFER: "transferring a case",
    HandoverKind.TRANSFER_REQUEST: "asking for a case",
}


def find_handover(case: Case, handover_id: str) -> Handover | None:
    """The handover by id, or by kind name the open one of that kind (the latest)."""
    if handover_id in KINDS:
        return case.handover(handover_id)
    found: Handover | None = case.handovers.get(handover_id)
    return found


def _found(*found: Verdict | None) -> list[Verdict]:
    return [v for v in found if v is not None]


def worker_problems(
    roster: Roster | None, worker_id: str, *, unit: str | None = None, kind: str | None = None
) -> list[Verdict]:
    """Why ``worker_id`` cannot be given a case or a handover (empty: can).

    ``unit``, when given, is where they must work; ``kind`` what they are sent.
    """
    if roster is None:
        return []
    worker = roster.get(worker_id)
    if worker is None:
        return [refusal("worker", f"{worker_id} is not a worker")]
    problems = []
    if not worker.active:
        problems.append(refusal("worker", f"{worker_id} is not active"))
    if unit is not None and unit not in worker.units:
        problems.append(refusal("unit", f"{worker_id} is not of {unit}"))
    if kind is not None and kind not in worker.receives:
        problems.append(refusal("worker", f"{worker_id} does not receive {kind}s"))
    return problems


def assign_checks(
    workflow: Workflow, case: Case, actor: Actor, assignee: str, roster: Roster | None
) -> list[Verdict]:
    """Why ``actor`` may not give the case to ``assignee`` (empty: may)."""
    problems = _found(
        role_problem(actor, workflow.assign_roles, "assigning cases"),
        access_problem(workflow, case, actor, MANAGE),
        closed_problem(workflow, case, "assign it"),
    )
    if assignee == case.assignee:
        problems.append(refusal("assignee", f"{case.id} is already assigned to {assignee}"))
    if roster is None:
        return problems
    scope = workflow.assign_scope
    unit = case.unit if scope is AssignScope.UNIT and not workflow.unit_follows_assignee else None
    problems += worker_problems(roster, assignee, unit=unit)
    worker = roster.get(assignee)
    if worker is None:
        return problems
    if scope is AssignScope.GROUP:
        problems += _group_problems(roster, actor, worker)
    if workflow.unit_follows_assignee and worker.home is None:
        why = f"{assignee} works in {len(worker.units)} units; the case's unit cannot follow"
        problems.append(refusal("unit", why))
    return problems


def _group_problems(roster: Roster, actor: Actor, worker: Worker) -> list[Verdict]:
    me = roster.get(actor.id)
    if me is not None and not me.groups.isdisjoint(worker.groups):
        return []
    return [refusal("group", f"{worker.id} is in another group than {actor.id}")]


def _addressee_problems(
    rule: HandoverRule,
    case: Case,
    to_unit: str | None,
    to_worker: str | None,
    roster: Roster | None,
) -> list[Verdict]:
    kind = str(rule.kind)
    problems = []
    if to_unit is None and to_worker is None:
        problems.append(refusal("addressee", f"a {kind} needs a unit or a worker to go to"))
    if rule.kind is not HandoverKind.REFERRAL and to_unit is None:
        problems.append(refusal("addressee", f"a {kind} needs the unit the case would go to"))
    if rule.kind is not HandoverKind.REFERRAL and to_unit is not None and to_unit == case.unit:
        problems.append(refusal("unit", f"the case already belongs to {to_unit}"))
    if to_worker is not None:
        if to_worker == case.assignee and rule.kind is not HandoverKind.TRANSFER_REQUEST:
            problems.append(refusal("addressee", f"{to_worker} already works on {case.id}"))
        problems += worker_problems(roster, to_worker, unit=to_unit, kind=kind)
    return problems


def _duplicate(case: Case, kind: HandoverKind, to_unit: str | None, to_worker: str | None) -> str:
    for h in case.open_handovers:
        if kind is HandoverKind.REFERRAL and h.kind is kind:
            if (h.to_unit, h.to_worker) == (to_unit, to_worker):
                return f"{h.id} to {h.addressee} is already open"
        elif kind is not HandoverKind.REFERRAL and h.kind is not HandoverKind.REFERRAL:
            return f"{h.id} to {h.addressee} is already waiting for an answer"
    return ""


def send_checks(  # noqa: PLR0917 - every part of a handover is checked
    workflow: Workflow,
    case: Case,
    actor: Actor,
    kind: HandoverKind,
    to_unit: str | None,
    to_worker: str | None,
    roster: Roster | None,
) -> list[Verdict]:
    """Why ``actor`` may not send this handover (empty: may), guards aside."""
    rule = workflow.handovers.get(str(kind))
    if rule is None:
        why = f"{workflow.name} declares no {kind}s"
        return [refusal("handover", why, CheckKind.STATE)]
    doing = _DOING[kind]
    problems = _found(
        role_problem(actor, rule.send, doing),
        closed_problem(workflow, case, _VERB[kind]),
    )
    if kind is HandoverKind.TRANSFER_REQUEST:
        if owns(case, actor) and actor.units:
            problems.append(refusal("unit", f"{actor.id} is of {case.unit}, which owns the case"))
    else:
        found = access_problem(workflow, case, actor, MANAGE)
        problems += _found(found)
    problems += _addressee_problems(rule, case, to_unit, to_worker, roster)
    duplicate = _duplicate(case, kind, to_unit, to_worker)
    if duplicate:
        problems.append(refusal("handover", duplicate, CheckKind.STATE))
    return problems


def _party(rule: HandoverRule, h: Handover, actor: Actor, roster: Roster | None) -> bool:
    """Whether ``actor`` answers for the addressee's side."""
    if h.to_worker is not None:
        if actor.id == h.to_worker:
            return True
        worker = roster.get(h.to_worker) if roster is not None else None
        unit = h.to_unit or (worker.home if worker is not None else None)
        return bool(rule.on_behalf & actor.roles) and unit is not None and unit in actor.units
    if not addressed_to(h, actor):
        return False
    return not rule.answer or bool(rule.answer & actor.roles)


def _owner_party(rule: HandoverRule, case: Case, actor: Actor) -> bool:
    """Whether ``actor`` answers for the case's owner (a transfer request)."""
    if actor.id == case.assignee:
        return True
    roles = rule.answer | rule.on_behalf
    return owns(case, actor) and (not roles or bool(roles & actor.roles))


def _sender_party(
    rule: HandoverRule, workflow: Workflow, case: Case, h: Handover, actor: Actor
) -> bool:
    """Whether ``actor`` may withdraw ``h``: its sender, or the owner's side."""
    if actor.id == h.sent_by:
        return True
    if h.kind is HandoverKind.TRANSFER_REQUEST:
        return bool(rule.on_behalf & actor.roles) and h.to_unit in actor.units
    return owns(case, actor) and bool((rule.send | workflow.assign_roles) & actor.roles)


def _status_problem(h: Handover, answer: str) -> Verdict | None:
    if not h.open:
        by = f" by {h.answered_by}" if h.answered_by else ""
        return refusal("handover", f"{h.id} is already {h.status}{by}", CheckKind.STATE)
    accepted = h.status is HandoverStatus.ACCEPTED
    if answer in {"accept", "reject"} and accepted:
        return refusal("handover", f"{h.id} is already accepted", CheckKind.STATE)
    if answer == "done" and not (h.kind is HandoverKind.REFERRAL and accepted):
        why = f"only an accepted referral can be marked done; {h.id} is {h.status}"
        return refusal("handover", why, CheckKind.STATE)
    return None


def _who_answers(  # noqa: PLR0917 - the parties of one answer
    rule: HandoverRule,
    workflow: Workflow,
    case: Case,
    h: Handover,
    actor: Actor,
    answer: str,
    roster: Roster | None,
) -> tuple[bool, str]:
    """Whether ``actor`` may give ``answer`` to ``h``, and who may, in words."""
    if answer == "revoke":
        if h.kind is HandoverKind.TRANSFER_REQUEST:
            return _sender_party(rule, workflow, case, h, actor), "its sender or their unit"
        return _sender_party(rule, workflow, case, h, actor), "its sender or the case's owner"
    if h.kind is HandoverKind.TRANSFER_REQUEST:
        return _owner_party(rule, case, actor), f"the case's worker or {case.unit}"
    party = h.addressee
    if h.to_worker is None and rule.answer:
        party = f"{' or '.join(sorted(rule.answer))} of {h.to_unit}"
    elif h.to_worker is not None and rule.on_behalf:
        party = f"{h.to_worker}, or {' or '.join(sorted(rule.on_behalf))} for them"
    return _party(rule, h, actor, roster), party


def answer_checks(  # noqa: PLR0917 - every part of an answer is checked
    workflow: Workflow,
    case: Case,
    actor: Actor,
    handover_id: str,
    answer: str,
    reason: str | None,
    roster: Roster | None,
) -> list[Verdict]:
    """Why ``actor`` may not give ``answer`` to the handover (empty: may)."""
    h = find_handover(case, handover_id)
    if h is None:
        if handover_id in KINDS:
            why = f"no {handover_id} of {case.id} is waiting"
        else:
            open_ = ", ".join(x.id for x in case.open_handovers) or "none"
            why = f"{case.id} has no handover {handover_id} (open: {open_})"
        return [refusal("handover", why, CheckKind.STATE)]
    rule = workflow.handovers.get(str(h.kind))
    if rule is None:
        why = (
            f"{workflow.name} v{workflow.version} declares no {h.kind}s; {h.id} cannot be answered"
        )
        return [refusal("handover", why, CheckKind.STATE)]
    problems = _found(_status_problem(h, answer))
    allowed, party = _who_answers(rule, workflow, case, h, actor, answer, roster)
    if not allowed:
        problems.append(refusal("party", f"{actor.id} may not {answer} {h.id}; only {party} may"))
    needs_reason = answer in {"reject", "revoke"}
    if needs_reason and not (reason and reason.strip()):
        why = f"to {answer} {h.id} needs a written reason"
        problems.append(refusal("reason", why, CheckKind.REASON))
    if answer == "accept" and h.kind is not HandoverKind.REFERRAL:
        problems += _found(closed_problem(workflow, case, "move it"))
    return problems


def assignee_on_accept(
    h: Handover, assignee: str | None, roster: Roster | None
) -> tuple[str | None, list[Verdict]]:
    """Who gets the case when ``h`` (a transfer or request) is accepted, and any problem."""
    chosen = assignee or h.to_worker
    if chosen is None:
        return None, []
    return chosen, worker_problems(roster, chosen, unit=h.to_unit)
