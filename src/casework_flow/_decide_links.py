"""Linking two cases: one command, decided on both cases' snapshots, written to both.

`decide_link` is pure like `decide`: given the case the command names and the other
case, as loaded together, it returns each case's entries, or the refusal (recorded on
the named case only, so a refusal never touches a case the actor may not see). The
shell commits both cases in one `Store.commit_many`: both or neither.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from ._access import access_problem
from ._audit import EntryKind
from ._case import Case
from ._catalog import Catalog
from ._checks import closed_problem, record_roles, refusal, role_problem
from ._commands import LinkCases
from ._definition import Workflow
from ._links import LinkRule, LinkType, Side
from ._snapshot import Snapshot
from ._step import Entries, Step, StepResult, refused_step
from ._verdict import CheckKind, Verdict

__all__ = ["LinkResult", "decide_link"]


@frozen
class LinkResult:
    """What `decide_link` says: the named case's result, and the other case's entries.

    Attributes:
        named: The named case's `StepResult` (a refusal's entry when refused).
        other: The other case's result (None when refused).
    """

    named: StepResult
    other: StepResult | None


def _problems(catalog: Catalog, case: Case, other: Case, command: LinkCases) -> list[Verdict]:
    wf = catalog.workflow(case.workflow, case.version)
    rule = wf.links.get(command.kind)
    if rule is None:
        known = ", ".join(sorted(wf.links)) or "none"
        why = f"{wf.name} declares no link of kind {command.kind} (it declares: {known})"
        return [refusal("link", why, CheckKind.STATE)]
    problems = []
    allowed = rule.roles or record_roles(wf)
    found = role_problem(command.actor, allowed, f"link {command.kind}")
    if found is not None:
        problems.append(found)
    other_wf = catalog.workflow(other.workflow, other.version)
    for checked, on in ((case, wf), (other, other_wf)):
        seen = access_problem(on, checked, command.actor, "read")
        if seen is not None:
            problems.append(seen)
    if problems:
        return problems
    return _fits(wf, rule, case, other, command)


def _fits(
    wf: Workflow, rule: LinkRule, case: Case, other: Case, command: LinkCases
) -> list[Verdict]:
    """What the link itself must respect: an open case, another one, no cycle."""
    problems = []
    closed = closed_problem(wf, case, f"link it to {other.id}")
    if closed is not None:
        problems.append(closed)
    if other.id == case.id:
        problems.append(refusal("link", f"{case.id} cannot be linked to itself", CheckKind.STATE))
    if any(link.kind == command.kind and link.other == other.id for link in case.links):
        why = f"{case.id} is linked to {other.id} as {command.kind} already"
        problems.append(refusal("link", why, CheckKind.STATE))
    if rule.type is LinkType.RE_ENTRY and other.opened_at >= case.opened_at:
        why = f"{other.id} was opened after {case.id}; a re-entry links to an earlier case"
        problems.append(refusal("link", why, CheckKind.STATE))
    if rule.type is LinkType.MEMBER_OF:
        if any(link.kind == command.kind and link.side is Side.TO for link in case.links):
            why = f"{case.id} is a member of another {command.kind} case already"
            problems.append(refusal("link", why, CheckKind.STATE))
        if any(link.kind == command.kind and link.other == case.id for link in other.links):
            why = f"{other.id} is a member of {case.id}; the link would make a cycle"
            problems.append(refusal("link", why, CheckKind.STATE))
    return problems


def decide_link(
    catalog: Catalog,
    snap: Snapshot,
    other_snap: Snapshot,
    command: LinkCases,
    now: datetime,
    *,
    reason: str | None = None,
) -> LinkResult:
    """Decide a link between the named case and the other one, as loaded together."""
    case, other = snap.case, other_snap.case
    step = Step(catalog, catalog.compiled(case.workflow, case.version), snap, now)
    problems = _problems(catalog, case, other, command)
    if problems:
        return LinkResult(refused_step(step, command.actor, "link", problems), None)
    here = Entries(step)
    here.add(
        EntryKind.LINKED, command.actor, "link", reason=reason,
        details={"link_kind": command.kind, "other": other.id, "side": str(Side.TO),
                 "other_opened_at": other.opened_at.isoformat()},
    )  # fmt: skip
    there_step = Step(catalog, catalog.compiled(other.workflow, other.version), other_snap, now)
    there = Entries(there_step)
    there.add(
        EntryKind.LINKED, command.actor, "link", reason=reason,
        details={"link_kind": command.kind, "other": case.id, "side": str(Side.FROM),
                 "other_opened_at": case.opened_at.isoformat()},
    )  # fmt: skip
    return LinkResult(here.result("link"), there.result("link"))
