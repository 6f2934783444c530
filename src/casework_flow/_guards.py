"""Guards: conditions on a transition, built as values so they can explain themselves.

A guard is never an opaque lambda. It is a small tree of frozen values (comparisons on a
measure, evidence on file, separation of duties, ``&``/``|``/``~``) that can say what it
checks (`Guard.text`), why it held or failed in words a social worker reads, be drawn on
a diagram and be checked statically. A named Python callable (`check`) is the escape hatch
for rules that need the host's own code.

Measures read one number or value from the situation of an attempted transition:

- ``fact("age")``: a field of the case's data, as it would be after this step;
- ``time_in_state()`` and ``time_since_opened()``: durations from the step's time;
- ``count("record_contact_attempt")``: how often an event was committed on the case;
- ``span("record_contact_attempt")``: time from its first to its last occurrence.

Comparing a measure (``>=``, ``==``, ``.one_of(...)``...) gives a guard:

>>> from datetime import timedelta
>>> contacts = count("record_contact_attempt")
>>> g = (contacts >= 3) & (span("record_contact_attempt") >= timedelta(days=7))
>>> g.text
'count(record_contact_attempt) >= 3 and span(record_contact_attempt) >= 7 days'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from attrs import field, frozen

from ._guard_base import (
    ALWAYS,
    AllOf,
    Always,
    AnyOf,
    Guard,
    GuardContext,
    Not,
    Traced,
    always,
    untraced,
    walk,
)
from ._measures import (
    Compare,
    Count,
    Fact,
    Linked,
    Measure,
    Present,
    Span,
    TimeInState,
    TimeSinceOpened,
    count,
    fact,
    linked,
    span,
    time_in_state,
    time_since_opened,
)

__all__ = [
    "ALWAYS",
    "AllOf",
    "Always",
    "AnyOf",
    "Check",
    "Compare",
    "Consent",
    "Count",
    "Evidence",
    "Fact",
    "Guard",
    "GuardContext",
    "Handed",
    "InState",
    "Linked",
    "Measure",
    "Not",
    "NotActorOf",
    "NotAssignee",
    "Present",
    "Span",
    "TimeInState",
    "TimeSinceOpened",
    "Traced",
    "always",
    "check",
    "consent",
    "count",
    "evidence",
    "fact",
    "handover",
    "in_state",
    "linked",
    "not_actor_of",
    "not_assignee",
    "referenced_events",
    "span",
    "time_in_state",
    "time_since_opened",
    "traced",
    "untraced",
    "walk",
]


@frozen
class Evidence(Guard):
    """A document of this kind is on file (or is supplied with the step)."""

    kind: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"evidence {self.kind}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when the case's evidence has this kind of document."""
        ref = ctx.evidence.get(self.kind)
        if ref:
            return True, f"{self.kind} is on file ({ref})"
        return False, f"no {self.kind} on file; it is needed"


def evidence(*kinds: str) -> Guard:
    """Guard that each document kind is on file.

    >>> evidence("referral_letter", "health_certificate").text
    'evidence referral_letter and evidence health_certificate'
    """
    if not kinds:
        msg = "evidence() needs at least one document kind"
        raise TypeError(msg)
    guards: tuple[Guard, ...] = tuple(Evidence(k) for k in kinds)
    return guards[0] if len(guards) == 1 else AllOf(guards)


CONSENT_PREFIX: Final = "consent:"


@frozen
class Consent(Guard):
    """The client's informed consent for this purpose is on file.

    Consent is recorded as evidence of kind ``consent:<purpose>`` (the signed form's
    reference), so it travels with the case's other documents and its audit entries.
    """

    purpose: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"consent to {self.purpose}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when consent for the purpose is on file."""
        ref = ctx.evidence.get(CONSENT_PREFIX + self.purpose)
        if ref:
            return True, f"the client's consent to {self.purpose} is recorded ({ref})"
        return False, f"no consent to {self.purpose} is recorded; the client must consent"


def consent(purpose: str) -> Guard:
    """Guard that the client's informed consent for ``purpose`` is recorded."""
    return Consent(purpose)


