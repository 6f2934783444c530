"""Deciding whether a transition may fire: pure, clock-free, and driven by `transitions`.

Each workflow version is compiled once into a `transitions.Machine` with no models. To
decide, the engine hands the machine's event a small throw-away `_Attempt` that carries
the case's state and the `GuardContext`; the machine tries the candidate transitions in
evaluation order, calling `check_transition` as each one's condition, and moves the
attempt (never the case, never a host object) to the destination of the first that passes.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from attrs import frozen
from transitions import Machine

from ._definition import Transition, Workflow
from ._guards import GuardContext
from ._memo import Memo
from ._verdict import CheckKind, Verdict

__all__ = ["CompiledWorkflow", "Decision", "check_transition"]

_EMPTY_VALUES: Final = (None, "", ())
_verdicts: Final[Memo[tuple[str, bool, str, str], Verdict]] = Memo(
    lambda key: Verdict(CheckKind.GUARD, *key)
)
"""Guard verdicts by (check, passed, why, dest): the same check usually ends the same way
in the same words (a document on file, a count reached), so equal verdicts are one shared
value, and the audit encoding remembers its JSON."""


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
    """

    event: str
    state: str
    allowed: bool
    transition: Transition | None
    dest: str
    verdicts: tuple[Verdict, ...]

    @property
    def reasons(self) -> tuple[Verdict, ...]:
        """The failed checks (empty when allowed)."""
        return () if self.allowed else self.verdicts


def check_transition(
    t: Transition, ctx: GuardContext, reason: str | None
) -> tuple[bool, list[Verdict]]:
    """Run every check of one candidate transition, without stopping at the first failure.

    Returns:
        Whether all passed, and the verdicts: failures of role, data and reason checks,
        and every guard verdict, passing or not.
    """
    dest = t.dest or ctx.case.state
    verdicts: list[Verdict] = []
    ok = True
    if t.roles and t.roles.isdisjoint(ctx.actor.roles):
        ok = False
        held = ", ".join(sorted(ctx.actor.roles)) or "no role"
        needed = " or ".join(sorted(t.roles))
        verdicts.append(
            Verdict(
                kind=CheckKind.ROLE,
                check="role",
                passed=False,
                why=f"{ctx.actor.id} acts as {held}; {ctx.event} needs {needed}",
                dest=dest,
            )
        )
    for name in t.requires:
        if ctx.payload.get(name) in _EMPTY_VALUES:
            ok = False
            verdicts.append(
                Verdict(
                    kind=CheckKind.DATA,
                    check=name,
                    passed=False,
                    why=f"{name} must be given with {ctx.event}",
                    dest=dest,
                )
            )
    if t.reason_required and not (reason and reason.strip()):
        ok = False
        verdicts.append(
            Verdict(
                kind=CheckKind.REASON,
                check="reason",
                passed=False,
                why=f"a written reason is needed for {ctx.event}",
                dest=dest,
            )
        )
    if t.reason_codes and ctx.reason_code not in t.reason_codes:
        ok = False
        codes = ", ".join(t.reason_codes)
        why = (
            f"a reason code is needed for {ctx.event}: one of {codes}"
            if ctx.reason_code is None
            else f"reason code {ctx.reason_code} does not fit {ctx.event}: use one of {codes}"
        )
        verdicts.append(
            Verdict(kind=CheckKind.REASON, check="reason_code", passed=False, why=why, dest=dest)
        )
    for part in t.conjuncts:
        passed, why = part.test(ctx)
        ok = ok and passed
        verdicts.append(_verdicts[part.text, passed, why, dest])
    return ok, verdicts


class _Attempt:
    """The object the machine moves: carries the state and collects what it saw."""

    __slots__ = ("chosen", "ctx", "failures", "reason", "state", "verdicts")

    def __init__(self, ctx: GuardContext, reason: str | None) -> None:
        self.state = ctx.case.state
        self.ctx = ctx
        self.reason = reason
        self.chosen: Transition | None = None
        self.verdicts: list[Verdict] = []
        self.failures: list[Verdict] = []


def _condition(t: Transition, event_data: Any) -> bool:  # noqa: ANN401 - transitions is untyped
    attempt: _Attempt = event_data.model
    ok, verdicts = check_transition(t, attempt.ctx, attempt.reason)
    if ok:
        attempt.chosen = t
        attempt.verdicts = verdicts
    else:
        attempt.failures.extend(v for v in verdicts if not v.passed)
    return ok


class CompiledWorkflow:
    """One workflow version compiled into one `transitions.Machine`, shared by all cases."""

    __slots__ = ("_machine", "workflow")

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._machine = Machine(
            model=None,
            states=[s.id for s in workflow.states],
            initial=workflow.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            name=f"{workflow.name}@{workflow.version}",
        )
        for state in workflow.states:
            for event in workflow.events:
                for t in workflow.candidates(state.id, event):
                    self._machine.add_transition(
                        event, state.id, t.dest, conditions=[partial(_condition, t)]
                    )

    def decide(self, ctx: GuardContext, reason: str | None) -> Decision:
        """Decide the attempted transition described by ``ctx``."""
        state = ctx.case.state
        if not self.workflow.candidates(state, ctx.event):
            return self._refused(ctx, (self._wrong_state(ctx),))
        attempt = _Attempt(ctx, reason)
        self._machine.events[ctx.event].trigger(attempt)
        if attempt.chosen is None:
            return self._refused(ctx, tuple(attempt.failures))
        return Decision(
            event=ctx.event,
            state=state,
            allowed=True,
            transition=attempt.chosen,
            dest=attempt.state,
            verdicts=tuple(attempt.verdicts),
        )

    @staticmethod
    def _refused(ctx: GuardContext, reasons: tuple[Verdict, ...]) -> Decision:
        state = ctx.case.state
        return Decision(
            event=ctx.event,
            state=state,
            allowed=False,
            transition=None,
            dest=state,
            verdicts=reasons,
        )

    def _wrong_state(self, ctx: GuardContext) -> Verdict:
        wf = self.workflow
        sources = sorted({s for t in wf.transitions if t.event == ctx.event for s in t.source})
        where = ", ".join(sources)
        return Verdict(
            kind=CheckKind.STATE,
            check="state",
            passed=False,
            why=f"{ctx.event} is not possible while the case is in {ctx.case.state}"
            f" ({wf.state(ctx.case.state).label('en')}); it is possible from {where}",
        )
