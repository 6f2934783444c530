"""Who may see a case's personal fields, as a pure function of the workflow and the reader."""

from __future__ import annotations

import attrs

from ._case import MASK, Actor, Case, CaseView
from ._definition import Workflow

__all__ = ["masked_view", "may_see_personal"]


def may_see_personal(workflow: Workflow, actor: Actor) -> bool:
    """Whether ``actor`` may read the workflow's personal fields."""
    return not workflow.personal_roles or not workflow.personal_roles.isdisjoint(actor.roles)


def masked_view(workflow: Workflow, case: Case, actor: Actor) -> CaseView:
    """The case as ``actor`` may see it: personal fields masked without a personal role."""
    present = sorted(k for k in workflow.personal if k in case.data)
    if may_see_personal(workflow, actor):
        return CaseView(case, (), tuple(present))
    masked = case.data.merged(dict.fromkeys(present, MASK))
    return CaseView(attrs.evolve(case, data=masked), tuple(present), ())
