"""Workflow definitions: states, transitions and the workflow that holds them.

A definition is validated when it is built, so a broken workflow never reaches a case:
every problem found is reported at once in one `WorkflowError`.

Evaluation order. When an event is fired, the candidate transitions are those on that
event whose sources include the case's state. A single candidate needs no order. Several
candidates must each declare a distinct ``priority``; they are tried in ascending
priority, and the first whose checks all pass fires. Declaration order is never relied on,
so reordering a file cannot change what a case does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Final

from attrs import field, frozen

from ._case import _map, _roles
from ._guards import ALWAYS, Consent, Guard, referenced_events
from ._timing import Deadline, Timer
from .exceptions import Problem, WorkflowError

__all__ = ["Approval", "ConsentOverride", "State", "Transition", "Workflow"]

_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WORKFLOW_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _tuple_of(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


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
    """

    id: str
    labels: Mapping[str, str] = field(converter=_map, factory=dict)
    description: str = ""
    terminal: bool = False
    deadline: Deadline | None = None
    timers: tuple[Timer, ...] = field(converter=_tuple_of, factory=tuple)

    def label(self, locale: str) -> str:
        """Return the label in ``locale``, falling back to ``en`` and then the id."""
        return self.labels.get(locale) or self.labels.get("en") or self.id

    def __repr__(self) -> str:
        return f"<State {self.id}{' terminal' if self.terminal else ''}>"


@frozen
class Approval:
    """Four eyes: the transition waits until someone else, holding one of ``roles``, approves.

    Firing the event records the request (after every check has passed) and marks the
    case as awaiting approval; `Engine.approve` by an actor with one of the roles who is
    not the requester performs the transition, `Engine.reject` (with a reason) drops it.
    """

    roles: frozenset[str] = field(converter=_roles)


@frozen
class ConsentOverride:
    """Where the client's consent is missing, a senior second actor may override it.

    Only the transition's `consent` guards can be overridden, and only with a reason code
    from ``reason_codes``, a written reason, and a second actor (not the one firing)
    holding one of ``roles``. The audit entry names the overriding actor and the consent
    overridden.
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
    labels: Mapping[str, str] = field(converter=_map, factory=dict)
    description: str = ""
    approval: Approval | None = None
    override: ConsentOverride | None = None
    reopens: bool = False
    conjuncts: tuple[Guard, ...] = field(init=False, eq=False, repr=False)
    """The guard's parts that must all hold (none for `always`), each given a verdict."""

    @conjuncts.default
    def _conjuncts(self) -> tuple[Guard, ...]:
        if self.guard is ALWAYS or not isinstance(self.guard, Guard):
            return ()
        return self.guard.conjuncts()

    def label(self, locale: str) -> str:
        """Return the label in ``locale``, falling back to ``en`` and then the event."""
        return self.labels.get(locale) or self.labels.get("en") or self.event

    def __repr__(self) -> str:
        dest = self.dest or "(same)"
        return f"<Transition {self.event}: {'|'.join(self.source)} -> {dest}>"


def _states(value: Iterable[State]) -> tuple[State, ...]:
    return tuple(value)


def _transitions(value: Iterable[Transition]) -> tuple[Transition, ...]:
    return tuple(value)


