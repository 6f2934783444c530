"""A hypothesis state machine built from a workflow, for stateful tests of a process.

`workflow_machine` returns a `RuleBasedStateMachine` class whose rules open cases, fire
steps on them through an `Engine` (any store) and let days pass and run the due timers,
and whose invariants check, after every step, that each case's trail verifies against
the store's head, that replaying it gives the stored case, that every process rule given
still holds, that every due timer fired and none fired twice in one stay. Subclass it to add
rules and invariants of your own; run it with ``TestX = Machine.TestCase``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from .._audit import AuditEntry, EntryKind, verify
from .._case import Actor
from .._clock import ManualClock
from .._definition import Workflow
from .._due import Outcome, RunReport
from .._engine import Engine
from .._replay import replay
from ..exceptions import ReplayError
from ..stores import InMemoryStore, Store
from ._kit import _kit, _kit_step
from ._rules import _WAITS, START, Rule, _check, _take
from ._strategies import Step, _fact_values, fitting_steps, steps

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


def workflow_machine(  # noqa: C901 - the rules and invariants are closures over the workflow
    workflow: Workflow,
    *,
    rules: Sequence[Rule] = (),
    store: Callable[[], Store] = InMemoryStore,
) -> type[RuleBasedStateMachine]:
    """Build a state machine that plays ``workflow`` and checks its trails and rules.

    Args:
        workflow: The process under test.
        rules: Process rules checked after every committed step.
        store: Makes a fresh store for each run (in-memory by default).

    Returns:
        A `RuleBasedStateMachine` subclass; its ``TestCase`` runs under pytest.
    """
    any_step = st.one_of(steps(workflow), fitting_steps(workflow))
    kits = {event: _kit(workflow, event) for event in workflow.events}
    facts = {k: v[0] for k, v in _fact_values(workflow).items()}
    roles = sorted({r for t in workflow.transitions for r in t.roles})
    doers = [Actor("worker-a", roles), *(Actor(f"{r}-only", {r}) for r in roles)]

    class WorkflowMachine(RuleBasedStateMachine):
        """Cases of one workflow, stepped at random; trails and rules checked always."""

        cases = Bundle("cases")

        def __init__(self) -> None:
            super().__init__()
            self.clock = ManualClock(START)
            self.engine = Engine([workflow], store=store(), clock=self.clock)
            self.opened: list[str] = []

        @rule(target=cases)
        def open_case(self) -> str:
            case_id = f"CASE-{len(self.opened) + 1}"
            self.engine.open(
                workflow.name, case_id, actor=Actor("intake", {"intake"}), assignee="worker-a"
            )
            self.opened.append(case_id)
            return case_id

        @rule(case_id=cases, step=any_step)
        def take_step(self, case_id: str, step: Step) -> None:
            if not _take(self.engine, self.clock, case_id, step):
                return
            _check(workflow, rules, self.engine.trail(case_id))

        @rule(case_id=cases, data=st.data())
        def take_a_possible_step(self, case_id: str, data: st.DataObject) -> None:
            where = self.engine.get(case_id).configuration
            possible = [e for e in workflow.events if workflow.candidates_in(where, e)]
            if not possible:
                return
            event = data.draw(st.sampled_from(possible), label="event")
            actor = data.draw(st.sampled_from(doers), label="actor")
            wait = data.draw(st.sampled_from(_WAITS), label="wait")
            self.take_step(case_id, _kit_step(event, actor, kits[event], facts, wait))

        @rule(days=st.integers(0, 20))
        def run_due_timers(self, days: int) -> None:
            """Let days pass and run the timers due; each fires once, for its own state."""
            self.clock.advance(timedelta(days=days))
            _timers_ran(self.engine, self.opened, self.engine.run_due())
            for case_id in self.opened:
                _check(workflow, rules, self.engine.trail(case_id))

        @invariant()
        def timers_fire_once_per_stay(self) -> None:
            for case_id in self.opened:
                _once_per_stay(case_id, self.engine.trail(case_id))

        @invariant()
        def trails_verify_and_replay(self) -> None:
            for case_id in self.opened:
                snap = self.engine.store.load(case_id)
                trail = self.engine.trail(case_id)
                verify(trail, head=snap.head).raise_if_broken()
                if replay(workflow, trail, head=snap.head) != snap.case:
                    raise ReplayError(
                        case_id, None, "replaying the trail differs from the stored case"
                    )

    WorkflowMachine.__name__ = f"WorkflowMachine_{workflow.name.replace('-', '_')}"
    return WorkflowMachine
