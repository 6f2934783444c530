"""Closing a family's case: what it does to its member cases still open.

A membership's kind says, in the member's workflow, what closing the family's case does
to an open member (`Closing`): nothing, refuse the closing, or close the member too,
with the kind's ``close_event`` fired by the system actor. The members are read with the
family's case (`Snapshot.relatives`), so the step is decided on one moment of all of
them, and the shell commits the family's step and every member's in one
`Store.commit_many`: all or none. A member that cannot take the event, or that the
event leaves open, refuses the whole step: no member is ever orphaned by ``close``.
"""

from __future__ import annotations

from ._case import Case
from ._checks import refusal
from ._commands import Fire
from ._links import Closing
from ._stages import COMPLETION_ACTOR
from ._step import Step, StepResult, decide_command
from ._verdict import CheckKind, Verdict

__all__ = ["Consequences", "close_members"]

Consequences = tuple[tuple[Case, StepResult], ...]
"""Other cases a step changes: each as loaded, with its own result."""


def _state(why: str) -> Verdict:
    return refusal("member", why, CheckKind.STATE)


def close_members(step: Step, before: Case, after: Case) -> tuple[list[Verdict], Consequences]:
    """What closing the family's case (``before`` to ``after``) asks of its members.

    Returns:
        Why the closing is refused (empty: it is not), and each member's step.
    """
    wf = step.workflow
    if wf.state(before.state).terminal or not wf.state(after.state).terminal:
        return [], ()
    loaded = {r.case.id: r for r in step.snap.relatives}
    problems: list[Verdict] = []
    steps: list[tuple[Case, StepResult]] = []
    for link in after.links:
        if not link.holds_member or link.on_close is Closing.LEAVE:
            continue
        snap = loaded.get(link.other)
        if snap is None:
            problems.append(_state(f"member case {link.other} was not read with {after.id}"))
            continue
        member = snap.case
        member_wf = step.catalog.workflow(member.workflow, member.version)
        if member_wf.state(member.state).terminal:
            continue
        if link.on_close is Closing.REFUSE:
            why = f"member case {member.id} ({link.kind}) is open; close it first"
            problems.append(_state(why))
            continue
        rule = member_wf.links.get(link.kind)
        event = rule.close_event if rule is not None else None
        if event is None:
            why = f"{member.id}'s workflow ({member_wf.name} v{member_wf.version}) no longer"
            problems.append(_state(f"{why} says how a {link.kind} member is closed"))
            continue
        command = Fire(event, COMPLETION_ACTOR, reason=f"its {link.kind} case {after.id} closed")
        member_step = Step(step.catalog, step.catalog.compiled(member.workflow, member.version),
                           snap, step.now)  # fmt: skip
        result = decide_command(command, member_step)
        moved = result.after if result.after is not None else member
        if result.refused:
            reasons = "; ".join(v.why or v.check for v in result.refused)
            problems.append(_state(f"member case {member.id} cannot take {event}: {reasons}"))
        elif not member_wf.state(moved.state).terminal:
            why = f"{event} leaves member case {member.id} open in {moved.state}"
            problems.append(_state(why))
        else:
            steps.append((member, result))
    return problems, tuple(steps)
