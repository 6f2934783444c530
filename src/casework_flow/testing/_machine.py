"""A hypothesis state machine built from a workflow, for stateful tests of a process.

`workflow_machine` returns a `RuleBasedStateMachine` class whose rules open cases and
fire steps on them through an `Engine` (any store), and whose invariants check, after
every step, that each case's trail verifies against the store's head, that replaying it
gives the stored case, and that every process rule given still holds. Subclass it to add
rules and invariants of your own; run it with ``TestX = Machine.TestCase``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from .._audit import verify
from .._case import Actor
from .._clock import ManualClock
from .._definition import Workflow
from .._engine import Engine
from .._replay import replay
from ..exceptions import ReplayError
from ..stores import InMemoryStore, Store
from ._rules import _WAITS, START, Rule, _check, _kit, _kit_step, _take
from ._strategies import Step, _fact_values, fitting_steps, steps

__all__ = ["workflow_machine"]


def workflow_machine(
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
            state = self.engine.get(case_id).state
            possible = [e for e in workflow.events if workflow.candidates(state, e)]
            if not possible:
                return
            event = data.draw(st.sampled_from(possible), label="event")
            actor = data.draw(st.sampled_from(doers), label="actor")
            wait = data.draw(st.sampled_from(_WAITS), label="wait")
            self.take_step(case_id, _kit_step(event, actor, kits[event], facts, wait))

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
