"""The steps the exhaustive and random tools take, as the engine would take them.

Each step goes through `decide` and `evolve`; a step that needs approval is approved
at once, one that needs an accepted handover has one sent and accepted just before, a
due timer fires as the system actor, and a transfer takes the case to another unit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final

import attrs
from attrs import frozen

from .._audit import AuditEntry, EntryKind
from .._case import Actor, Case
from .._catalog import Catalog
from .._commands import Answer, Approve, Command, Fire, Send
from .._decide import StepResult, decide
from .._evolve import fold
from .._frozen import FrozenMap
from .._guards import CONSENT_PREFIX, Consent, Evidence, Guard, walk
from .._handover import HandoverKind
from .._history import History
from .._shell import SYSTEM_ACTOR
from .._snapshot import Snapshot
from ._plan import _Plan, _Variant

__all__ = [
    "REASON",
    "Move",
    "Script",
    "_command",
    "_fired",
    "_moves",
    "_prepared",
    "_start",
    "_timer_move",
    "_transfer_move",
]

_APPROVER: Final = "approver-1"
REASON: Final = "as recorded"
_ELSEWHERE: Final = "unit-b"
"""The unit handovers go to."""


def _then(snap: Snapshot, after: Case, entries: Sequence[AuditEntry]) -> Snapshot:
    return Snapshot(after, entries[-1].head, History((*snap.history.entries, *entries)))


Script = tuple[tuple[Command, datetime], ...]
"""Commands with the time each was decided at: how to take a case along a trail again."""


@frozen
class Move:
    """One step the tools take: the case after it, its entries, and the commands it took."""

    after: Case
    entries: tuple[AuditEntry, ...]
    script: Script


def _approved(
    catalog: Catalog, snap: Snapshot, result: StepResult, command: Fire, now: datetime
) -> Move | None:
    """The step's entries and case, approved at once when it asked for approval."""
    entries = result.entries
    after = result.after if result.after is not None else fold(snap.case, entries, catalog=catalog)
    kind = entries[-1].details.get("approval_kind")
    if entries[-1].kind is not EntryKind.APPROVAL_REQUESTED or kind is None:
        return Move(after, entries, ((command, now),))
    approve = Approve(Actor(_APPROVER, after.approvals[kind].approvers), kind=kind)
    approval = decide(catalog, _then(snap, after, entries), approve, now)
    if approval.refused or approval.after is None:
        return None
    return Move(approval.after, (*entries, *approval.entries), ((command, now), (approve, now)))


def _papers(guard: Guard) -> FrozenMap[str]:
    """The documents and consents a handover's guard asks for, all supplied."""
    kinds = {g.kind for g in walk(guard) if isinstance(g, Evidence)}
    kinds |= {f"{CONSENT_PREFIX}{g.purpose}" for g in walk(guard) if isinstance(g, Consent)}
    return FrozenMap(dict.fromkeys(sorted(kinds), "DOC"))


def _hand_over(
    catalog: Catalog, snap: Snapshot, kinds: Sequence[str], now: datetime
) -> tuple[Snapshot, tuple[AuditEntry, ...], Script] | None:
    """Send and accept a handover of each kind an event's guard asks for (None: cannot)."""
    workflow = catalog.workflow(snap.case.workflow, snap.case.version)
    entries: tuple[AuditEntry, ...] = ()
    script: Script = ()
    for kind in kinds:
        case = snap.case
        if any(h.kind == kind and h.status == "accepted" for h in case.open_handovers):
            continue
        rule = workflow.handovers.get(kind)
        if rule is None:
            return None
        sender = Actor("sender-1", rule.send or {"worker"})
        send = Send(HandoverKind(kind), sender, REASON, _ELSEWHERE)
        sent = decide(catalog, snap, send, now)
        if sent.refused:
            send = attrs.evolve(send, evidence=_papers(rule.guard))
            sent = decide(catalog, snap, send, now)
        if sent.refused or sent.after is None:
            return None
        snap = Snapshot(
            sent.after, sent.entries[-1].head, History((*snap.history.entries, *sent.entries))
        )
        receiver = Actor(
            "receiver-1", rule.answer or rule.on_behalf or {"worker"}, units={_ELSEWHERE}
        )
        accept = Answer(kind, "accept", receiver)
        taken = decide(catalog, snap, accept, now)
        if taken.refused or taken.after is None:
            return None
        snap = Snapshot(
            taken.after, taken.entries[-1].head, History((*snap.history.entries, *taken.entries))
        )
        entries = (*entries, *sent.entries, *taken.entries)
        script = (*script, (send, now), (accept, now))
    return snap, entries, script


