"""The checks a step is refused by, each a pure function returning failed verdicts.

Every rule that can refuse a command lives here once: the checks of a candidate
transition (roles, required data, reasons, reason codes, guards), consent overrides,
approvals, records, assignment and transfers. `_decide` calls them; nothing else does.
"""

from __future__ import annotations

from typing import Final

from ._case import Actor, Case, Pending
from ._definition import ConsentOverride, Transition, Workflow
from ._guards import GuardContext
from ._verdict import CheckKind, Verdict

__all__ = [
    "approval_checks",
    "assign_checks",
    "check_transition",
    "override_problems",
    "record_checks",
    "record_roles",
    "refusal",
    "role_problem",
    "transfer_answer_checks",
    "transfer_request_checks",
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
    why = (
        f"{pending.event}, requested by {pending.requested_by}, is waiting for approval;"
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


# --- approvals, records, assignment, transfers ----------------------------------------


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
        needed = " or ".join(sorted(pending.approvers))
        problems.append(
            refusal("approver", f"{actor.id} acts as {_held(actor)}; to {deciding} needs {needed}")
        )
    return problems


def record_roles(workflow: Workflow) -> frozenset[str]:
    """Who may record on a case of this workflow."""
    return workflow.record_roles or frozenset(r for t in workflow.transitions for r in t.roles)


def _closed(workflow: Workflow, case: Case, doing: str) -> Verdict | None:
    if not workflow.state(case.state).terminal:
        return None
    why = f"the case is closed ({case.state}); reopen it to {doing}"
    return refusal("state", why, CheckKind.STATE)


def record_checks(workflow: Workflow, case: Case, actor: Actor) -> list[Verdict]:
    """Why ``actor`` may not record on the case (empty: may)."""
    found = [
        role_problem(actor, record_roles(workflow), "recording"),
        _closed(workflow, case, "record more"),
    ]
    return [v for v in found if v is not None]


def assign_checks(workflow: Workflow, actor: Actor) -> list[Verdict]:
    """Why ``actor`` may not assign the case (empty: may)."""
    found = role_problem(actor, workflow.assign_roles, "assigning cases")
    return [] if found is None else [found]


def transfer_request_checks(
    workflow: Workflow, case: Case, actor: Actor, to_unit: str
) -> list[Verdict]:
    """Why ``actor`` may not ask ``to_unit`` to take the case (empty: may)."""
    problems = []
    found = role_problem(actor, workflow.transfer_roles, "transferring a case")
    if found is not None:
        problems.append(found)
    if case.transfer is not None:
        why = f"a transfer to {case.transfer.to_unit} is already waiting"
        problems.append(refusal("transfer", why, CheckKind.STATE))
    if to_unit == case.unit:
        problems.append(refusal("unit", f"the case already belongs to {to_unit}"))
    closed = _closed(workflow, case, "transfer it")
    if closed is not None:
        problems.append(closed)
    return problems


def transfer_answer_checks(
    workflow: Workflow, case: Case, actor: Actor, *, accept: bool, reason: str | None
) -> list[Verdict]:
    """Why ``actor`` may not answer the case's waiting transfer (empty: may)."""
    transfer = case.transfer
    if transfer is None:
        return [refusal("transfer", f"no transfer of {case.id} is waiting", CheckKind.STATE)]
    problems = []
    if transfer.to_unit not in actor.units:
        why = f"{actor.id} is not of {transfer.to_unit}; the receiving unit must answer"
        problems.append(refusal("unit", why))
    if workflow.receive_roles and workflow.receive_roles.isdisjoint(actor.roles):
        needed = " or ".join(sorted(workflow.receive_roles))
        problems.append(refusal("role", f"answering a transfer needs {needed}"))
    if not accept and not (reason and reason.strip()):
        problems.append(refusal("reason", "a refusal needs a written reason", CheckKind.REASON))
    if accept:
        closed = _closed(workflow, case, "move it")
        if closed is not None:
            problems.append(closed)
    return problems
