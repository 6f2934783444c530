"""Deciding an erasure: who may erase a case's personal values, and when.

Two people holding one of the workflow's ``erase_roles`` (four eyes), on the side that
owns the case, with a written reason; only once the case is closed, unless the command
overrides that (a data subject's request to erase before closing). A case whose values
are erased already, or which seals nothing, is refused with the reason. The entry the
erasure appends is the record that the case's data key is destroyed; the shell destroys
the key once the entry is committed.
"""

from __future__ import annotations

from ._access import MANAGE, access_problem, as_on
from ._audit import EntryKind
from ._commands import Erase
from ._step import Entries, Step, StepResult, decide_command, refused_step
from ._verdict import CheckKind, Verdict

__all__: list[str] = []


def _problem(check: str, why: str) -> Verdict:
    return Verdict(kind=CheckKind.GUARD, check=check, passed=False, why=why)


def _problems(command: Erase, step: Step) -> list[Verdict]:
    """Every reason the erasure may not go ahead."""
    wf, case = step.workflow, step.case
    actor, second = command.actor, as_on(wf, case, command.second)
    found = access_problem(wf, case, actor, MANAGE)
    problems = [] if found is None else [found]
    roles = " or ".join(sorted(wf.erase_roles))
    problems += [
        Verdict(kind=CheckKind.ROLE, check="erase_roles", passed=False,
                why=f"{who.id} does not hold {roles}, who may erase")
        for who in (actor, second)
        if wf.erase_roles.isdisjoint(who.roles)
    ]  # fmt: skip
    if second.id == actor.id:
        problems.append(_problem("four eyes", "a second person must erase with them"))
    if not (command.reason or "").strip():
        problems.append(_problem("reason", "an erasure needs a written reason"))
    if not wf.state(case.state).terminal and not command.override:
        problems.append(
            _problem("closed", f"{case.id} is not closed; erase it before closing only by override")
        )
    if case.erased_at is not None:
        when = case.erased_at.isoformat(timespec="seconds")
        problems.append(_problem("erased", f"its personal values were erased already, at {when}"))
    elif step.sealing is None or step.sealing.key(case.id) is None:
        problems.append(
            _problem("sealed", "nothing of it is sealed: erasure needs a key store and a data key")
        )
    return problems


def _retention_problems(step: Step) -> list[Verdict]:
    """Why the workflow's own retention does not erase the case now."""
    wf, case = step.workflow, step.case
    kept = wf.retention
    if kept is None or not kept.erase:
        return [_problem("retention", f"{wf.name} does not erase cases when their time is up")]
    if not wf.state(case.state).terminal:
        return [_problem("closed", f"{case.id} is not closed")]
    due = kept.due(case.state_entered_at)
    if step.now < due:
        return [
            _problem("retention", f"its data is kept until {due.isoformat(timespec='seconds')}")
        ]
    if step.sealing is None or step.sealing.key(case.id) is None:
        return [_problem("sealed", "nothing of it is sealed: erasure needs a key store")]
    return []


@decide_command.register
def _erase(command: Erase, step: Step) -> StepResult:
    if command.retention:
        if step.case.erased_at is not None:
            return StepResult("erase", ())
        problems = _retention_problems(step)
        if problems:
            return refused_step(step, command.actor, "erase", problems, reason=command.reason)
        out = Entries(step)
        kept = step.workflow.retention
        assert kept is not None  # noqa: S101 - checked above
        details = {"retention_due": kept.due(step.case.state_entered_at).isoformat()}
        out.add(EntryKind.ERASED, command.actor, "erase", reason=command.reason, details=details)
        return out.result("erase")
    problems = _problems(command, step)
    if problems:
        return refused_step(step, command.actor, "erase", problems, reason=command.reason)
    details = {"second": command.second.id}
    if command.override:
        details["override"] = "before closing"
    out = Entries(step)
    out.add(EntryKind.ERASED, command.actor, "erase", reason=command.reason, details=details)
    return out.result("erase")
