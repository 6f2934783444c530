"""Exhaustive bounded exploration: every reachable situation up to N steps, rules checked.

A *situation* is what the guards and the rules can tell apart: the state, the data
fields they read (with the values around their thresholds), the documents on file, how
often each counted event happened (up to one past the largest threshold), who did the
events a separation-of-duties guard asks about, which side of every time threshold the
case's clocks are on, and which events the rules ask about have happened. From each
situation the explorer tries every event with candidates in its state, by every kind of
actor, after every wait that crosses a threshold, with every combination of the data
values, documents and reason codes that event's transitions read. Steps go through the
same pure core as `Engine.fire`, so a counterexample is a real trail; breadth-first
order makes it a shortest one.

What the abstraction cannot see: host functions (`check` guards and `holds` rules) and
data values other than those the guards compare with.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final

import attrs
from attrs import field, frozen

from .._audit import AuditEntry, EntryKind
from .._case import Actor, Case
from .._catalog import Catalog
from .._commands import Answer, Approve, Command, Fire, Send
from .._decide import StepResult, decide
from .._definition import Workflow
from .._engine import Engine
from .._evolve import fold
from .._frozen import FrozenMap
from .._guards import CONSENT_PREFIX, Consent, Evidence, Guard, walk
from .._handover import HandoverKind
from .._history import History
from .._shell import SYSTEM_ACTOR
from .._snapshot import Snapshot
from .._table import format_trail
from ..exceptions import InvalidInput
from ._kit import _active
from ._monitors import monitored
from ._plan import _ASSIGNEE, _Plan, _plan, _Variant
from ._reduction import Reduction
from ._rules import START, Inconclusive, Rule, RuleViolated
from ._temporal import Property, Standing, State

__all__ = ["Exploration", "explore"]

_APPROVER: Final = "approver-1"
_REASON: Final = "as recorded"


@frozen
class Exploration:
    """What `explore` found.

    Attributes:
        workflow: The workflow's name and version (``name@1``).
        depth: The bound: the longest step sequence tried.
        visited: How many distinct situations were reached.
        steps: How many steps were committed in memory (edges walked).
        reached: The workflow states reached within the bound.
        violation: The first broken rule, with a shortest trail; None if none broke.
        shortest: For each state reached, a shortest trail that gets a case there.
        trails: One trail for every situation visited, shortest first.
        inconclusive: Each rule over time the bound could not settle (a response or an
            existence still owed where the walk stopped), with a shortest trail that
            leaves it owed. Such a rule is not passed: `ok` is False.
    """

    workflow: str
    depth: int
    visited: int
    steps: int
    reached: frozenset[str]
    violation: RuleViolated | None = field(eq=False)
    shortest: FrozenMap[tuple[AuditEntry, ...]] = field(eq=False, repr=False)
    trails: tuple[tuple[AuditEntry, ...], ...] = field(eq=False, repr=False)
    inconclusive: tuple[Inconclusive, ...] = field(eq=False, repr=False, default=())

    @property
    def ok(self) -> bool:
        """True when no rule broke within the bound and every rule over time was settled."""
        return self.violation is None and not self.inconclusive

    def raise_for_violation(self) -> None:
        """Raise the counterexample as `RuleViolated`; or `Inconclusive` if one is unsettled."""
        if self.violation is not None:
            raise self.violation
        if self.inconclusive:
            raise self.inconclusive[0]

    def __str__(self) -> str:
        counts = (
            f"{self.visited:,} situations visited, {self.steps:,} steps taken,"
            f" {len(self.reached)} states reached"
        )
        if self.violation is None and self.inconclusive:
            rules = "; ".join(i.rule for i in self.inconclusive)
            return f"{self.workflow}: not settled within {self.depth} steps: {rules} ({counts})"
        if self.violation is None:
            return f"{self.workflow}: no rule broken within {self.depth} steps ({counts})"
        return f"{self.workflow}: {self.violation} \n({counts})"


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
        send = Send(HandoverKind(kind), sender, _REASON, "unit-b")
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
            "receiver-1", rule.answer or rule.on_behalf or {"worker"}, units={"unit-b"}
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


def _opened(workflow: Workflow) -> tuple[Case, tuple[AuditEntry, ...]]:
    engine = Engine([workflow], clock=lambda: START)
    case = engine.open(
        workflow.name, "CASE-1", actor=Actor("intake", {"intake"}), assignee=_ASSIGNEE
    )
    return case, tuple(engine.trail("CASE-1"))


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
        reason=_REASON, reason_code=v.code,
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


class _Search:
    """The breadth-first walk: what was seen, the shortest trails, the steps taken."""

    def __init__(self, workflow: Workflow, rules: Sequence[Rule], *, reduce: bool) -> None:
        self.workflow = workflow
        self.rules = rules
        self.catalog = Catalog([workflow])
        self.plan = _plan(workflow, rules)
        self.reduction = Reduction(workflow, rules) if reduce and workflow.staged else None
        case, trail = _opened(workflow)
        self.seen = {self.plan.key(case, trail)}
        self.shortest: dict[str, tuple[AuditEntry, ...]] = {}
        self._reach(trail, 0)
        self.frontier: list[tuple[Case, tuple[AuditEntry, ...], Script]] = [(case, trail, ())]
        self.trails = [trail]
        self.scripts: list[Script] = [()]
        self.taken = 0
        self.violation: RuleViolated | None = None
        self.broken: Script | None = None
        self.unsettled: dict[str, tuple[AuditEntry, ...]] = {}

    def _reach(self, path: tuple[AuditEntry, ...], start: int) -> None:
        """Note the states each entry of ``path`` from ``start`` on left the case in."""
        for i in range(start, len(path)):
            for state in _active(path[i]):
                self.shortest.setdefault(state, path[: i + 1])

    def layer(self, limit: int | None = None) -> bool:
        """Walk one step further from every situation of the frontier (False: done).

        With a ``limit``, the walk stops once that many situations have been seen.
        """
        following: list[tuple[Case, tuple[AuditEntry, ...], Script]] = []
        for at, (case, trail, script) in enumerate(self.frontier):
            fresh = 0
            for move, key in self._expand(case, trail):
                self.taken += 1
                path = (*trail, *move.entries)
                for end in range(len(trail) + 1, len(path) + 1):
                    self.violation = _broken(self.workflow, self.rules, path[:end])
                    if self.violation is not None:
                        break
                if self.violation is None:
                    self.violation = self._ended(move.after, path)
                if self.violation is not None:
                    self.broken = (*script, *move.script)
                    return False
                self._reach(path, len(trail))
                if key not in self.seen:
                    fresh += 1
                    self.seen.add(key)
                    following.append((move.after, path, (*script, *move.script)))
                    self.trails.append(path)
                    self.scripts.append(following[-1][2])
                    if limit is not None and len(self.seen) >= limit:
                        self.frontier = [*following, *self.frontier[at:]]
                        return False
            if not fresh:
                self.unsettle(case, trail)
        self.frontier = following
        return bool(following)

    def _ended(self, case: Case, path: tuple[AuditEntry, ...]) -> RuleViolated | None:
        """A rule over time the case breaks by ending here, or by waiting here too long.

        A finished case (terminal) owes nothing more; a response due by a deadline
        that no timer of the case's state forces in time breaks as soon as the case
        can sit still past that deadline.
        """
        finished = self.workflow.state(case.state).terminal
        for prop in self.plan.properties:
            if not prop.applies(path):
                continue
            state = monitored(prop, self.workflow, path)
            verdict, why = prop.verdict(self.workflow, state, finished=finished)
            if verdict is Standing.BROKEN and why is not None:
                return RuleViolated(prop.text, f"the case ends here: {why}", path,
                                    format_trail(path, self.workflow))  # fmt: skip
            idle = _idle(prop, state, case)
            if idle is not None:
                return RuleViolated(prop.text, idle, path, format_trail(path, self.workflow))
        return None

    def unsettle(self, case: Case, trail: tuple[AuditEntry, ...]) -> None:
        """Note the rules over time still owed where the walk goes no further."""
        finished = self.workflow.state(case.state).terminal
        for prop in self.plan.properties:
            if prop.text in self.unsettled or not prop.applies(trail):
                continue
            state = monitored(prop, self.workflow, trail)
            if prop.verdict(self.workflow, state, finished=finished)[0] is Standing.PENDING:
                self.unsettled[prop.text] = trail

    def _moves(
        self, case: Case, trail: tuple[AuditEntry, ...], events: Sequence[str]
    ) -> list[tuple[Move, tuple[object, ...]]]:
        moves = _moves(self.catalog, self.plan, case, trail, events)
        return [(m, self.plan.key(m.after, (*trail, *m.entries))) for m in moves]

    def _expand(
        self, case: Case, trail: tuple[AuditEntry, ...]
    ) -> list[tuple[Move, tuple[object, ...]]]:
        """The steps to take from ``case``: its due timer, and all the others or an ample set."""
        timed = _timer_move(self.catalog, case, trail)
        found = (
            [] if timed is None else [(timed, self.plan.key(timed.after, (*trail, *timed.entries)))]
        )
        wf = self.workflow
        events = [e for e in wf.events if wf.candidates_in(case.configuration, e)]
        if self.reduction is None:
            return found + self._moves(case, trail, events)
        stage, always, tracks = self.reduction.groups(case.configuration, events)
        found += self._moves(case, trail, always)
        for i, own in enumerate(tracks):
            steps = self._moves(case, trail, own)
            if steps:
                found += steps
                if any(
                    k in self.seen and stage in wf.tree.active(m.after.configuration)
                    for m, k in found
                ):
                    for other in tracks[i + 1 :]:
                        found += self._moves(case, trail, other)
                break
        return found


def explore(workflow: Workflow, *rules: Rule, depth: int = 12, reduce: bool = True) -> Exploration:
    """Walk every reachable situation of ``workflow`` up to ``depth`` steps.

    Checks every rule after every step. The walk is breadth-first, so the first
    violation found has a shortest trail; the walk stops there.

    Args:
        workflow: The process to explore.
        rules: Rules to check (`never`, `always_before`, `only_roles`,
            `eventually_terminal`, `holds`).
        depth: The bound on the number of steps after opening.
        reduce: In a parallel stage whose tracks are independent of each other and of
            the rules, move one track at a time (a partial-order reduction that
            finds the same violations while visiting far fewer situations).

    Returns:
        An `Exploration`: the violation with its trail, or the statement that none
        exists within the bound, with how many situations were visited.
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise InvalidInput("depth", f"must be a non-negative integer, got {depth!r}")
    search = _Search(workflow, rules, reduce=reduce)
    for _ in range(depth):
        if not search.layer():
            break
    if search.violation is None:
        for case, trail, _ in search.frontier:
            search.unsettle(case, trail)
    return Exploration(
        workflow=f"{workflow.name}@{workflow.version}",
        depth=depth,
        visited=len(search.seen),
        steps=search.taken,
        reached=frozenset(search.shortest),
        violation=search.violation,
        shortest=FrozenMap(search.shortest),
        trails=tuple(search.trails),
        inconclusive=tuple(
            Inconclusive(rule, depth, trail, format_trail(trail, workflow))
            for rule, trail in ({} if search.violation else search.unsettled).items()
        ),
    )


def _idle(prop: Property, state: State, case: Case) -> str | None:
    """Why the case can wait past a response's deadline with nothing due to answer it."""
    if prop.pattern.kind != "response" or state.pending is None or state.broken is not None:
        return None
    due = prop.due(state.pending[1])
    if due is None or prop.scope.kind == "between":
        return None
    if case.timer_at is not None and case.timer_at <= due:
        return None
    return (
        f"the {prop.pattern.p.text} of entry {state.pending[0]} can go unanswered past"
        f" {due.isoformat()}: no timer of {case.state} falls due by then"
    )


def _broken(
    workflow: Workflow, rules: Sequence[Rule], trail: Sequence[AuditEntry]
) -> RuleViolated | None:
    for rule in rules:
        why = rule.violation(workflow, trail)
        if why is not None:
            return RuleViolated(rule.text, why, trail, format_trail(trail, workflow))
    return None
