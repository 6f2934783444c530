"""Process rules as values, and a checker that hunts for the shortest way to break them.

A rule looks at a case's trail after every committed step and says what is wrong, if
anything. `check_rules` walks the workflow breadth-first, then plays random step
sequences; when a rule breaks, `RuleViolated` shows the shortest trail found that breaks
it, as the same table `format_trail` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import frozen

from .._audit import AuditEntry, EntryKind
from .._case import Actor, Case
from .._check import can_end
from .._configurations import ConfigurationGraph
from .._contracts import breaches, has_contracts
from .._definition import Workflow
from .._frozen import FrozenMap
from .._guards import Guard, GuardContext
from .._history import History
from .._table import format_trail
from ..exceptions import CaseworkError
from ._folds import _KEPT, _catalog, _folded
from ._propositions import Fires, Moment, Reach, fires, reach

__all__ = [
    "Contracts",
    "Inconclusive",
    "Rule",
    "RuleViolated",
    "always_before",
    "eventually_terminal",
    "fires",
    "holds",
    "never",
    "only_roles",
    "reach",
    "with_contracts",
]


class RuleViolated(CaseworkError, AssertionError):
    """A process rule broke; ``table`` is the shortest trail found that breaks it.

    Attributes:
        rule: The rule's description.
        why: What went wrong at the step that broke it.
        trail: The trail up to and including that step.
        table: The trail as a readable table.
    """

    def __init__(self, rule: str, why: str, trail: Sequence[AuditEntry], table: str) -> None:
        self.rule = rule
        self.why = why
        self.trail = tuple(trail)
        self.table = table
        super().__init__(f"rule broken: {rule}\n{why}\n\n{table}")


class Inconclusive(CaseworkError, AssertionError):
    """A rule over time the bound could not settle: what it asks is still owed.

    Attributes:
        rule: The rule's description.
        depth: The bound the walk stopped at.
        trail: A shortest trail that leaves it owed.
        table: The trail as a readable table.
        why: Why the walk cannot settle it there: None when the bound stopped the walk
            (explore deeper), or a sentence when some run from there owes it forever
            (a loop of steps, or no step at all), which no bound settles.
    """

    def __init__(
        self,
        rule: str,
        depth: int,
        trail: Sequence[AuditEntry],
        table: str,
        why: str | None = None,
    ) -> None:
        self.rule = rule
        self.depth = depth
        self.trail = tuple(trail)
        self.table = table
        self.why = why
        where = (
            "what it asks is still owed at the end of this trail (explore deeper)"
            if why is None
            else f"what it asks is owed at the end of this trail, and {why}"
        )
        super().__init__(f"not settled within {depth} steps: {rule}\n{where}:\n\n{table}")


class Rule:
    """Base of rules: `violation` returns a sentence when the trail breaks the rule."""

    text: str

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """Say how ``trail`` (ending with the newest step) breaks the rule, or None."""
        raise NotImplementedError


def _context(workflow: Workflow, trail: Sequence[AuditEntry]) -> GuardContext:
    """The situation of the newest step, as its guards saw it."""
    before = _folded(workflow, trail[:-1])
    step = trail[-1]
    payload = FrozenMap({c.field: c.after for c in step.changes})
    return GuardContext(
        case=before,
        actor=Actor(step.actor_id, step.actor_roles),
        event=step.event,
        payload=payload,
        evidence=step.evidence,
        now=step.at,
        reason_code=step.reason_code,
        history=History(trail[:-1]),
        active=workflow.tree.active(before.configuration) if workflow.staged else None,
    )


@frozen
class Never(Rule):
    """No case ever reaches a state (or commits an event) unless ``unless`` held then."""

    target: Reach | Fires
    unless: Guard | None = None

    @property
    def text(self) -> str:  # type: ignore[override]
        """The rule in words."""
        cond = f" unless {self.unless.text}" if self.unless is not None else ""
        if isinstance(self.target, Fires):
            return f"never {self.target.event}{cond}"
        return f"never reach {self.target.state}{cond}"

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """Check the newest step."""
        step = trail[-1]
        if not self._hit(workflow, trail):
            return None
        target = self.target
        what = f"did {step.event}" if isinstance(target, Fires) else f"reached {target.state}"
        if self.unless is None:
            return f"entry {step.seq}: the case {what}"
        ok, why = self.unless.test(_context(workflow, trail))
        return None if ok else f"entry {step.seq}: {what} although {why}"

    def _hit(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> bool:
        """Whether the newest step is what the rule is about."""
        return self.target.at(Moment(workflow, trail, len(trail) - 1))


def never(target: Reach | Fires, *, unless: Guard | None = None) -> Rule:
    """Rule: a case never enters a state (`reach`) or does an event (`fires`) unguarded.

    With ``unless``, the step is allowed when that guard held at it, evaluated as the
    step's own guards were: on the case before it, with the step's actor, data,
    documents and time, and the trail before it.
    """
    return Never(target, unless)


@frozen
class AlwaysBefore(Rule):
    """Every committed ``then`` comes after at least one committed ``first``."""

    first: str
    then: str

    @property
    def text(self) -> str:  # type: ignore[override]
        """The rule in words."""
        return f"{self.first} always before {self.then}"

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """Check the newest step."""
        del workflow
        step = trail[-1]
        if step.kind is not EntryKind.TRANSITION or step.event != self.then:
            return None
        if any(e.kind is EntryKind.TRANSITION and e.event == self.first for e in trail[:-1]):
            return None
        return f"entry {step.seq}: {self.then} happened with no {self.first} before it"


def always_before(first: str, then: str) -> Rule:
    """Rule: ``then`` is only ever committed after ``first`` was."""
    return AlwaysBefore(first, then)


@frozen
class OnlyRoles(Rule):
    """Only actors holding one of ``roles`` ever commit ``event``."""

    event: str
    roles: frozenset[str]

    @property
    def text(self) -> str:  # type: ignore[override]
        """The rule in words."""
        return f"only {' or '.join(sorted(self.roles))} may {self.event}"

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """Check the newest step."""
        del workflow
        step = trail[-1]
        if step.kind is not EntryKind.TRANSITION or step.event != self.event:
            return None
        if self.roles & set(step.actor_roles):
            return None
        held = ", ".join(step.actor_roles) or "no role"
        return f"entry {step.seq}: {step.actor_id} ({held}) did {self.event}"


def only_roles(event: str, roles: set[str] | frozenset[str]) -> Rule:
    """Rule: ``event`` is only ever committed by an actor with one of ``roles``."""
    return OnlyRoles(event, frozenset(roles))


@frozen
class EventuallyTerminal(Rule):
    """Wherever a case goes, a terminal state stays reachable from there."""

    @property
    def text(self) -> str:  # type: ignore[override]
        """The rule in words."""
        return "a terminal state is always still reachable"

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """Check the state the newest step left the case in."""
        step = trail[-1]
        if workflow.staged:
            paths = step.details.get("configuration")
            if paths is None or tuple(p.rpartition("/")[2] for p in paths.split()) in _ends(
                workflow
            ):
                return None
            return f"entry {step.seq}: from ({paths}) no terminal state can be reached"
        if step.to_state in _ends(workflow):
            return None
        return f"entry {step.seq}: from {step.to_state} no terminal state can be reached"


_ENDS: dict[int, tuple[Workflow, frozenset[Any]]] = {}


def _ends(workflow: Workflow) -> frozenset[Any]:
    """States (configurations, in a workflow with stages) from which a case can end."""
    known = _ENDS.get(id(workflow))
    if known is None or known[0] is not workflow:
        if len(_ENDS) > _KEPT:
            _ENDS.clear()
        ends: frozenset[Any] = (
            frozenset(c for c, _ in ConfigurationGraph(workflow).can_end(allowed_only=True))
            if workflow.staged
            else frozenset(can_end(workflow))
        )
        known = _ENDS[id(workflow)] = (workflow, ends)
    return known[1]


def eventually_terminal() -> Rule:
    """Rule: no step leaves a case where it can never end."""
    return EventuallyTerminal()


@frozen
class Holds(Rule):
    """Any predicate over the case and its trail."""

    name: str
    fn: Callable[[Case, Sequence[AuditEntry]], bool]

    @property
    def text(self) -> str:  # type: ignore[override]
        """The rule in words."""
        return self.name

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """Replay the case and ask the predicate."""
        if self.fn(_folded(workflow, trail), trail):
            return None
        return f"entry {trail[-1].seq}: {self.name} does not hold"


def holds(name: str, fn: Callable[[Case, Sequence[AuditEntry]], bool]) -> Rule:
    """Rule: ``fn(case, trail)`` is true after every step."""
    return Holds(name, fn)


START = datetime(2024, 1, 1, tzinfo=UTC)


@frozen
class Contracts(Rule):
    """The workflow's own contracts: state invariants, transition pre- and postconditions.

    Every kit tool adds it to the rules it checks when the workflow declares any.
    """

    text: str = "the workflow's contracts hold"

    def violation(self, workflow: Workflow, trail: Sequence[AuditEntry]) -> str | None:
        """What the newest entry breaks of the contracts, or None."""
        if not trail:
            return None
        before = _folded(workflow, trail[:-1]) if len(trail) > 1 else None
        found = breaches(_catalog(workflow), before, trail[-1:], trail[:-1])
        return f"entry {trail[-1].seq}: " + "; ".join(found) if found else None


def with_contracts(workflow: Workflow, rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """``rules``, and `Contracts` when the workflow declares contracts.

    The workflow's declared rules over time are added by `with_declared`.
    """
    if has_contracts(workflow) and not any(isinstance(r, Contracts) for r in rules):
        return (*rules, Contracts())
    return tuple(rules)


def _check(workflow: Workflow, rules: Sequence[Rule], trail: Sequence[AuditEntry]) -> None:
    for rule in rules:
        why = rule.violation(workflow, trail)
        if why is not None:
            raise RuleViolated(rule.text, why, trail, format_trail(trail, workflow))
