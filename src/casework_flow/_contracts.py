"""Contracts: what must hold in a state, and before and after a transition.

A workflow may declare, besides the guards that decide whether a step may go, what its
designer holds to be always true: a state's ``invariant`` (in ``assessment``, an
assigned worker and an intake date), a transition's ``pre`` (true whenever it is taken)
and ``post`` (true on the case after it). A contract that fails is a defect of the
process, not a refusal: the testing kit reports it as a broken rule, and the engine,
when the host turns it on (``Engine(check_contracts=True)``), refuses to commit the step
and raises `ContractBroken`. `breaches` reads a step's entries and the cases they leave,
so the same check serves both.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._audit import AuditEntry, EntryKind
from ._case import Actor, Case
from ._catalog import Catalog
from ._definition import Workflow
from ._evolve import evolve
from ._frozen import FrozenMap
from ._guard_base import ALWAYS, Guard, GuardContext
from ._history import History
from ._parts import Transition

__all__ = ["breaches", "has_contracts"]

_STEPS = frozenset({EntryKind.TRANSITION, EntryKind.RECORDED})


def has_contracts(workflow: Workflow) -> bool:
    """Whether the workflow declares any invariant, precondition or postcondition."""
    return any(s.invariant is not ALWAYS for s in workflow.all_states) or any(
        t.pre is not ALWAYS or t.post is not ALWAYS for t in workflow.transitions
    )


def _context(
    workflow: Workflow, case: Case, entry: AuditEntry, history: Sequence[AuditEntry], *,
    step: bool,
) -> GuardContext:  # fmt: skip
    """What a contract sees: the step as its guard saw it, or the case as it left it."""
    payload = FrozenMap({c.field: c.after for c in entry.changes}) if step else FrozenMap()
    return GuardContext(
        case=case, actor=Actor(entry.actor_id, entry.actor_roles), event=entry.event,
        payload=payload, evidence=entry.evidence if step else FrozenMap(), now=entry.at,
        reason_code=entry.reason_code if step else None, history=History(tuple(history)),
        active=workflow.tree.active(case.configuration) if workflow.staged else None,
    )  # fmt: skip


def _taken(workflow: Workflow, ctx: GuardContext) -> Transition | None:
    """The transition the step took: the first candidate whose guard holds, as decide picks."""
    for t in workflow.candidates_in(ctx.case.configuration, ctx.event):
        if t.guard.test(ctx)[0]:
            return t
    return None


def _failed(contract: Guard, ctx: GuardContext) -> str | None:
    held, why = contract.test(ctx)
    return None if held else why


def breaches(
    catalog: Catalog, before: Case | None, entries: Sequence[AuditEntry],
    history: Sequence[AuditEntry],
) -> tuple[str, ...]:  # fmt: skip
    """Each contract a step's ``entries`` break, in words (empty: none).

    ``before`` is the case before the step (None for an opening) and ``history`` its
    trail so far. Each entry that takes a transition is checked against the
    transition's precondition (on the case before it) and postcondition (after it),
    and every entry that leaves the case somewhere against the invariants of the
    states it is then in.
    """
    found: list[str] = []
    trail = list(history)
    case = before
    for entry in entries:
        after = evolve(case, entry, catalog=catalog)
        workflow = catalog.workflow(after.workflow, after.version)
        if case is not None and entry.kind in _STEPS:
            t = _taken(workflow, _context(workflow, case, entry, trail, step=True))
            if t is not None and t.pre is not ALWAYS:
                why = _failed(t.pre, _context(workflow, case, entry, trail, step=True))
                if why is not None:
                    found.append(f"{entry.event}: its precondition failed: {why}")
            if t is not None and t.post is not ALWAYS:
                why = _failed(t.post, _context(workflow, after, entry, [*trail, entry], step=False))
                if why is not None:
                    found.append(f"{entry.event}: its postcondition failed: {why}")
        if entry.kind in _STEPS or entry.kind is EntryKind.OPENED:
            ctx = _context(workflow, after, entry, [*trail, entry], step=False)
            for state in sorted(ctx.active):
                s = workflow.state(state)
                why = _failed(s.invariant, ctx) if s.invariant is not ALWAYS else None
                if why is not None:
                    found.append(f"in {state}: its invariant failed: {why}")
        trail.append(entry)
        case = after
    return tuple(found)