@frozen(repr=False)
class Workflow:
    """A versioned casework process: its states and the transitions between them.

    Attributes:
        name: The workflow's name (``street-beggar-family-conflict``).
        version: A positive integer; cases stay on the version they were opened under.
        initial: The state every new case starts in.
        states: All states.
        transitions: All transitions (see the module docs for evaluation order).
        locales: The locales labels are declared for.
        personal: Data fields holding personal data, masked in exports.
        roles: The roles the process knows; when given, transitions may name no other.
        description: What this process is for.
        record_roles: Who may record data or documents without a change of state
            (`Engine.record`); by default anyone holding a role some transition names.
        assign_roles: Who may assign and reassign cases (`Engine.assign`,
            `Engine.reassign`); by default ``supervisor``.
        transfer_roles: Who may ask another unit to take a case (`Engine.transfer`);
            by default ``supervisor``.
        receive_roles: Which roles, in the receiving unit, may accept or refuse a
            transfer; by default any.
        personal_roles: Who may read the ``personal`` fields through `Engine.read`;
            others see them masked. Empty means anyone may.
        log_personal_reads: Whether `Engine.read` records in the trail who read which
            personal fields, and when.

    Raises:
        WorkflowError: listing every problem found in the definition.
    """

    name: str
    version: int
    initial: str
    states: tuple[State, ...] = field(converter=_states)
    transitions: tuple[Transition, ...] = field(converter=_transitions)
    locales: tuple[str, ...] = field(converter=_tuple, default=("en", "id"))
    personal: frozenset[str] = field(converter=_roles, factory=frozenset)
    roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    description: str = ""
    record_roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    assign_roles: frozenset[str] = field(
        converter=_roles, factory=lambda: frozenset({"supervisor"})
    )
    transfer_roles: frozenset[str] = field(
        converter=_roles, factory=lambda: frozenset({"supervisor"})
    )
    receive_roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    personal_roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    log_personal_reads: bool = False
    _by_id: dict[str, State] = field(init=False, eq=False, repr=False)
    _candidates: dict[tuple[str, str], tuple[Transition, ...]] = field(
        init=False, eq=False, repr=False
    )
    _events: tuple[str, ...] = field(init=False, eq=False, repr=False)
    _event_set: frozenset[str] = field(init=False, eq=False, repr=False)
    _timed: bool = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems, by_id = _check_states(self)
        problems += _check_transitions(self, by_id)
        problems += _check_timing(self, by_id)
        if problems:
            raise WorkflowError(self.name if isinstance(self.name, str) else None, problems)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_candidates", _order(self.transitions))
        events = tuple(dict.fromkeys(t.event for t in self.transitions))
        object.__setattr__(self, "_events", events)
        object.__setattr__(self, "_event_set", frozenset(events))
        timed = any(s.deadline is not None or s.timers for s in self.states)
        object.__setattr__(self, "_timed", timed)

    @property
    def key(self) -> tuple[str, int]:
        """The (name, version) pair that identifies this definition."""
        return (self.name, self.version)

    @property
    def events(self) -> tuple[str, ...]:
        """Every event name, in the order first declared."""
        return self._events

    @property
    def timed(self) -> bool:
        """Whether any state has a deadline or a timer."""
        return self._timed

    def has_event(self, event: str) -> bool:
        """Whether any transition is on this event."""
        return event in self._event_set

    def state(self, state_id: str) -> State:
        """Return the state with this id.

        Raises:
            KeyError: if there is none.
        """
        return self._by_id[state_id]

    def has_state(self, state_id: str) -> bool:
        """Whether a state with this id exists."""
        return state_id in self._by_id

    def candidates(self, state: str, event: str) -> tuple[Transition, ...]:
        """Return the transitions ``event`` may take from ``state``, in evaluation order."""
        return self._candidates.get((state, event), ())

    def __repr__(self) -> str:
        return f"<Workflow {self.name} v{self.version} states={len(self.states)}>"


def _check_deadline(at: str, state: State, by_id: dict[str, State]) -> list[Problem]:
    d = state.deadline
    if d is None:
        return []
    if not isinstance(d, Deadline):
        return [Problem(f"must be a Deadline, got {d!r}", f"{at}.deadline")]
    problems = []
    if not isinstance(d.within, timedelta) or d.within <= timedelta(0):
        problems.append(
            Problem(f"{state.id}: the deadline must be a positive time", f"{at}.deadline")
        )
    for other in sorted(d.pause_in):
        if other == state.id:
            why = "a deadline cannot pause in its own state"
        elif other not in by_id:
            why = f"the deadline pauses in unknown state {other!r}{_near(other, by_id)}"
        else:
            continue
        problems.append(Problem(f"{state.id}: {why}", f"{at}.deadline.pause_in"))
    return problems


