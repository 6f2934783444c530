"""What a person may do on a case now: every event, with what it needs or what blocks it.

A case page shows a worker each event the case's state offers: those they can do now,
those they can do once they give something with the step (a data field, a document, a
written reason or a reason code), and those blocked, with every reason. One decision
with nothing supplied says whether the event is possible now; a second, with every
input the event's transitions could take filled with a placeholder, separates what the
person can supply from what truly blocks. A guard that reads a value the person supplies
is not held against them: its outcome depends on what they will type.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from attrs import frozen

from . import _inputs
from ._case import Actor
from ._commands import Fire
from ._compiled import Decision
from ._definition import Workflow
from ._guard_base import walk
from ._guards import CONSENT_PREFIX, Consent, Evidence
from ._measures import Compare, Fact, Present
from ._parts import Transition
from ._snapshot import Snapshot
from ._verdict import CheckKind, Verdict

__all__ = ["Action", "ActionStatus", "Needs", "actions"]

_GIVEN = "(to be given)"


class ActionStatus(StrEnum):
    """Whether an event can be done now."""

    ALLOWED = "allowed"
    """It can be done now as it is."""
    NEEDS_INPUT = "needs_input"
    """It can be done with the inputs listed in `Action.needs`."""
    BLOCKED = "blocked"
    """Something the person cannot supply with the step stands in the way."""


@frozen
class Needs:
    """What the person must give with the step.

    Attributes:
        data: Data fields the step requires.
        evidence: Document kinds the step's guards ask for that are not on file
            (consent as ``consent:<purpose>``).
        reason: Whether a written reason is required.
        reason_codes: The reason codes to choose from (empty: none is asked for).
    """

    data: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    reason: bool = False
    reason_codes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.data or self.evidence or self.reason or self.reason_codes)


@frozen
class Action:
    """One event of the case's state, as a person sees it.

    Attributes:
        event: The event.
        label: Its label in the requested locale (the event when it has none).
        status: Whether it can be done now, with inputs, or not.
        needs: What it needs given with the step (for `ActionStatus.NEEDS_INPUT`, and
            for a blocked event what it would need besides).
        reasons: For a blocked event, every check that blocks it, in the words a person
            reads; empty otherwise.
        dest: Where the case would go (for a blocked event, the first candidate's).
        needs_approval: Whether the step waits for an approver before it happens.
    """

    event: str
    label: str
    status: ActionStatus
    needs: Needs
    reasons: tuple[Verdict, ...]
    dest: str
    needs_approval: bool


Decide = Callable[[Fire], Decision]


def _evidence_kinds(t: Transition) -> tuple[str, ...]:
    kinds = []
    for g in walk(t.guard):
        if isinstance(g, Evidence):
            kinds.append(g.kind)
        elif isinstance(g, Consent):
            kinds.append(CONSENT_PREFIX + g.purpose)
    return tuple(dict.fromkeys(kinds))


def _needs(t: Transition, snap: Snapshot) -> Needs:
    on_file = snap.case.evidence
    return Needs(
        data=t.requires,
        evidence=tuple(k for k in _evidence_kinds(t) if not on_file.get(k)),
        reason=t.reason_required,
        reason_codes=t.reason_codes,
    )


def _reads_input(t: Transition) -> set[str]:
    """The texts of the guard parts whose outcome depends on what the person supplies."""
    out = set()
    for part in t.conjuncts:
        for g in walk(part):
            if not isinstance(g, Compare | Present):
                continue
            if isinstance(g.measure, Fact) and g.measure.name in t.requires:
                out.add(part.text)
    return out


def _supplied(event: str, actor: Actor, candidates: tuple[Transition, ...]) -> Fire:
    data = {name: _GIVEN for t in candidates for name in t.requires}
    docs = {kind: _GIVEN for t in candidates for kind in _evidence_kinds(t)}
    codes = [c for t in candidates for c in t.reason_codes]
    return Fire(
        event=event,
        actor=actor,
        data=_inputs.data(data),
        evidence=_inputs.evidence(docs),
        reason=_GIVEN,
        reason_code=codes[0] if codes else None,
    )


def actions(
    wf: Workflow, snap: Snapshot, actor: Actor, decide: Decide, locale: str = "en"
) -> tuple[Action, ...]:
    """Every event the case's configuration offers, in declaration order, for ``actor``."""
    out = []
    for event in wf.events:
        candidates = tuple(wf.candidates_in(snap.case.configuration, event))
        if not candidates:
            continue
        label = candidates[0].label(locale)
        now = decide(Fire(event=event, actor=actor))
        if now.allowed:
            allowed = ActionStatus.ALLOWED
            out.append(Action(event, label, allowed, Needs(), (), now.dest, now.needs_approval))
            continue
        given = decide(_supplied(event, actor, candidates))
        if given.allowed:
            assert given.transition is not None  # noqa: S101 - an allowed decision has one
            needs = _needs(given.transition, snap)
            status = ActionStatus.NEEDS_INPUT
            out.append(Action(event, label, status, needs, (), given.dest, given.needs_approval))
            continue
        depends = set().union(*(_reads_input(t) for t in candidates))
        blocking = tuple(
            v
            for v in given.reasons
            if not (v.kind in {CheckKind.DATA, CheckKind.REASON} or v.check in depends)
        )
        first = candidates[0]
        status = ActionStatus.BLOCKED if blocking else ActionStatus.NEEDS_INPUT
        dest, approval = first.dest or snap.case.state, first.approval is not None
        out.append(Action(event, label, status, _needs(first, snap), blocking, dest, approval))
    return tuple(out)