@frozen
class NotActorOf(Guard):
    """Separation of duties: the actor did not make an ``event`` step earlier on this case.

    The one who made a step that waited for approval is its requester; the approver
    only approved it (`History.doers`). So ``not_actor_of("approve_case_plan")`` blocks
    whoever asked for the case plan, and leaves the supervisor who approved it free.
    """

    event: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"not the actor of {self.event}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Fail when the same actor id committed ``event`` before."""
        if ctx.actor.id in ctx.history.doers(self.event):
            return False, (
                f"{ctx.actor.id} did {self.event} on this case; someone else must do {ctx.event}"
            )
        return True, f"{ctx.actor.id} did not do {self.event} on this case"


def not_actor_of(event: str) -> Guard:
    """Guard that the actor is not the one who committed ``event`` on this case."""
    return NotActorOf(event)


@frozen
class NotAssignee(Guard):
    """Separation of duties: the actor is not the case's assigned worker."""

    text: str = field(default="not the assigned worker", init=False, eq=False, repr=False)

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Fail when the actor is the assignee."""
        if ctx.case.assignee is not None and ctx.case.assignee == ctx.actor.id:
            return False, f"{ctx.actor.id} is the case's own worker; someone else must decide"
        return True, f"{ctx.actor.id} is not the case's own worker"


def not_assignee() -> Guard:
    """Guard that the actor is not the case's assigned worker (four eyes)."""
    return NotAssignee()


@frozen
class Handed(Guard):
    """A handover of this kind is accepted and still open on the case (a referral taken)."""

    kind: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"{self.kind} accepted"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when an accepted, open handover of the kind is on the case."""
        for h in ctx.case.open_handovers:
            if h.kind == self.kind and h.status == "accepted":
                return True, f"{h.id} to {h.addressee} was accepted by {h.answered_by}"
        return False, f"no {self.kind} of this case has been accepted"


def handover(kind: str) -> Guard:
    """Guard that a handover of ``kind`` (``referral``) was accepted and is still open."""
    return Handed(kind)


@frozen
class InState(Guard):
    """The case is in this state, or in a state inside this stage or track."""

    state: str
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"in {self.state}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold when the state is active (its own or a stage around the case's)."""
        if self.state in ctx.active:
            return True, f"the case is in {self.state}"
        where = ", ".join(ctx.case.configuration)
        return False, f"the case is not in {self.state} (it is in {where})"


def in_state(state: str) -> Guard:
    """Guard that the case is in ``state``: a stage, a track, or a state of another track.

    ``in_state("health_cleared")`` holds while the family is still being traced.
    """
    return InState(state)


@frozen
class Check(Guard):
    """The escape hatch: a named host function ``fn(ctx) -> bool | (bool, why)``."""

    name: str
    fn: Callable[[GuardContext], bool | tuple[bool, str]]
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"check {self.name}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Call the function and normalise its answer."""
        result = self.fn(ctx)
        if isinstance(result, tuple):
            ok, why = result
            return bool(ok), why
        return bool(result), f"{self.name} {'holds' if result else 'does not hold'}"


def check(name: str, fn: Callable[[GuardContext], bool | tuple[bool, str]]) -> Guard:
    """Wrap a host function as a named guard.

    Args:
        name: A stable name, shown on diagrams and in audit entries.
        fn: Called with the `GuardContext`; returns a bool or (bool, sentence). It may
            read ``ctx.history`` (a `History`) for the trail; a workflow with a
            host check loads the whole trail with the case for it.
    """
    return Check(name, fn)


def referenced_events(g: Guard) -> set[str]:
    """The events a guard reads from the trail (counts, spans, separation of duties)."""
    out: set[str] = set()
    for part in walk(g):
        measure = getattr(part, "measure", None)
        if isinstance(measure, Count | Span):
            out.add(measure.event)
        elif isinstance(part, NotActorOf):
            out.add(part.event)
    return out


def traced(guard: Guard, *requirements: str) -> Guard:
    """``guard``, marked as enforcing the policy's ``requirements`` (ids the workflow declares).

    The traceability matrix lists the transition with the guard under each id; what the
    guard decides does not change.

    >>> traced(count("record_contact_attempt") >= 3, "SOP-4.2").text
    'count(record_contact_attempt) >= 3'
    """
    return Traced(guard, requirements)