def _check_timers(at: str, state: State, events: set[str]) -> list[Problem]:
    problems = []
    names = set()
    for j, timer in enumerate(state.timers):
        where = f"{at}.timers[{j}]"
        if not isinstance(timer, Timer):
            problems.append(Problem(f"must be a Timer, got {timer!r}", where))
            continue
        if not isinstance(timer.after, timedelta) or timer.after <= timedelta(0):
            problems.append(
                Problem(f"{state.id}: timer {timer.name}: 'after' must be a positive time", where)
            )
        if timer.event not in events:
            problems.append(
                Problem(
                    f"{state.id}: timer {timer.name} fires unknown event {timer.event!r}"
                    f"{_near(timer.event, events)}",
                    f"{where}.event",
                )
            )
        if timer.name in names:
            problems.append(
                Problem(f"{state.id}: two timers are named {timer.name!r}", f"{where}.name")
            )
        names.add(timer.name)
    return problems


def _check_timing(wf: Workflow, by_id: dict[str, State]) -> list[Problem]:
    problems = []
    events = {t.event for t in wf.transitions if isinstance(t, Transition)}
    for i, state in enumerate(wf.states):
        if isinstance(state, State):
            problems += _check_deadline(f"states[{i}]", state, by_id)
            problems += _check_timers(f"states[{i}]", state, events)
    return problems


def _check_states(wf: Workflow) -> tuple[list[Problem], dict[str, State]]:
    problems = _check_identity(wf)
    by_id: dict[str, State] = {}
    for i, state in enumerate(wf.states):
        at = f"states[{i}]"
        if not isinstance(state, State):
            problems.append(Problem(f"is {type(state).__name__}, not a State", at))
        elif not isinstance(state.id, str) or not _NAME.match(state.id):
            problems.append(
                Problem(
                    f"id {state.id!r} must start with a letter and use only letters,"
                    " digits and '_'",
                    f"{at}.id",
                )
            )
        elif state.id in by_id:
            problems.append(Problem(f"state {state.id!r} is defined twice", f"{at}.id"))
        else:
            by_id[state.id] = state
    if not wf.states:
        problems.append(Problem("it has no states", "states"))
    if not wf.initial:
        problems.append(Problem("no initial state is set", "initial"))
    elif wf.initial not in by_id:
        problems.append(
            Problem(
                f"initial state {wf.initial!r} is not one of its states{_near(wf.initial, by_id)}",
                "initial",
            )
        )
    elif by_id[wf.initial].terminal:
        problems.append(
            Problem(f"initial state {wf.initial!r} is terminal, so no case could move", "initial")
        )
    return problems, by_id


def _check_identity(wf: Workflow) -> list[Problem]:
    problems = []
    if not isinstance(wf.name, str) or not _WORKFLOW_NAME.match(wf.name):
        problems.append(
            Problem(
                f"name {wf.name!r} must start with a letter and use letters, digits, '_', '-', '.'",
                "name",
            )
        )
    if not isinstance(wf.version, int) or isinstance(wf.version, bool) or wf.version < 1:
        problems.append(Problem(f"version {wf.version!r} must be a positive integer", "version"))
    return problems


