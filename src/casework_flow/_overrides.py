"""Consent overrides: when a senior second person may set aside missing consent.

A transition may declare a `ConsentOverride`: roles that may override, and the reason
codes an override needs. Only a refusal for missing consent alone can be overridden,
never one for a role, data or another guard, and never by the actor themself.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ._case import Actor
from ._checks import check_transition, override_problems, refusal
from ._compiled import Decision, moved_to
from ._definition import Workflow
from ._guards import Consent, GuardContext
from ._verdict import CheckKind, Verdict

__all__ = ["consider_override", "not_overridable", "override_details"]


def consider_override(
    workflow: Workflow,
    ctx: GuardContext,
    reason: str | None,
    refusal_: Decision,
    override_by: Actor,
) -> tuple[Decision, dict[str, str]]:
    """Turn a refusal for missing consent into an overridden decision, if allowed.

    Returns the decision (still refused, with the override's own failed checks added,
    when the override cannot apply) and the details the audit entry records.
    """
    for t in workflow.candidates_in(ctx.case.configuration, ctx.event):
        if t.override is None:
            continue
        _, verdicts = check_transition(t, ctx, reason)
        consents = {c.text for c in t.conjuncts if isinstance(c, Consent)}
        codes = t.override.reason_codes
        failed = [
            v
            for v in verdicts
            if not v.passed and not (v.check == "reason_code" and ctx.reason_code in codes)
        ]
        if not failed or not all(v.kind is CheckKind.GUARD and v.check in consents for v in failed):
            continue
        problems = override_problems(t.override, ctx, reason, override_by)
        if problems:
            return attrs.evolve(refusal_, verdicts=(*refusal_.verdicts, *problems)), {}
        details = override_details(override_by, failed)
        if workflow.staged:
            configuration = moved_to(workflow, ctx.case, t)
            dest = workflow.tree.state_of(configuration)
        else:
            dest = t.dest or ctx.case.state
            configuration = (dest,)
        kept = tuple(v for v in verdicts if v.check != "reason_code" or v.passed)
        allowed = Decision(ctx.event, ctx.case.state, True, t, dest, kept, configuration)  # noqa: FBT003 - positional fields
        return allowed, details
    return attrs.evolve(refusal_, verdicts=(*refusal_.verdicts, not_overridable())), {}


def not_overridable() -> Verdict:
    """The refusal of an override of anything but missing consent, or where none is declared."""
    why = "only missing consent can be overridden, and only where the workflow allows it"
    return refusal("override", why, CheckKind.GUARD)


def override_details(by: Actor, failed: Sequence[Verdict]) -> dict[str, str]:
    """What an entry records of an override: who, with which roles, and which consent."""
    return {
        "overridden_by": by.id,
        "overridden_by_roles": ",".join(by.sorted_roles),
        "overridden": "; ".join(v.check for v in failed),
    }
