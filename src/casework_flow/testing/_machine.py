"""A hypothesis state machine built from a workflow, for stateful tests of a process.

`workflow_machine` returns a `RuleBasedStateMachine` class whose rules open cases, fire
steps on them through an `Engine` (any store), transfer them and let days pass (the
timers fire when due),
and whose invariants check, after every step, that each case's trail verifies against
the store's head, that replaying it gives the stored case, that every process rule given
still holds, that every due timer fired and none fired twice in one stay. Subclass it to add
rules and invariants of your own; run it with ``TestX = Machine.TestCase``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from .._audit import AuditEntry, EntryKind, verify
from .._case import Actor
from .._catalog import Catalog
from .._clock import ManualClock
from .._definition import Workflow
from .._due import Outcome, RunReport
from .._engine import Engine
from .._evolve import fold
from ..exceptions import CaseworkError, ReplayError, TransitionRejected, UnknownEvent
from ..stores import InMemoryStore, Store
from ._coverage import _record
from ._declared import with_declared
from ._explore import _Search
from ._hunt import Chooser, _walk
from ._moves import Script, _transfer_move
from ._rules import START, Rule, _check
from ._strategies import Step, fitting_steps, steps

__all__ = ["workflow_machine"]


def _timers_ran(engine: Engine, opened: Sequence[str], report: RunReport) -> None:
    """Every timer due at the run fired (or was refused), and no case ran two at once."""
    ran = [r.case_id for r in report.runs if r.outcome is not Outcome.SKIPPED]
    if len(ran) != len(set(ran)):
        raise AssertionError(f"a case ran two timers in one run: {ran}")
    for case_id in opened:
        case = engine.get(case_id)
        if case.timer_at is not None and case.timer_at <= report.at:
            raise AssertionError(f"{case_id}: timer {case.timer} was due and did not fire")


def _once_per_stay(case_id: str, trail: Sequence[AuditEntry]) -> None:
    """No timer appears twice in the trail during one stay in a state."""
    seen: set[str] = set()
    for entry in trail:
        if entry.timer is not None:
            if entry.timer in seen:
                raise AssertionError(f"{case_id}: timer {entry.timer} fired twice in one stay")
            seen.add(entry.timer)
        if entry.kind is EntryKind.TRANSITION and entry.from_state != entry.to_state:
            seen = set()


def _next_due(engine: Engine, opened: Sequence[str], until: datetime) -> datetime | None:
    """The earliest timer due by ``until`` among the cases (None: none)."""
    due = [
        at for case_id in opened if (at := engine.get(case_id).timer_at) is not None and at <= until
    ]
    return min(due, default=None)


def _pass(
    engine: Engine,
    clock: ManualClock,
    opened: Sequence[str],
    until: datetime,
    *,
    run_due: bool = False,
) -> None:
    """Let time pass to ``until``, firing each of these cases' timers when it falls due.

    The clock stops at every due time on the way, so a timer fires on time, as
    `explore` fires it, and a rule with a deadline judges the process, not how
    seldom the host runs its scheduler. With ``run_due`` the timers fire through
    `Engine.run_due` (``opened`` must then be every case), checked to fire once each;
    otherwise through `Engine.run_timer`, case by case.
    """
    while (due := _next_due(engine, opened, until)) is not None:
        clock.set(max(due, clock()))
        if run_due:
            _timers_ran(engine, opened, engine.run_due())
            continue
        for case_id in opened:
            at = engine.get(case_id).timer_at
            if at is not None and at <= clock():
                engine.run_timer(case_id)
                if engine.get(case_id).timer_at == at:
                    raise AssertionError(f"{case_id}: timer due at {at} did not fire")
    clock.set(max(until, clock()))


def _take(
    engine: Engine, clock: ManualClock, opened: Sequence[str], case_id: str, step: Step
) -> bool:
    """Let the step's time pass (due timers fire on the way) and fire it.

    False when it was refused or unknown. A step that needs approval is approved at
    once by someone else with an approving role (if the approval is refused, the
    request stays pending and the step counts as refused).
    """
    _pass(engine, clock, opened, clock() + step.advance)
    try:
        case = engine.fire(
            case_id,
            step.event,
            actor=step.actor,
            data=step.data,
            evidence=step.evidence,
            reason=step.reason,
            reason_code=step.reason_code,
        )
        for kind, pending in case.approvals.items():
            if pending.event == step.event:
                engine.approve(case_id, actor=Actor("approver-1", pending.approvers), kind=kind)
    except (TransitionRejected, UnknownEvent):
        return False
    return True


def _drive(
    engine: Engine, clock: ManualClock, opened: Sequence[str], case_id: str, script: Script
) -> None:
    """Take the case through ``script``'s commands with the engine, each at its time.

    The commands were decided by the pure core on the same case (its own timers fire
    in the script); the other cases' timers fire on the way when due. The engine
    refusing a command is a disagreement between the two, reported as such.
    """
    others = [c for c in opened if c != case_id]
    for command, at in script:
        _pass(engine, clock, others, at)
        try:
            engine._run(case_id, command, now=at)  # noqa: SLF001 - the engine's own path
        except CaseworkError as err:
            raise AssertionError(
                f"{case_id}: the engine did not take a step the pure core took: {err}"
            ) from err


class _Prepared:
    """The walk a machine's steps are seeded from, made once, when first needed."""

    def __init__(self, workflow: Workflow, rules: Sequence[Rule], budget: int) -> None:
        self.workflow, self.rules, self.budget = workflow, rules, budget
        self._chooser: Chooser | None = None
        self._starts: list[Script] = []

    def _walk(self) -> Chooser:
        if self._chooser is None:
            search = _Search(self.workflow, self.rules, reduce=True)
            _walk(search, 40, self.budget)
            self._starts = [search.broken] if search.broken is not None else search.scripts
            self._chooser = Chooser(search)
        return self._chooser

    @property
    def chooser(self) -> Chooser:
        return self._walk()

    @property
    def starts(self) -> list[Script]:
        self._walk()
        return self._starts


