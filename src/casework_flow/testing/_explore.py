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

from collections.abc import Sequence

from attrs import field, frozen

from .._audit import AuditEntry
from .._case import Actor, Case
from .._catalog import Catalog
from .._definition import Workflow
from .._engine import Engine
from .._frozen import FrozenMap
from .._table import format_trail
from ..exceptions import InvalidInput
from ._coverage import _record, _recording
from ._declared import with_declared
from ._kit import _active
from ._monitors import monitored
from ._moves import Move, Script, _moves, _timer_move, _transfer_move
from ._plan import _ASSIGNEE, _plan
from ._reduction import Reduction
from ._rules import START, Inconclusive, Rule, RuleViolated
from ._temporal import Property, Standing, State

__all__ = ["Exploration", "explore"]


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


def _opened(workflow: Workflow) -> tuple[Case, tuple[AuditEntry, ...]]:
    engine = Engine([workflow], clock=lambda: START)
    case = engine.open(
        workflow.name, "CASE-1", actor=Actor("intake", {"intake"}), assignee=_ASSIGNEE
    )
    return case, tuple(engine.trail("CASE-1"))


class _Search:
    """The breadth-first walk: what was seen, the shortest trails, the steps taken."""

    def __init__(self, workflow: Workflow, rules: Sequence[Rule], *, reduce: bool) -> None:
        rules = with_declared(workflow, rules)
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
        self.unsettled: dict[str, tuple[tuple[AuditEntry, ...], str | None]] = {}
        self.recorded = _recording()
        self.again: list[tuple[AuditEntry, ...]] = []
        self.live = tuple(
            p for p in self.plan.properties
            if p.pattern.kind in ("existence", "response") and p.pattern.within is None
        )  # fmt: skip
        self.graph: dict[object, list[object]] = {}
        self.owed: dict[object, tuple[frozenset[str], tuple[AuditEntry, ...]]] = {}
        self._owe(self.plan.key(case, trail), case, trail)

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
            edges = self.graph.setdefault(self.plan.key(case, trail), []) if self.live else None
            for move, key in self._expand(case, trail):
                if edges is not None:
                    edges.append(key)
                self.taken += 1
                path = (*trail, *move.entries)
                self.violation = self.check(move.after, path, len(trail))
                if self.violation is not None:
                    self.broken = (*script, *move.script)
                    return False
                self._reach(path, len(trail))
                if key not in self.seen:
                    self.seen.add(key)
                    self._owe(key, move.after, path)
                    following.append((move.after, path, (*script, *move.script)))
                    self.trails.append(path)
                    self.scripts.append(following[-1][2])
                    if limit is not None and len(self.seen) >= limit:
                        self.frontier = [*following, *self.frontier[at:]]
                        return False
                elif self.recorded:
                    self.again.append(path)
        self.frontier = following
        return bool(following)

    def check(self, case: Case, path: tuple[AuditEntry, ...], start: int) -> RuleViolated | None:
        """The first rule broken by the entries of ``path`` from ``start`` on, or by ending."""
        for end in range(start + 1, len(path) + 1):
            broken = _broken(self.workflow, self.rules, path[:end])
            if broken is not None:
                return broken
        return self._ended(case, path)

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

    def record(self) -> None:
        """Hand every step the walk took to the open coverage recordings."""
        _record(self.workflow, [*self.trails, *self.again], self.rules)

    def _owe(self, key: object, case: Case, trail: tuple[AuditEntry, ...]) -> None:
        """Note which liveness rules the situation ``key`` still owes, with its trail.

        A response due within a time is a safety rule: a trail breaks it or it does
        not, and one that waits too long is caught by `_idle`; it is never owed here.
        """
        finished = self.workflow.state(case.state).terminal
        owed = frozenset(
            p.text for p in self.live
            if p.applies(trail) and p.verdict(
                self.workflow, monitored(p, self.workflow, trail), finished=finished
            )[0] is Standing.PENDING
        )  # fmt: skip
        if owed:
            self.owed[key] = (owed, trail)

    def unsettle(self, case: Case, trail: tuple[AuditEntry, ...]) -> None:
        """Note the liveness rules still owed where the walk stopped, at the bound."""
        owed = self.owed.get(self.plan.key(case, trail))
        for rule in owed[0] if owed else ():
            self.unsettled.setdefault(rule, (trail, None))

    def settle(self) -> None:
        """Note each liveness rule some run of the walked situations can owe forever.

        Among the situations that still owe a rule, a loop of steps (a lasso) or a
        situation with no step at all leaves it owed forever; the walk, having seen
        every step from each, knows. Otherwise every run that goes on settles it.
        """
        for prop in self.live:
            owing = {k for k, (rules, _) in self.owed.items() if prop.text in rules}
            stuck = _forever(owing, self.graph)
            if stuck is not None and prop.text not in self.unsettled:
                why = (
                    "no step can be taken here"
                    if not self.graph.get(stuck)
                    else "a loop of steps from here leaves it owed forever"
                )
                self.unsettled[prop.text] = (self.owed[stuck][1], why)

    def _moves(
        self, case: Case, trail: tuple[AuditEntry, ...], events: Sequence[str]
    ) -> list[tuple[Move, tuple[object, ...]]]:
        moves = _moves(self.catalog, self.plan, case, trail, events)
        return [(m, self.plan.key(m.after, (*trail, *m.entries))) for m in moves]

    def _expand(
        self, case: Case, trail: tuple[AuditEntry, ...]
    ) -> list[tuple[Move, tuple[object, ...]]]:
        """The steps to take from ``case``: its due timer, and all the others or an ample set."""
        special = [
            (m, self.plan.key(m.after, (*trail, *m.entries)))
            for m in (_timer_move(self.catalog, case, trail),
                      _transfer_move(self.catalog, case, trail))
            if m is not None
        ]  # fmt: skip
        wf = self.workflow
        events = [e for e in wf.events if wf.candidates_in(case.configuration, e)]
        if self.reduction is None:
            return special + self._moves(case, trail, events)
        stage, always, tracks = self.reduction.groups(case.configuration, events)
        found = self._moves(case, trail, always)
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
        return special + found


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
        search.settle()
    search.record()
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
            Inconclusive(rule, depth, trail, format_trail(trail, workflow), why)
            for rule, (trail, why) in ({} if search.violation else search.unsettled).items()
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


def _forever(owing: set[object], graph: dict[object, list[object]]) -> object | None:
    """A situation of ``owing`` with no step, or on a loop within ``owing`` (None: none).

    Only situations the walk expanded count (those past the bound are unsettled
    already); an iterative depth-first search colours each white, grey or black.
    """
    done: set[object] = set()
    for root in owing:
        if root in done or root not in graph:
            continue
        if not graph[root]:
            return root
        path, stack = {root}, [(root, iter(graph[root]))]
        while stack:
            node, rest = stack[-1]
            nxt = next((k for k in rest if k in owing and k not in done), None)
            if nxt is None:
                stack.pop()
                path.discard(node)
                done.add(node)
            elif nxt in path:
                return nxt
            elif nxt in graph:
                if not graph[nxt]:
                    return nxt
                path.add(nxt)
                stack.append((nxt, iter(graph[nxt])))
    return None


def _broken(
    workflow: Workflow, rules: Sequence[Rule], trail: Sequence[AuditEntry]
) -> RuleViolated | None:
    for rule in rules:
        why = rule.violation(workflow, trail)
        if why is not None:
            return RuleViolated(rule.text, why, trail, format_trail(trail, workflow))
    return None