def _prepared(
    catalog: Catalog, plan: _Plan, start: Snapshot, event: str, now: datetime
) -> tuple[Snapshot, tuple[AuditEntry, ...], Script] | None:
    """The case ready for ``event``: with the handovers its guard asks for (None: cannot)."""
    if not plan.handed[event]:
        return start, (), ()
    return _hand_over(catalog, start, plan.handed[event], now)


def _fired(
    catalog: Catalog,
    ready: tuple[Snapshot, tuple[AuditEntry, ...], Script],
    command: Fire,
    now: datetime,
) -> Move | None:
    """The move ``command`` makes from the prepared case, approval included (None: refused)."""
    snap, before, script = ready
    result = decide(catalog, snap, command, now)
    done = None if result.refused else _approved(catalog, snap, result, command, now)
    if done is None:
        return None
    return Move(done.after, (*before, *done.entries), (*script, *done.script))


def _command(event: str, actor: Actor, v: _Variant) -> Fire:
    return Fire(
        event=event, actor=actor, data=v.payload, evidence=v.evidence,
        reason=REASON, reason_code=v.code, override_by=v.override_by,
    )  # fmt: skip


def _start(case: Case, trail: Sequence[AuditEntry]) -> Snapshot:
    return Snapshot(case, trail[-1].head, History(tuple(trail)))


def _timer_move(catalog: Catalog, case: Case, trail: tuple[AuditEntry, ...]) -> Move | None:
    """The case's next timer firing when it falls due, as `Engine.run_timer` fires it.

    A refused timer's step is a move too: its entry spends the timer.
    """
    if case.timer is None or case.timer_at is None:
        return None
    wf = catalog.workflow(case.workflow, case.version)
    spec = wf.timer(case.configuration, case.timer)
    command = Fire(event=spec.event, actor=SYSTEM_ACTOR, reason=spec.reason,
                   reason_code=spec.reason_code, timer=spec.name)  # fmt: skip
    now = max(case.timer_at, trail[-1].at)
    snap = _start(case, trail)
    result = decide(catalog, snap, command, now)
    if not result.refused:
        return _approved(catalog, snap, result, command, now)
    if not result.entries:
        return None
    after = fold(case, result.entries, catalog=catalog)
    return Move(after, result.entries, ((command, now),))


def _transfer_move(catalog: Catalog, case: Case, trail: tuple[AuditEntry, ...]) -> Move | None:
    """The case transferred to another unit, where the workflow has a transfer rule."""
    wf = catalog.workflow(case.workflow, case.version)
    if "transfer" not in wf.handovers or case.unit == _ELSEWHERE or wf.state(case.state).terminal:
        return None
    done = _hand_over(catalog, _start(case, trail), ("transfer",), trail[-1].at)
    if done is None or not done[1]:
        return None
    snap, entries, script = done
    return Move(snap.case, entries, script)


def _moves(
    catalog: Catalog,
    plan: _Plan,
    case: Case,
    trail: tuple[AuditEntry, ...],
    events: Sequence[str],
) -> Iterator[Move]:
    """Every step that would commit from this case.

    Steps go through `decide` and `evolve`, as the engine's do. A transition that
    needs approval is requested and approved at once, by someone holding an approving
    role who is not the requester: two entries, one move. An event whose guard asks for
    an accepted handover (``handover: referral``) has one sent and accepted just before,
    where the workflow's rule allows it. Time is simulated: a timer fires when it falls
    due, so no step waits past it.
    """
    start = _start(case, trail)
    last = trail[-1].at
    for event in events:
        for actor in plan.actors[event]:
            for wait in plan.waits:
                now = last + wait
                if case.timer_at is not None and now >= case.timer_at:
                    continue
                ready = _prepared(catalog, plan, start, event, now)
                if ready is None:
                    continue
                for v in plan.variants[event]:
                    move = _fired(catalog, ready, _command(event, actor, v), now)
                    if move is not None:
                        yield move
