"""The checks a step is refused by, each a pure function returning failed verdicts.

Every rule that can refuse a command lives here once: the checks of a candidate
transition (roles, required data, reasons, reason codes, guards), consent overrides,
approvals, records and what waits on a move. `_decide` calls them; the checks of
handovers, assignment and the directory are in `_handover_checks`.
"""

from __future__ import annotations

from typing import Final

from ._access import MANAGE, access_problem
from ._case import Actor, Case, Pending
from ._definition import Approval, ConsentOverride, Transition, Workflow
from ._guards import GuardContext
from ._handover import OnClose
from ._parts import OnMove
from ._verdict import CheckKind, Verdict

__all__ = [
    "approval_checks",
    "approval_rule",
    "check_transition",
    "closed_problem",
    "move_problems",
    "override_problems",
    "pending_for",
    "record_checks",
    "record_roles",
    "refusal",
    "role_problem",
    "waiting",
    "wrong_state",
]

_EMPTY_VALUES: Final = (None, "", ())


def refusal(check: str, why: str, kind: CheckKind = CheckKind.ROLE) -> Verdict:
    """A failed check of an operation, as a verdict."""
    return Verdict(kind=kind, check=check, passed=False, why=why)


def _held(actor: Actor) -> str:
    return ", ".join(actor.sorted_roles) or "no role"


def role_problem(actor: Actor, allowed: frozenset[str], doing: str) -> Verdict | None:
    """The refusal of an actor who holds none of ``allowed`` roles (None: holds one)."""
    if not allowed or not allowed.isdisjoint(actor.roles):
        return None
    needed = " or ".join(sorted(allowed))
    return refusal("role", f"{actor.id} acts as {_held(actor)}; {doing} needs {needed}")


def check_transition(
    t: Transition, ctx: GuardContext, reason: str | None
) -> tuple[bool, list[Verdict]]:
    """Run every check of one candidate transition, without stopping at the first failure.

    Returns:
        Whether all passed, and the verdicts: failures of role, data and reason checks,
        and every guard verdict, passing or not.
    """
    dest = t.dest or ctx.case.state
    verdicts: list[Verdict] = []
    ok = True
    if t.roles and t.roles.isdisjoint(ctx.actor.roles):
        ok = False
        needed = " or ".join(sorted(t.roles))
        why = f"{ctx.actor.id} acts as {_held(ctx.actor)}; {ctx.event} needs {needed}"
        verdicts.append(Verdict(CheckKind.ROLE, "role", passed=False, why=why, dest=dest))
    for name in t.requires:
        if ctx.payload.get(name) in _EMPTY_VALUES:
            ok = False
            why = f"{name} must be given with {ctx.event}"
            verdicts.append(Verdict(CheckKind.DATA, name, passed=False, why=why, dest=dest))
    if t.reason_required and not (reason and reason.strip()):
        ok = False
        why = f"a written reason is needed for {ctx.event}"
        verdicts.append(Verdict(CheckKind.REASON, "reason", passed=False, why=why, dest=dest))
    code_problem = _reason_code_problem(t, ctx)
    if code_problem is not None:
        ok = False
        verdicts.append(
            Verdict(CheckKind.REASON, "reason_code", passed=False, why=code_problem, dest=dest)
        )
    for part in t.conjuncts:
        passed, why = part.test(ctx)
        ok = ok and passed
        verdicts.append(Verdict(CheckKind.GUARD, part.text, passed=passed, why=why, dest=dest))
    return ok, verdicts


def _reason_code_problem(t: Transition, ctx: GuardContext) -> str | None:
    code = ctx.reason_code
    if not t.reason_codes:
        if code is None:
            return None
        return f"{ctx.event} takes no reason code; {code} cannot be recorded with it"
    if code in t.reason_codes:
        return None
    codes = ", ".join(t.reason_codes)
    if code is None:
        return f"a reason code is needed for {ctx.event}: one of {codes}"
    return f"reason code {code} does not fit {ctx.event}: use one of {codes}"


def wrong_state(workflow: Workflow, case: Case, event: str) -> Verdict:
    """The refusal of an event that has no transition from the case's state."""
    sources = sorted({s for t in workflow.transitions if t.event == event for s in t.source})
    where = ", ".join(sources)
    return Verdict(
        kind=CheckKind.STATE,
        check="state",
        passed=False,
        why=f"{event} is not possible while the case is in {case.state}"
        f" ({workflow.state(case.state).label('en')}); it is possible from {where}",
    )


def waiting(pending: Pending) -> Verdict:
    """The refusal of a step while a request waits for approval."""
    what = pending.event if pending.kind == pending.event else f"{pending.event} ({pending.kind})"
    why = (
        f"{what}, requested by {pending.requested_by}, is waiting for approval;"
        " approve or reject it first"
    )
    return Verdict(kind=CheckKind.STATE, check="pending", passed=False, why=why)


# --- consent overrides -----------------------------------------------------------------


