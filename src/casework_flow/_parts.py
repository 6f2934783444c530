"""The parts of a workflow definition: states, transitions, approvals, consent overrides.

Each is a frozen value; `Workflow` (in `_definition`) holds them and validates the whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

from attrs import field, frozen

from ._case import _roles
from ._frozen import FrozenMap, frozen_map
from ._guards import ALWAYS, Guard
from ._handover import HandoverKind, OnClose, OnTransfer
from ._timing import Deadline, Timer

__all__ = [
    "DEFAULT_HANDOVERS",
    "Approval",
    "ConsentOverride",
    "HandoverRule",
    "OnMove",
    "State",
    "Transition",
]


class OnMove(StrEnum):
    """What a change of the case's state does to a request waiting for approval."""

    REFUSE = "refuse"
    """The change is refused until the request is approved or rejected."""
    CANCEL = "cancel"
    """The request is cancelled, with an entry of its own, in the same step."""


def _tuple_of(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _parts_of(guard: object) -> tuple[Guard, ...]:
    """A guard's parts that must all hold: none for `always` (or for no guard at all)."""
    if guard is ALWAYS or not isinstance(guard, Guard):
        return ()
    return guard.conjuncts()


@frozen(repr=False)
class State:
    """One state a case can be in.

    Attributes:
        id: A stable identifier (``family_tracing``); letters, digits and underscores.
        labels: Display labels per locale (``{"en": "Family tracing", "id":
            "Penelusuran keluarga"}``).
        description: What happens in this state, for documentation and diagrams.
        terminal: Whether the case ends here; a terminal state has no way out.
        deadline: How long a case may stay here before it is overdue.
        timers: Events that fire on their own after a time here.
        states: The states this one holds, making it a *stage*: what it declares
            (transitions out, deadline, timers) holds in every state inside.
        initial: The state a stage starts in (not for a parallel stage).
        parallel: The states held are *tracks*, all active at once, each a stage
            with its own initial and final states.
        history: When the stage is entered again, it resumes in the state it was
            left in (shallow history) rather than in ``initial``.
        final: Inside a stage: the stage (or track) is done when it gets here.
        on_done: The event raised, as the system actor and in the same step, when
            this stage is done (every track of a parallel stage in a final state).
        requirements: The ids of the requirements (declared in the workflow's
            ``requirements``) this state enforces, such as its deadline's rule.
        invariant: A contract: what must hold whenever a case is in this state (for a
            stage, anywhere inside it), such as an assigned worker and an intake date.
            The testing kit checks it after every step; the engine too, when asked.
    """

    id: str
    labels: Mapping[str, str] = field(converter=frozen_map, factory=dict)
    description: str = ""
    terminal: bool = False
    deadline: Deadline | None = None
    timers: tuple[Timer, ...] = field(converter=_tuple_of, factory=tuple)
    states: tuple[State, ...] = field(converter=_tuple_of, factory=tuple, kw_only=True)
    initial: str | None = field(default=None, kw_only=True)
    parallel: bool = field(default=False, kw_only=True)
    history: bool = field(default=False, kw_only=True)
    final: bool = field(default=False, kw_only=True)
    on_done: str | None = field(default=None, kw_only=True)
    requirements: tuple[str, ...] = field(converter=_tuple, factory=tuple, kw_only=True)
    invariant: Guard = field(default=ALWAYS, kw_only=True)

    def label(self, locale: str) -> str:
        """Return the label in ``locale``, falling back to ``en`` and then the id."""
        return self.labels.get(locale) or self.labels.get("en") or self.id

    def __repr__(self) -> str:
        kind = " terminal" if self.terminal else " final" if self.final else ""
        if self.states:
            kind += f" {'tracks' if self.parallel else 'stage'}={len(self.states)}"
        return f"<State {self.id}{kind}>"


@frozen
class Approval:
    """Four eyes: the transition waits until someone else, holding one of ``roles``, approves.

    Firing the event records the request (after every check has passed) and marks the
    case as awaiting approval of that ``kind``; `Engine.approve` by an actor with one
    of the roles performs the transition, `Engine.reject` (with a reason) drops it.
    A case holds at most one pending request per kind, and several kinds at once.

    Attributes:
        roles: The roles that may approve (or reject).
        kind: The approval's kind (``closure``, ``case_plan``); the event by default.
        not_assignee: The case's own worker may not approve it either.
        self_approve: Roles whose holders may approve their own request (a small
            office with no second person); every other requester is excluded.
        direct: Someone holding one of ``roles`` may take the step at once, with no
            prior request (the entry records it as approved directly).
        on_move: What a change of state does while a request of this kind waits:
            ``refuse`` the change (the default) or ``cancel`` the request with an entry.
        on_transfer: What an accepted transfer does to a waiting request: ``cancel``
            it (the default), or ``carry`` it to the receiving unit, whose approvers
            then decide it.
        quorum: How many distinct approvers must approve (a case conference where two
            of its members agree: 2); each vote before the last is an entry of its own,
            and the last one takes the step, with every check run again.
        rejections: How many distinct rejections end the request (1: the first one).
    """

    roles: frozenset[str] = field(converter=_roles)
    kind: str | None = None
    not_assignee: bool = False
    self_approve: frozenset[str] = field(converter=_roles, factory=frozenset)
    direct: bool = False
    on_move: OnMove = field(converter=OnMove, default=OnMove.REFUSE)
    on_transfer: OnTransfer = field(converter=OnTransfer, default=OnTransfer.CANCEL)
    quorum: int = 1
    rejections: int = 1

    def kind_for(self, event: str) -> str:
        """The kind a request for ``event`` is pending under."""
        return self.kind or event


@frozen
class ConsentOverride:
    """Where the client's consent is missing, a senior second actor may override it.

    Only the transition's `consent` guards can be overridden, and only with a reason code
    from ``reason_codes``, a written reason, and a second actor (not the one firing)
    holding one of ``roles``. The audit entry names the overriding actor and the consent
    overridden.

    Attributes:
        roles: The roles that may override missing consent (``supervisor``).
        reason_codes: The codes an override must give one of (``URGENT_RISK``).
    """

    roles: frozenset[str] = field(converter=_roles)
    reason_codes: tuple[str, ...] = field(converter=_tuple)


@frozen(repr=False)
class Transition:
    """A way from one or more states to another, on an event.

    Attributes:
        event: The event's name (``family_unresponsive``).
        source: The state id or ids it leaves from.
        dest: The state it leads to; None means it stays in the same state (a recorded
            step that changes data only, such as a contact attempt).
        guard: A `Guard` that must hold; by default none.
        roles: Roles allowed to fire it; an actor needs at least one. Empty means any.
        requires: Data fields that must be supplied with the step, not empty.
        reason_required: Whether a written reason must be given.
        reason_codes: When not empty, a reason code from this list must be given.
        priority: Order among transitions sharing the event and a source (ascending).
        labels: Display labels per locale.
        description: What the step means in practice.
        approval: When set, the step waits for a second person's approval.
        override: When set, missing consent may be overridden by a senior second actor.
        reopens: Marks the one kind of transition allowed out of a terminal state: a
            declared reopening, which must name roles and require a reason.
        requirements: The ids of the requirements (declared in the workflow's
            ``requirements``) this transition and its guard enforce.
        pre: A contract: what must hold whenever this transition is taken, on the
            case and step as its guard sees them. Unlike the guard, which decides
            whether the step may go, a precondition that fails is a defect of the
            process; the testing kit reports it, and so does the engine when asked.
        post: A contract: what must hold on the case after this transition.
    """

    event: str
    source: tuple[str, ...] = field(converter=_tuple)
    dest: str | None
    guard: Guard = ALWAYS
    roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    requires: tuple[str, ...] = field(converter=_tuple, factory=tuple)
    reason_required: bool = False
    reason_codes: tuple[str, ...] = field(converter=_tuple, factory=tuple)
    priority: int | None = None
    labels: Mapping[str, str] = field(converter=frozen_map, factory=dict)
    description: str = ""
    approval: Approval | None = None
    override: ConsentOverride | None = None
    reopens: bool = False
    requirements: tuple[str, ...] = field(converter=_tuple, factory=tuple, kw_only=True)
    pre: Guard = field(default=ALWAYS, kw_only=True)
    post: Guard = field(default=ALWAYS, kw_only=True)
    conjuncts: tuple[Guard, ...] = field(init=False, eq=False, repr=False)
    """The guard's parts that must all hold (none for `always`), each given a verdict."""

    @conjuncts.default
    def _conjuncts(self) -> tuple[Guard, ...]:
        return _parts_of(self.guard)

    def label(self, locale: str) -> str:
        """Return the label in ``locale``, falling back to ``en`` and then the event."""
        return self.labels.get(locale) or self.labels.get("en") or self.event

    def __repr__(self) -> str:
        dest = self.dest or "(same)"
        return f"<Transition {self.event}: {'|'.join(self.source)} -> {dest}>"


@frozen
class HandoverRule:
    """What a workflow declares for one kind of handover.

    Attributes:
        kind: The kind it governs.
        send: Roles that may start one (for a transfer request: roles of the asking
            side). An actor needs one of them.
        answer: Roles that may answer one addressed to a unit, in that unit; empty
            means anyone of the unit. A handover addressed to a named worker is
            answered by that worker, or for them by someone holding one of
            ``on_behalf`` in the addressee's unit.
        on_behalf: Roles (a unit's manager) that may answer for the named addressee.
        guard: What must hold to send it, such as the client's consent to share
            (``consent("referral")``) and a referral letter; consent guards can be
            overridden where ``override`` says.
        override: Who may set aside missing consent to send it, and with what codes.
        access: While it is open (a referral once accepted), what its addressee may do
            on the case: ``read``, ``record`` and event names.
        on_close: What closing the case does to it while open.
        on_transfer: What an accepted transfer of the case does to it while open
            (referrals and transfer requests).
    """

    kind: HandoverKind = field(converter=HandoverKind)
    send: frozenset[str] = field(converter=_roles, factory=frozenset)
    answer: frozenset[str] = field(converter=_roles, factory=frozenset)
    on_behalf: frozenset[str] = field(converter=_roles, factory=frozenset)
    guard: Guard = ALWAYS
    override: ConsentOverride | None = None
    access: frozenset[str] = field(converter=_roles, factory=frozenset)
    on_close: OnClose = field(converter=OnClose, default=OnClose.CANCEL)
    on_transfer: OnTransfer = field(converter=OnTransfer, default=OnTransfer.CANCEL)
    conjuncts: tuple[Guard, ...] = field(init=False, eq=False, repr=False)
    """The guard's parts that must all hold, each given a verdict."""

    @conjuncts.default
    def _conjuncts(self) -> tuple[Guard, ...]:
        return _parts_of(self.guard)


DEFAULT_HANDOVERS: Final = FrozenMap(
    {"transfer": HandoverRule(HandoverKind.TRANSFER, send={"supervisor"}, on_behalf={"supervisor"})}
)
"""What a workflow that declares no handovers allows: transfers sent by a supervisor, and
answered by the unit (or the named worker, or a supervisor there for them)."""
