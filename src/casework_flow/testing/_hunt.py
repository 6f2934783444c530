"""`check_rules`: the exhaustive walk as far as a budget allows, then a guided random hunt.

The walk (`explore`'s own) finds every violation within its reach, each with a shortest
trail. The hunt goes beyond it: each hypothesis example starts from a situation the walk
reached (often one on its edge, where it stopped), turns a random share of the events off
(swarm testing: a run without the easy exits goes deeper), and plays random steps, most
of them chosen as the walk chooses (an event possible now, one of the kinds of actor it
tries, a wait across a threshold, one of the combinations of data and documents the
event's guards read) and some anything at all. Hypothesis is steered towards examples
that reach situations not seen before, and shrinks a failing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

from .._audit import AuditEntry
from .._case import Case
from .._commands import Fire
from .._definition import Workflow
from .._frozen import freeze
from ..exceptions import CaseworkError, InvalidInput
from ._coverage import _record
from ._explore import _Search
from ._folds import _folded
from ._moves import Move, _command, _fired, _prepared, _start, _timer_move, _transfer_move
from ._rules import Rule
from ._strategies import Step, steps

__all__ = ["Chooser", "check_rules"]

_PAUSES = (
    timedelta(0),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=4),
    timedelta(days=8),
    timedelta(days=31),
)


_ANY_STEP = 3
"""Of four kinds of step the hunt draws, the one that is anything at all."""
_TRANSFER = 7
"""Of eight draws, the one that transfers the case to another unit (where it can be)."""


class Chooser:
    """How a random step is chosen: as the walk would, or anything at all.

    Shared by `check_rules` and `workflow_machine`; the steps are decided by the pure
    core, so what a chosen step does is known before any engine takes it.
    """

    def __init__(self, search: _Search) -> None:
        self.search = search
        workflow = search.workflow
        self.workflow = workflow
        self.crews = search.plan.actors
        self.waits = tuple(sorted({*search.plan.waits, *_PAUSES}))
        self.variants = {e: tuple(reversed(vs)) for e, vs in search.plan.variants.items()}
        self.anything = steps(workflow)

    def possible(self, case: Case, off: frozenset[str] = frozenset()) -> list[str]:
        """The events with candidates where the case is, less those switched ``off``."""
        wf = self.workflow
        return [e for e in wf.events if e not in off and wf.candidates_in(case.configuration, e)]

    def planned(
        self, data: st.DataObject, case: Case, trail: Sequence[AuditEntry], event: str, at: datetime
    ) -> Move | None:
        """A step at ``event`` chosen as the walk chooses, after ``at`` (None: refused)."""
        actor = data.draw(st.sampled_from(self.crews[event]), label="actor")
        wait = data.draw(st.sampled_from(self.waits), label="wait")
        variants = self.variants[event]
        other_kit = data.draw(st.booleans(), label="not the full kit")
        variant = data.draw(st.sampled_from(variants), label="data") if other_kit else variants[0]
        now = at + wait
        catalog = self.search.catalog
        if case.timer_at is not None and now >= case.timer_at:
            return _timer_move(catalog, case, tuple(trail))
        ready = _prepared(catalog, self.search.plan, _start(case, trail), event, now)
        if ready is None:
            return None
        return _fired(catalog, ready, _command(event, actor, variant), now)

    def any_step(
        self, data: st.DataObject, case: Case, trail: Sequence[AuditEntry], at: datetime
    ) -> Move | None:
        """Any step at all (wrong roles, missing data, unknown events); None: refused."""
        step: Step = data.draw(self.anything, label="any step")
        try:
            command = Fire(
                event=step.event,
                actor=step.actor,
                data=freeze(step.data),
                evidence=freeze(step.evidence),
                reason=step.reason,
                reason_code=step.reason_code,
            )
            now = at + step.advance
            if case.timer_at is not None and now >= case.timer_at:
                return _timer_move(self.search.catalog, case, tuple(trail))
            ready = (_start(case, trail), (), ())
            return _fired(self.search.catalog, ready, command, now)
        except CaseworkError:
            return None


def _walk(search: _Search, max_steps: int, budget: int) -> None:
    """Walk breadth-first up to ``max_steps`` steps or ``budget`` situations."""
    for _ in range(max_steps):
        if not search.layer(limit=budget):
            return


def check_rules(
    workflow: Workflow,
    *rules: Rule,
    max_examples: int = 300,
    max_steps: int = 40,
    budget: int = 2_000,
) -> None:
    """Hunt for step sequences that break any rule; raise the shortest one found.

    First `explore`'s breadth-first walk, up to ``max_steps`` steps or until it has seen
    ``budget`` situations: deterministic, and its counterexample is a shortest one.
    Then ``max_examples`` random runs of up to ``max_steps`` steps each, started from
    situations the walk reached and steered towards situations it did not (see the
    module's description); hypothesis shrinks a failing run to the shortest it can.

    Raises:
        RuleViolated: with the shortest trail found that breaks a rule.
        InvalidInput: if a bound is not a non-negative integer.
    """
    for name, value in (("max_examples", max_examples), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(name, f"must be a non-negative integer, got {value!r}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise InvalidInput("budget", f"must be a positive integer, got {budget!r}")
    search = _Search(workflow, rules, reduce=True)
    _walk(search, max_steps, budget)
    search.record()
    if search.violation is not None:
        raise search.violation
    if max_examples:
        _hunt(search, Chooser(search), max_examples, max_steps)


def _hunt(search: _Search, chooser: Chooser, max_examples: int, max_steps: int) -> None:
    workflow = search.workflow
    trails = search.trails
    edge = [(case, trail) for case, trail, _ in search.frontier]
    seen = set(search.seen)

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.nested_given,
        ],
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    )
    @given(st.data())
    def hunt(data: st.DataObject) -> None:
        on_edge: bool = bool(edge) and data.draw(st.booleans(), label="start on the edge")
        if on_edge:
            case, trail = data.draw(st.sampled_from(edge), label="start")
        else:
            trail = trails[data.draw(st.integers(0, len(trails) - 1), label="start")]
            case = _folded(workflow, trail)
        off = data.draw(
            st.frozensets(st.sampled_from(workflow.events), max_size=len(workflow.events) // 4),
            label="events switched off",
        )
        new = 0
        for _ in range(max_steps - data.draw(st.integers(0, max_steps), label="steps fewer")):
            at = trail[-1].at
            possible = chooser.possible(case, off)
            kind = data.draw(st.integers(0, 7), label="what kind of step")
            if kind == _TRANSFER:
                move = _transfer_move(search.catalog, case, trail)
            elif possible and kind % 4 != _ANY_STEP:
                event = data.draw(st.sampled_from(possible), label="event")
                move = chooser.planned(data, case, trail, event, at)
            else:
                move = chooser.any_step(data, case, trail, at)
            if move is None:
                continue
            path = (*trail, *move.entries)
            broken = search.check(move.after, path, len(trail))
            if broken is not None:
                raise broken
            case, trail = move.after, path
            key = search.plan.key(case, trail)
            if key not in seen:
                seen.add(key)
                new += 1
        _record(workflow, (trail,), search.rules)
        target(new, label="situations not seen before")

    hunt()