def override_problems(
    override: ConsentOverride, ctx: GuardContext, reason: str | None, by: Actor
) -> list[Verdict]:
    """Why ``by`` may not use ``override`` to set aside missing consent (empty: may)."""
    problems = []
    if by.id == ctx.actor.id:
        problems.append(
            refusal("override", f"{by.id} cannot override their own step; a second person must")
        )
    if override.roles.isdisjoint(by.roles):
        needed = " or ".join(sorted(override.roles))
        problems.append(refusal("override", f"an override of {ctx.event} needs {needed}"))
    if ctx.reason_code not in override.reason_codes:
        codes = ", ".join(override.reason_codes)
        problems.append(
            refusal(
                "override", f"an override needs a reason code: one of {codes}", CheckKind.REASON
            )
        )
    if not (reason and reason.strip()):
        problems.append(refusal("override", "an override needs a written reason", CheckKind.REASON))
    return problems


# --- approvals, records, moves ----------------------------------------------------------


def pending_for(case: Case, kind: str | None) -> tuple[Pending | None, Verdict | None]:
    """The request an approval or rejection is about, or why none can be chosen."""
    if kind is not None:
        found = case.approvals.get(kind)
        if found is None:
            waiting_ = ", ".join(sorted(case.approvals)) or "nothing"
            why = f"no {kind} request waits for approval on {case.id} (waiting: {waiting_})"
            return None, refusal("pending", why, CheckKind.STATE)
        return found, None
    if not case.approvals:
        return None, refusal(
            "pending", f"nothing on {case.id} is waiting for approval", CheckKind.STATE
        )
    if len(case.approvals) > 1:
        kinds = ", ".join(sorted(case.approvals))
        why = f"several requests wait for approval on {case.id} ({kinds}); name the kind"
        return None, refusal("pending", why, CheckKind.STATE)
    return next(iter(case.approvals.values())), None


def approval_rule(workflow: Workflow, pending: Pending) -> Approval:
    """The `Approval` a pending request was made under."""
    for t in workflow.transitions:
        a = t.approval
        if t.event == pending.event and a is not None and a.kind_for(t.event) == pending.kind:
            return a
    return Approval(pending.approvers, kind=pending.kind)


def approval_checks(
    workflow: Workflow, case: Case, actor: Actor, pending: Pending, *, deciding: str
) -> list[Verdict]:
    """Why ``actor`` may not approve or reject ``pending`` (empty: may)."""
    rule = approval_rule(workflow, pending)
    problems = []
    if pending.voted(actor.id):
        why = f"{actor.id} has voted on {pending.kind} already; another member must {deciding}"
        problems.append(refusal("vote", why))
    if actor.id == pending.requested_by and rule.self_approve.isdisjoint(actor.roles):
        problems.append(
            refusal(
                "four_eyes",
                f"{actor.id} requested {pending.event}; someone else must {deciding} it",
            )
        )
    if rule.not_assignee and actor.id == case.assignee:
        why = f"{actor.id} is the worker of {case.id}; someone else must {deciding} it"
        problems.append(refusal("four_eyes", why))
    if pending.approvers.isdisjoint(actor.roles):
        needed = " or ".join(sorted(pending.approvers))
        problems.append(
            refusal("approver", f"{actor.id} acts as {_held(actor)}; to {deciding} needs {needed}")
        )
    found = access_problem(workflow, case, actor, MANAGE)
    if found is not None:
        problems.append(found)
    return problems


def record_roles(workflow: Workflow) -> frozenset[str]:
    """Who may record on a case of this workflow."""
    return workflow.record_roles or frozenset(r for t in workflow.transitions for r in t.roles)


def closed_problem(workflow: Workflow, case: Case, doing: str) -> Verdict | None:
    """The refusal of ``doing`` something on a closed case (None: it is open)."""
    if not workflow.state(case.state).terminal:
        return None
    why = f"the case is closed ({case.state}); reopen it to {doing}"
    return refusal("state", why, CheckKind.STATE)


def record_checks(workflow: Workflow, case: Case, actor: Actor) -> list[Verdict]:
    """Why ``actor`` may not record on the case (empty: may)."""
    found = [
        role_problem(actor, record_roles(workflow), "recording"),
        closed_problem(workflow, case, "record more"),
        access_problem(workflow, case, actor, "record"),
    ]
    return [v for v in found if v is not None]


def move_problems(
    workflow: Workflow,
    case: Case,
    dest: str,
    approved: str | None,
    configuration: tuple[str, ...] = (),
) -> list[Verdict]:
    """Why the case may not move to ``dest`` now, with what waits on it (empty: may).

    A request waiting for approval whose kind says ``refuse`` holds the case where it
    is (``approved`` is the kind being approved by this very step); an open handover
    whose rule says ``refuse`` keeps the case from closing. In a workflow with stages a
    move of one track (to ``configuration``) is a move too.
    """
    problems = []
    if dest != case.state or (configuration and configuration != case.configuration):
        for kind, p in case.approvals.items():
            if kind != approved and approval_rule(workflow, p).on_move is OnMove.REFUSE:
                problems.append(waiting(p))
    if workflow.state(dest).terminal:
        for h in case.open_handovers:
            rule = workflow.handovers.get(str(h.kind))
            if rule is not None and rule.on_close is OnClose.REFUSE:
                why = f"{h.id} to {h.addressee} is open; end it before closing the case"
                problems.append(refusal("handover", why, CheckKind.STATE))
    return problems
