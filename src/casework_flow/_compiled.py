"""The adapter to `transitions`: which transition of an event fires, and why (not).

Each workflow version is compiled once into a `transitions.Machine` with no models. To
choose, the core hands the machine's event a throw-away `_Attempt` that carries the
case's state and the `GuardContext`; the machine tries the candidate transitions in
evaluation order, calling `check_transition` as each one's condition, and moves the
attempt (never the case, never a host object) to the destination of the first that
passes. The attempt is the machine's model for one call and nothing else: it collects
the verdicts the conditions saw, since `transitions` returns only whether it moved.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from attrs import frozen
from transitions import Machine

from ._case import Case
from ._checks import check_transition, wrong_state
from ._definition import Transition, Workflow
from ._guards import Check, GuardContext, referenced_events, walk
from ._verdict import CheckKind, Verdict

__all__ = ["CompiledWorkflow", "Decision", "moved_to"]


@frozen
class Decision:
    """Whether an event may fire now, and why (not).

    Attributes:
        event: The event considered.
        state: The case's state when considered.
        allowed: Whether a transition would fire.
        transition: The transition that would fire, if allowed.
        dest: The state the case would be in afterwards (its own state if not allowed).
        verdicts: If allowed, the passing guard verdicts of that transition; otherwise
            every failed check of every candidate, in evaluation order.
        configuration: The case's configuration afterwards (see `Case.configuration`).
    """

    event: str
    state: str
    allowed: bool
    transition: Transition | None
    dest: str
    verdicts: tuple[Verdict, ...]
    configuration: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[Verdict, ...]:
        """The failed checks (empty when allowed)."""
        return () if self.allowed else self.verdicts

    @property
    def needs_approval(self) -> bool:
        """Whether the allowed transition waits for an approver before it happens."""
        return self.transition is not None and self.transition.approval is not None


def refused(ctx: GuardContext, reasons: tuple[Verdict, ...]) -> Decision:
    """A refusal of ``ctx.event`` for ``reasons``."""
    case = ctx.case
    return Decision(
        ctx.event,
        case.state,
        allowed=False,
        transition=None,
        dest=case.state,
        verdicts=reasons,
        configuration=case.configuration,
    )


class _Attempt:
    """The object the machine moves for one call: the state, and what the conditions saw."""

    __slots__ = ("chosen", "ctx", "failures", "reason", "state", "verdicts")

    def __init__(self, ctx: GuardContext, reason: str | None, state: str) -> None:
        self.state = state
        self.ctx = ctx
        self.reason = reason
        self.chosen: Transition | None = None
        self.verdicts: list[Verdict] = []
        self.failures: list[Verdict] = []


def _condition(t: Transition, done: str | None, wf: Workflow, event_data: Any) -> bool:  # noqa: ANN401 - transitions is untyped
    attempt: _Attempt = event_data.model
    ok, verdicts = check_transition(t, attempt.ctx, attempt.reason)
    if done is not None and not wf.tree.is_done(done, attempt.ctx.active):
        ok = False
        why = f"{done} is not done: {t.event} follows once it is"
        verdicts.append(Verdict(CheckKind.STATE, "done", passed=False, why=why, dest=t.dest))
    if ok:
        attempt.chosen = t
        attempt.verdicts = verdicts
    else:
        attempt.failures.extend(v for v in verdicts if not v.passed)
    return ok


def _reads_history(workflow: Workflow) -> bool:
    guards = [t.guard for t in workflow.transitions]
    guards += [r.guard for r in workflow.handovers.values()]
    for guard in guards:
        if referenced_events(guard):
            return True
        if any(isinstance(g, Check) for g in walk(guard)):
            return True
    return False


class CompiledWorkflow:
    """One workflow version compiled into one `transitions.Machine`, shared by all cases.

    Attributes:
        workflow: The definition.
        reads_history: Whether some guard reads the case's past (counts, spans,
            separation of duties, or a host check that may), so the trail must be
            loaded with the case.
    """

    __slots__ = ("_machine", "reads_history", "workflow")

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.reads_history = _reads_history(workflow)
        self._machine = Machine(
            model=None,
            states=[s.id for s in workflow.all_states],
            initial=workflow.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            name=f"{workflow.name}@{workflow.version}",
        )
        for state in workflow.all_states:
            for event in workflow.events:
                for t in workflow.candidates(state.id, event):
                    done = workflow.completes(t)
                    self._machine.add_transition(
                        event,
                        state.id,
                        t.dest,
                        conditions=[partial(_condition, t, done, workflow)],
                    )

    def choose(self, ctx: GuardContext, reason: str | None) -> Decision:
        """Decide which transition of ``ctx.event`` fires from the case's state, if any."""
        case, wf = ctx.case, self.workflow
        leaf = wf.handler(case.configuration, ctx.event)
        if not wf.candidates(leaf, ctx.event):
            return refused(ctx, (wrong_state(wf, case, ctx.event),))
        attempt = _Attempt(ctx, reason, leaf)
        self._machine.events[ctx.event].trigger(attempt)
        chosen = attempt.chosen
        if chosen is None:
            return refused(ctx, tuple(attempt.failures))
        if not wf.staged:
            configuration: tuple[str, ...] = (attempt.state,)
            dest = attempt.state
        else:
            configuration = moved_to(wf, case, chosen)
            dest = wf.tree.state_of(configuration)
        return Decision(
            event=ctx.event,
            state=case.state,
            allowed=True,
            transition=chosen,
            dest=dest,
            verdicts=tuple(attempt.verdicts),
            configuration=configuration,
        )


def moved_to(wf: Workflow, case: Case, t: Transition) -> tuple[str, ...]:
    """The configuration ``t`` leaves ``case`` in (the same one for a step in place)."""
    if t.dest is None:
        return case.configuration
    tree = wf.tree
    active = tree.active(case.configuration)
    source = next(s for s in t.source if s in active)
    return tree.enter(case.configuration, source, t.dest, case.history)