def workflow_machine(  # noqa: C901 - the rules and invariants are closures over the workflow
    workflow: Workflow,
    *,
    rules: Sequence[Rule] = (),
    store: Callable[[], Store] = InMemoryStore,
    budget: int = 2_000,
) -> type[RuleBasedStateMachine]:
    """Build a state machine that plays ``workflow`` and checks its trails and rules.

    Each run starts with a case taken, step by step through the engine, to a situation
    `explore`'s walk reached (up to ``budget`` situations; a trail that breaks a rule
    first, when the walk found one); further cases are opened fresh or resumed the same
    way. Steps are chosen as the walk chooses them (and then must commit with the very
    entries the pure core predicted) or are anything at all, and days pass and timers
    run in between.

    Args:
        workflow: The process under test.
        rules: Process rules checked after every committed step.
        store: Makes a fresh store for each run (in-memory by default).
        budget: How many situations the seeding walk may visit.

    Returns:
        A `RuleBasedStateMachine` subclass; its ``TestCase`` runs under pytest.
    """
    rules = with_declared(workflow, rules)
    any_step = st.one_of(steps(workflow), fitting_steps(workflow))
    prepared = _Prepared(workflow, tuple(rules), budget)
    catalog = Catalog([workflow])
    starts = st.deferred(lambda: st.sampled_from(prepared.starts))

    class WorkflowMachine(RuleBasedStateMachine):
        """Cases of one workflow, stepped at random; trails and rules checked always."""

        cases = Bundle("cases")

        def __init__(self) -> None:
            super().__init__()
            self.clock = ManualClock(START)
            self.engine = Engine([workflow], store=store(), clock=self.clock)
            self.opened: list[str] = []
            self.touched: set[str] = set()
            self.engine.on_commit(lambda done: self.touched.add(done.after.id))
            self.engine.on_refusal(lambda refused: self.touched.add(refused.case.id))

        def _open(self) -> str:
            case_id = f"CASE-{len(self.opened) + 1}"
            self.engine.open(
                workflow.name, case_id, actor=Actor("intake", {"intake"}), assignee="worker-a"
            )
            self.opened.append(case_id)
            return case_id

        def _checked(self, case_id: str, since: int) -> None:
            """Check the rules after every entry from the ``since``-th on."""
            trail = self.engine.trail(case_id)
            for end in range(max(since, 1) + 1, len(trail) + 1):
                _check(workflow, rules, trail[:end])

        @rule(target=cases)
        def open_case(self) -> str:
            return self._open()

        @initialize(target=cases, script=starts)
        def resume_a_case(self, script: Script) -> str:
            return self._resume(script)

        def _resume(self, script: Script) -> str:
            """Take a new case to a situation the walk reached, through the engine."""
            case_id = self._open()
            opened = self.engine.trail(case_id)[0].at
            offset = opened - START
            moved = tuple((c, at + offset) for c, at in script)
            _drive(self.engine, self.clock, self.opened, case_id, moved)
            self._checked(case_id, 1)
            return case_id

        @rule(target=cases, script=starts)
        def resume_another_case(self, script: Script) -> str:
            return self._resume(script)

        @rule(case_id=cases, step=any_step)
        def take_step(self, case_id: str, step: Step) -> None:
            _take(self.engine, self.clock, self.opened, case_id, step)
            for opened in self.opened:
                _check(workflow, rules, self.engine.trail(opened))

        @rule(case_id=cases, data=st.data())
        def take_a_possible_step(self, case_id: str, data: st.DataObject) -> None:
            """A step chosen as the walk chooses; it commits what the pure core said."""
            chooser = prepared.chooser
            case = self.engine.get(case_id)
            trail = tuple(self.engine.trail(case_id))
            possible = chooser.possible(case)
            if not possible:
                return
            event = data.draw(st.sampled_from(possible), label="event")
            at: datetime = max(self.clock(), trail[-1].at)
            move = chooser.planned(data, case, trail, event, at)
            if move is None:
                return
            _drive(self.engine, self.clock, self.opened, case_id, move.script)
            made = self.engine.trail(case_id)[len(trail) :]
            if [e.hash for e in made] != [e.hash for e in move.entries]:
                raise AssertionError(
                    f"{case_id}: the engine committed other entries than the pure core"
                    f" decided for {event}"
                )
            self._checked(case_id, len(trail))

        @rule(case_id=cases)
        def transfer_a_case(self, case_id: str) -> None:
            """Transfer the case to another unit and accept it there, where allowed."""
            trail = tuple(self.engine.trail(case_id))
            move = _transfer_move(catalog, self.engine.get(case_id), trail)
            if move is None:
                return
            _drive(self.engine, self.clock, self.opened, case_id, move.script)
            self._checked(case_id, len(trail))

        @rule(days=st.integers(0, 20))
        def run_due_timers(self, days: int) -> None:
            """Let days pass, running each timer when it falls due; each fires once."""
            until = self.clock() + timedelta(days=days)
            _pass(self.engine, self.clock, self.opened, until, run_due=True)
            _timers_ran(self.engine, self.opened, self.engine.run_due())
            for case_id in self.opened:
                _check(workflow, rules, self.engine.trail(case_id))

        def teardown(self) -> None:
            """Hand the run's trails to the open coverage recordings."""
            _record(workflow, [self.engine.trail(c) for c in self.opened], rules)

        @invariant()
        def trails_verify_replay_and_fire_timers_once(self) -> None:
            """Each case a step touched verifies, replays as stored, ran no timer twice."""
            for case_id in sorted(self.touched):
                snap = self.engine.store.load(case_id)
                trail = self.engine.trail(case_id)
                _once_per_stay(case_id, trail)
                verify(trail, head=snap.head).raise_if_broken()
                if fold(None, trail, catalog=catalog) != snap.case:
                    raise ReplayError(
                        case_id, None, "replaying the trail differs from the stored case"
                    )
            self.touched.clear()

    WorkflowMachine.__name__ = f"WorkflowMachine_{workflow.name.replace('-', '_')}"
    return WorkflowMachine