def _near(name: object, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_transitions(wf: Workflow, by_id: dict[str, State]) -> list[Problem]:
    problems: list[Problem] = []
    groups: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(wf.transitions):
        if not isinstance(t, Transition):
            problems.append(
                Problem(f"is {type(t).__name__}, not a Transition", f"transitions[{i}]")
            )
            continue
        problems += _check_transition(f"transitions[{i}]", t, by_id)
        problems += _check_references(f"transitions[{i}]", t, wf)
        for src in t.source:
            groups.setdefault((src, t.event), []).append(i)
    for (src, event), members in groups.items():
        priorities = [wf.transitions[i].priority for i in members]
        if len(members) > 1 and (None in priorities or len(set(priorities)) != len(members)):
            indexes = ", ".join(f"transitions[{i}]" for i in members)
            problems.append(
                Problem(
                    f"event {event!r} leads {len(members)} ways from state {src!r} ({indexes})"
                    " with no order between them: give each a distinct priority",
                    f"transitions[{members[1]}].priority",
                )
            )
    return problems


def _check_references(at: str, t: Transition, wf: Workflow) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(t.guard, Guard):
        events = {x.event for x in wf.transitions if isinstance(x, Transition)}
        problems.extend(
            Problem(
                f"{t.event}: the guard reads event {event!r}, which no transition has"
                f"{_near(event, events)}",
                f"{at}.guard",
            )
            for event in sorted(referenced_events(t.guard) - events)
        )
    if wf.roles:
        named = [("roles", t.roles)]
        if isinstance(t.approval, Approval):
            named.append(("approval", t.approval.roles))
        if isinstance(t.override, ConsentOverride):
            named.append(("override", t.override.roles))
        problems.extend(
            Problem(
                f"{t.event}: role {role!r} is not one of the workflow's roles"
                f"{_near(role, wf.roles)}",
                f"{at}.{where}",
            )
            for where, roles in named
            for role in sorted(roles - wf.roles)
        )
    return problems


def _check_operations(at: str, t: Transition, by_id: dict[str, State]) -> list[Problem]:
    problems = []
    if t.approval is not None and (not isinstance(t.approval, Approval) or not t.approval.roles):
        problems.append(
            Problem(f"{t.event}: an approval must name the approving roles", f"{at}.approval")
        )
    if t.override is not None:
        if not isinstance(t.override, ConsentOverride) or not t.override.roles:
            problems.append(
                Problem(f"{t.event}: an override must name the senior roles", f"{at}.override")
            )
        elif not t.override.reason_codes:
            problems.append(
                Problem(f"{t.event}: an override needs a list of reason codes", f"{at}.override")
            )
        if not any(isinstance(c, Consent) for c in t.conjuncts):
            problems.append(
                Problem(
                    f"{t.event}: an override is declared but the guard asks for no consent",
                    f"{at}.override",
                )
            )
    if t.reopens:
        if not t.roles or not t.reason_required:
            problems.append(
                Problem(f"{t.event}: a reopening must name roles and require a reason", at)
            )
        open_sources = [s for s in t.source if s in by_id and not by_id[s].terminal]
        if open_sources:
            problems.append(
                Problem(
                    f"{t.event} reopens from {', '.join(open_sources)}, which are not terminal",
                    f"{at}.source",
                )
            )
    return problems


def _check_transition(at: str, t: Transition, by_id: dict[str, State]) -> list[Problem]:
    problems = _check_operations(at, t, by_id)
    if not isinstance(t.event, str) or not _NAME.match(t.event):
        problems.append(Problem(f"event name {t.event!r} must be an identifier", f"{at}.event"))
    if not isinstance(t.guard, Guard):
        problems.append(
            Problem(f"{t.event}: must be a Guard, got {type(t.guard).__name__}", f"{at}.guard")
        )
    if not t.source:
        problems.append(Problem(f"{t.event}: no source state", f"{at}.source"))
    for src in t.source:
        if src not in by_id:
            problems.append(
                Problem(
                    f"{t.event}: unknown source state {src!r}{_near(src, by_id)}", f"{at}.source"
                )
            )
        elif by_id[src].terminal and not t.reopens:
            problems.append(
                Problem(
                    f"{t.event} leaves terminal state {src!r}; terminal states have no way out",
                    f"{at}.source",
                )
            )
    if t.dest is not None and t.dest not in by_id:
        problems.append(
            Problem(
                f"{t.event}: unknown destination state {t.dest!r}{_near(t.dest, by_id)}",
                f"{at}.dest",
            )
        )
    if not all(isinstance(c, str) and c for c in t.reason_codes):
        problems.append(
            Problem(f"{t.event}: reason codes must be non-empty strings", f"{at}.reason_codes")
        )
    if t.priority is not None and (not isinstance(t.priority, int) or isinstance(t.priority, bool)):
        problems.append(Problem(f"{t.event}: priority must be an integer", f"{at}.priority"))
    return problems


def _order(transitions: tuple[Transition, ...]) -> dict[tuple[str, str], tuple[Transition, ...]]:
    groups: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        for src in t.source:
            groups.setdefault((src, t.event), []).append(t)
    return {key: tuple(sorted(ts, key=lambda t: t.priority or 0)) for key, ts in groups.items()}
