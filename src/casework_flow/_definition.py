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

from collections.abc import Iterable, Mapping
from enum import StrEnum

from attrs import field, frozen

from ._case import _roles
from ._definition_checks import (
    check_handovers,
    check_links,
    check_states,
    check_timing,
    check_transitions,
)
from ._frozen import FrozenMap
from ._links import LinkRule
from ._parts import (
    DEFAULT_HANDOVERS,
    Approval,
    ConsentOverride,
    HandoverRule,
    State,
    Transition,
    _tuple,
)
from ._property_specs import PropertySpec, check_properties
from ._requirements import Requirement, check_requirements, requirement_map
from ._stage_checks import check_stages
from ._timing import Retention, Timer
from ._tree import StateTree
from .exceptions import WorkflowError

__all__ = [
    "DEFAULT_HANDOVERS",
    "Approval",
    "AssignScope",
    "ConsentOverride",
    "HandoverRule",
    "State",
    "Transition",
    "Workflow",
]


class AssignScope(StrEnum):
    """Whom a case may be assigned to, checked through the worker directory."""

    UNIT = "unit"
    """A worker of the case's unit (any worker when the case has no unit)."""
    GROUP = "group"
    """A worker sharing a group with the one who assigns."""
    ANY = "any"
    """Any active worker."""


def _rules(
    value: Mapping[str, HandoverRule] | Iterable[HandoverRule],
) -> FrozenMap[HandoverRule]:
    if isinstance(value, FrozenMap):
        return value
    if isinstance(value, Mapping):
        return FrozenMap(value)
    return FrozenMap({str(getattr(r, "kind", i)): r for i, r in enumerate(value)})


