"""Who may act on a case now: the owner's side, and those an open handover lets in.

One model, asked by every command that reads or changes a case. An actor who names no
units is not scoped (a host that does not model units); a case with no unit is anyone's
with the roles. Otherwise the actor must work in the unit that owns the case, or be the
addressee of an open handover on it whose rule lets them do this one thing (``read``,
``record`` or an event). `acting_on` first settles who the actor is on this case: the
roles they hold there, and whether a cross-unit role frees them from units altogether.
"""

from __future__ import annotations

from typing import TypeVar

import attrs

from ._case import Actor, Case
from ._definition import Workflow
from ._handover import Handover
from ._verdict import CheckKind, Verdict

__all__ = ["MANAGE", "access_problem", "acting_on", "addressed_to", "as_on", "owns"]

C = TypeVar("C")

MANAGE = "manage"
"""What only the owner's side may do: approve, assign, send a handover, migrate."""


def as_on(workflow: Workflow, case: Case, actor: Actor) -> Actor:
    """``actor`` as they act on ``case``: with the roles they hold in its units.

    Those are the unit that owns the case and the units of open handovers on it
    addressed to one of the actor's units. An actor then holding a role the workflow
    declares cross-unit acts as one who names no units.
    """
    if actor.unit_roles:
        units = {case.unit, *(h.to_unit for h in case.open_handovers if h.to_unit in actor.units)}
        actor = actor.in_units(units)
    if actor.units and not workflow.cross_unit_roles.isdisjoint(actor.roles):
        return Actor(actor.id, actor.roles)
    return actor


def acting_on(workflow: Workflow, case: Case, command: C) -> C:
    """The command with its actors (the one acting, the one overriding) as on ``case``."""
    changes: dict[str, Actor] = {}
    for name in ("actor", "override_by"):
        who = getattr(command, name, None)
        if isinstance(who, Actor):
            seen = as_on(workflow, case, who)
            if seen is not who:
                changes[name] = seen
    return attrs.evolve(command, **changes) if changes else command  # type: ignore[misc]


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
