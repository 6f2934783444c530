"""Who may act on a case now: the owner's side, and those an open handover lets in.

One model, asked by every command that reads or changes a case. An actor who names no
units is not scoped (a host that does not model units); a case with no unit is anyone's
with the roles. Otherwise the actor must work in the unit that owns the case, or be the
addressee of an open handover on it whose rule lets them do this one thing (``read``,
``record`` or an event).
"""

from __future__ import annotations

from ._case import Actor, Case
from ._definition import Workflow
from ._handover import Handover
from ._verdict import CheckKind, Verdict

__all__ = ["MANAGE", "access_problem", "addressed_to", "owns"]

MANAGE = "manage"
"""What only the owner's side may do: approve, assign, send a handover, migrate."""


def owns(case: Case, actor: Actor) -> bool:
    """Whether ``actor`` acts for the side that owns the case."""
    return not actor.units or case.unit is None or case.unit in actor.units


def addressed_to(handover: Handover, actor: Actor) -> bool:
    """Whether ``actor`` is the handover's addressee (the named worker, or of its unit)."""
    if handover.to_worker is not None:
        return handover.to_worker == actor.id
    return handover.to_unit is not None and handover.to_unit in actor.units


def access_problem(workflow: Workflow, case: Case, actor: Actor, what: str) -> Verdict | None:
    """Why ``actor`` may not do ``what`` on the case now (None: may).

    ``what`` is ``read``, ``record``, an event name, or `MANAGE`.
    """
    if owns(case, actor):
        return None
    if what != MANAGE:
        for h in case.open_handovers:
            rule = workflow.handovers.get(str(h.kind))
            if rule is not None and what in rule.access and addressed_to(h, actor):
                return None
    doing = "act on it" if what == MANAGE else f"do {what} on it"
    why = (
        f"{actor.id} is not of {case.unit}, which owns {case.id},"
        f" and no open handover lets them {doing}"
    )
    return Verdict(kind=CheckKind.ROLE, check="access", passed=False, why=why)