def _link_rules(value: Mapping[str, LinkRule] | Iterable[LinkRule]) -> FrozenMap[LinkRule]:
    if isinstance(value, FrozenMap):
        return value
    if isinstance(value, Mapping):
        return FrozenMap(value)
    return FrozenMap({str(getattr(r, "kind", i)): r for i, r in enumerate(value)})


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
        initial: The state every new case starts in (a stage: its initial states).
        states: The top-level states; a stage holds its own (`all_states` lists all).
        transitions: All transitions (see the module docs for evaluation order).
        locales: The locales labels are declared for.
        personal: Data fields holding personal data, masked in exports.
        roles: The roles the process knows; when given, transitions may name no other.
        description: What this process is for.
        record_roles: Who may record data or documents without a change of state
            (`Engine.record`); by default anyone holding a role some transition names.
        assign_roles: Who may assign and reassign cases (`Engine.assign`,
            `Engine.reassign`); by default ``supervisor``.
        handovers: What each kind of handover (``referral``, ``transfer``,
            ``transfer_request``) allows, as a `HandoverRule` per kind; a kind not
            declared cannot be sent. By default only transfers, sent by a supervisor.
        assign_scope: Whom a case may be assigned to, when the engine has a worker
            directory: ``unit`` (a worker of the case's unit), ``group`` (a worker
            sharing a group with the one assigning) or ``any`` active worker.
        unit_follows_assignee: Whether the case's unit becomes the new assignee's
            unit when it is assigned (the assignee must then work in one unit).
        personal_roles: Who may read the ``personal`` fields through `Engine.read`;
            others see them masked. Empty means anyone may.
        log_personal_reads: Whether `Engine.read` records in the trail who read which
            personal fields, and when.
        cross_unit_roles: Roles not bound to a unit (an auditor, the system actor): an
            actor holding one acts on a case of any unit, as if it named no units.
        erase_roles: Who may erase a case's personal values (`Engine.erase`), two of
            them together; by default ``supervisor``.
        retention: How long personal data is kept after a case closes (`Retention`),
            and whether it is then erased on its own; None: kept until erased.
        links: The kinds of link a case of this workflow may be given (`LinkRule` by
            kind): a re-entry of the same client, membership of a family's case, the
            case a referral's receiving unit opened.
        requirements: The rules of the policy the process follows (`Requirement` by
            id: title and source), declared once; states and transitions name the ids
            they enforce.
        properties: Rules over time the process keeps (`PropertySpec`: a pattern
            over propositions, with a scope), which the testing kit builds and every
            kit tool checks (`casework_flow.testing.declared_properties`).

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
    handovers: FrozenMap[HandoverRule] = field(converter=_rules, factory=lambda: DEFAULT_HANDOVERS)
    assign_scope: AssignScope = field(converter=AssignScope, default=AssignScope.UNIT)
    unit_follows_assignee: bool = False
    personal_roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    log_personal_reads: bool = False
    cross_unit_roles: frozenset[str] = field(converter=_roles, factory=frozenset)
    erase_roles: frozenset[str] = field(converter=_roles, factory=lambda: frozenset({"supervisor"}))
    retention: Retention | None = None
    links: FrozenMap[LinkRule] = field(converter=_link_rules, factory=FrozenMap)
    requirements: FrozenMap[Requirement] = field(converter=requirement_map, factory=FrozenMap)
    properties: tuple[PropertySpec, ...] = field(converter=tuple, default=())
    _by_id: dict[str, State] = field(init=False, eq=False, repr=False)
    _tree: StateTree = field(init=False, eq=False, repr=False)
    _candidates: dict[tuple[str, str], tuple[Transition, ...]] = field(
        init=False, eq=False, repr=False
    )
    _events: tuple[str, ...] = field(init=False, eq=False, repr=False)
    _event_set: frozenset[str] = field(init=False, eq=False, repr=False)
    _timed: bool = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems, tree = check_states(self)
        by_id = {s.id: s for s in tree.states()}
        problems += check_transitions(self, by_id)
        problems += check_timing(self, tree)
        problems += check_handovers(self)
        problems += check_links(self)
        problems += check_requirements(self)
        problems += check_properties(self, tree)
        if not problems:
            problems += check_stages(self, tree)
        if problems:
            raise WorkflowError(self.name if isinstance(self.name, str) else None, problems)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_candidates", _order(self.transitions, tree))
        events = tuple(dict.fromkeys(t.event for t in self.transitions))
        object.__setattr__(self, "_events", events)
        object.__setattr__(self, "_event_set", frozenset(events))
        timed = any(s.deadline is not None or s.timers for s in by_id.values())
        object.__setattr__(self, "_timed", timed)

    @property
    def key(self) -> tuple[str, int]:
        """The (name, version) pair that identifies this definition."""
        return (self.name, self.version)

    @property
    def all_states(self) -> tuple[State, ...]:
        """Every state, stages and what they hold, in document order."""
        return tuple(self._by_id.values())

    @property
    def tree(self) -> StateTree:
        """The states' tree: stages, tracks, and where a step leaves a case."""
        return self._tree

    @property
    def staged(self) -> bool:
        """Whether some state holds states (stages or tracks)."""
        return self._tree.staged

    @property
    def initial_configuration(self) -> tuple[str, ...]:
        """The states a new case starts in: ``initial``, or its initial states."""
        return self._tree.default_entry(self.initial, {})

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

    def timer(self, configuration: tuple[str, ...], name: str) -> Timer:
        """The timer called ``name`` of a state active in ``configuration``.

        Raises:
            KeyError: if none of them has one.
        """
        for state_id in self._tree.ordered(self._tree.active(configuration)):
            for t in self._by_id[state_id].timers:
                if t.name == name:
                    return t
        raise KeyError(name)

    def has_state(self, state_id: str) -> bool:
        """Whether a state with this id exists."""
        return state_id in self._by_id

    def candidates(self, state: str, event: str) -> tuple[Transition, ...]:
        """Return the transitions ``event`` may take from ``state``, in evaluation order.

        Those of the state itself come first, then those of each stage around it,
        innermost first (SCXML: a transition of an inner state preempts its stage's).
        """
        return self._candidates.get((state, event), ())

    def completes(self, t: Transition) -> str | None:
        """The stage whose ``on_done`` event ``t`` takes from it, if any.

        Such a transition happens only once that stage is done.
        """
        for src in t.source:
            state = self._by_id.get(src)
            if state is not None and state.on_done is not None and state.on_done == t.event:
                return src
        return None

    def handler(self, configuration: tuple[str, ...], event: str) -> str:
        """The state of ``configuration`` whose `candidates` for ``event`` are the case's.

        That is its one leaf, or the leaf of the track that handles the event.
        """
        if len(configuration) == 1:
            return configuration[0]
        best = configuration[0]
        for leaf in configuration[1:]:
            if len(self.candidates(leaf, event)) > len(self.candidates(best, event)):
                best = leaf
        return best

    def candidates_in(self, configuration: tuple[str, ...], event: str) -> tuple[Transition, ...]:
        """The transitions ``event`` may take from a case in ``configuration``, in order."""
        return self.candidates(self.handler(configuration, event), event)

    def __repr__(self) -> str:
        return f"<Workflow {self.name} v{self.version} states={len(self._by_id)}>"


def _order(
    transitions: tuple[Transition, ...], tree: StateTree
) -> dict[tuple[str, str], tuple[Transition, ...]]:
    groups: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        for src in t.source:
            groups.setdefault((src, t.event), []).append(t)
    own = {key: sorted(ts, key=lambda t: t.priority or 0) for key, ts in groups.items()}
    if not tree.staged:
        return {key: tuple(ts) for key, ts in own.items()}
    events = {t.event for t in transitions}
    out: dict[tuple[str, str], tuple[Transition, ...]] = {}
    for state in tree.states():
        for event in events:
            line = (state.id, *tree.ancestors(state.id))
            chain = [t for s in line for t in own.get((s, event), ())]
            if chain:
                out[state.id, event] = tuple(chain)
    return out
