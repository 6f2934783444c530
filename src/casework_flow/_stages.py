"""Completion: when a step leaves a stage done, the stage's ``on_done`` event follows.

A stage is done when its active state is final; a parallel stage when every track is
(SCXML's ``done.state.id``). If the stage declares ``on_done``, the step that made it
done goes on, in the same commit, with that event fired by the system actor: its
transitions, guards and waiting requests decide as for any other fire. When none of
them allows it, nothing more is recorded and the case stays in the done stage, where
the event may still be fired by hand once its guards hold. Before the stage is done, a
transition on its ``on_done`` event from it is refused. Stages done at once complete
innermost first.
"""

from __future__ import annotations

from typing import Final

from ._audit import EntryKind
from ._case import Actor, Case
from ._checks import move_problems
from ._frozen import EMPTY
from ._guards import GuardContext
from ._history import History
from ._step import Entries, Step

__all__ = ["COMPLETION_ACTOR", "complete"]

COMPLETION_ACTOR: Final = Actor("system", {"system"})
"""Who fires a stage's ``on_done`` event."""


def _taken(step: Step, out: Entries, stage: str, event: str) -> bool:
    wf, case = step.workflow, out.case
    ctx = GuardContext(
        case=case,
        actor=COMPLETION_ACTOR,
        event=event,
        payload=EMPTY,
        evidence=EMPTY,
        now=step.now,
        reason_code=None,
        history=History((*step.snap.history.entries, *out.entries)),
        personal=wf.personal,
        active=wf.tree.active(case.configuration),
    )
    decision = step.compiled.choose(ctx, None)
    # The step that made the stage done moved past every waiting request already, so only
    # what closing the case asks of open handovers can hold the completion back.
    if not decision.allowed or move_problems(wf, case, decision.dest, None):
        return False
    out.add(
        EntryKind.TRANSITION, COMPLETION_ACTOR, event,
        to_state=decision.dest, verdicts=decision.verdicts,
        details={"completion": stage}, configuration=decision.configuration,
    )  # fmt: skip
    out.cancel_waiting(wf, COMPLETION_ACTOR, case, f"{event} moved the case")
    return True


def complete(step: Step, out: Entries, before: Case) -> None:
    """Fire the ``on_done`` events of the stages the step so far left done.

    Each stage completes at most once per step; a completion that leaves more stages
    done adds them, and the innermost left still done goes next.
    """
    wf = step.workflow
    if not wf.staged:
        return
    tree = wf.tree
    waiting = set(
        tree.completed(tree.active(before.configuration), tree.active(out.case.configuration))
    )
    handled: set[str] = set()
    while waiting:
        case = out.case
        active = tree.active(case.configuration)
        ready = [s for s in tree.completed(frozenset(), active) if s in waiting]
        if not ready:
            return
        stage = ready[0]
        waiting.discard(stage)
        handled.add(stage)
        event = wf.state(stage).on_done
        if event is not None and _taken(step, out, stage, event):
            newly = tree.completed(active, tree.active(out.case.configuration))
            waiting.update(s for s in newly if s not in handled)
