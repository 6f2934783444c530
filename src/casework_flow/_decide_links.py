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
from ._directory import Roster
from ._handover import HandoverKind, HandoverStatus
from ._handover_checks import answer_checks
from ._links import Closing, LinkRule, LinkType, Side
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


def _state(why: str) -> Verdict:
    return refusal("link", why, CheckKind.STATE)


def _problems(
    catalog: Catalog, case: Case, other: Case, command: LinkCases, roster: Roster | None
) -> list[Verdict]:
    wf = catalog.workflow(case.workflow, case.version)
    rule = wf.links.get(command.kind)
    if rule is None:
        known = ", ".join(sorted(wf.links)) or "none"
        return [_state(f"{wf.name} declares no link of kind {command.kind} (it declares: {known})")]
    problems = []
    other_wf = catalog.workflow(other.workflow, other.version)
    if rule.type is LinkType.REFERRAL:
        problems += _referral(other_wf, case, other, command, roster)
    else:
        found = role_problem(command.actor, rule.roles or record_roles(wf), f"link {command.kind}")
        if found is not None:
            problems.append(found)
        if command.handover is not None:
            problems.append(_state(f"a {rule.type} link names no handover"))
    # The receiving side of a referral may not read the sending case before accepting
    # it; being a party to the referral is its right to name the case that answers it.
    seen_by = ((case, wf),) if rule.type is LinkType.REFERRAL else ((case, wf), (other, other_wf))
    for checked, on in seen_by:
        seen = access_problem(on, checked, command.actor, "read")
        if seen is not None:
            problems.append(seen)
    if problems:
        return problems
    return _fits(wf, rule, case, other, command) + _fits_type(rule, case, other, other_wf)


def _referral(
    other_wf: Workflow, case: Case, other: Case, command: LinkCases, roster: Roster | None
) -> list[Verdict]:
    """A referral's receiving case: only who may accept the referral links it, once."""
    if command.handover is None:
        return [_state(f"a referral link names the referral of {other.id} it answers")]
    h = other.handovers.get(command.handover)
    if h is None or h.kind is not HandoverKind.REFERRAL:
        return [_state(f"{other.id} holds no referral {command.handover}")]
    problems = []
    if h.status not in {HandoverStatus.IN_PROGRESS, HandoverStatus.ACCEPTED}:
        problems.append(_state(f"{h.id} is {h.status}; only an open referral takes a case"))
    if h.to_unit is not None and case.unit != h.to_unit:
        why = f"{h.id} was sent to {h.to_unit}; {case.id} belongs to {case.unit or 'no unit'}"
        problems.append(_state(why))
    # Whoever may accept the referral, and only they, may name the case that answers it.
    problems += [
        v
        for v in answer_checks(other_wf, other, command.actor, h.id, "accept", None, roster)
        if v.check == "party"
    ]
    if any(link.handover == h.id for link in other.links):
        problems.append(_state(f"a case is linked to {h.id} already"))
    return problems


def _fits(
    wf: Workflow, rule: LinkRule, case: Case, other: Case, command: LinkCases
) -> list[Verdict]:
    """What every link must respect: an open case, another one, not linked so already."""
    problems = []
    closed = closed_problem(wf, case, f"link it to {other.id}")
    if closed is not None:
        problems.append(closed)
    if other.id == case.id:
        problems.append(_state(f"{case.id} cannot be linked to itself"))
    if any(link.kind == command.kind and link.other == other.id for link in case.links):
        problems.append(_state(f"{case.id} is linked to {other.id} as {command.kind} already"))
    if rule.type is LinkType.RE_ENTRY and other.opened_at >= case.opened_at:
        why = f"{other.id} was opened after {case.id}; a re-entry links to an earlier case"
        problems.append(_state(why))
    return problems


def _fits_type(rule: LinkRule, case: Case, other: Case, other_wf: Workflow) -> list[Verdict]:
    """A membership: one family per kind, an open family, and one level deep."""
    if rule.type is not LinkType.MEMBER_OF:
        return []
    problems = []
    kind = rule.kind
    if any(link.kind == kind and link.side is Side.TO for link in case.links):
        problems.append(_state(f"{case.id} is a member of another {kind} case already"))
    if other_wf.state(other.state).terminal:
        why = f"{other.id} is closed ({other.state}); a member needs an open family case"
        problems.append(_state(why))
    if any(link.is_member for link in other.links):
        why = f"{other.id} is itself a member of another case; membership is one level deep"
        problems.append(_state(why))
    if any(link.holds_member for link in case.links):
        why = f"{case.id} has members of its own; membership is one level deep"
        problems.append(_state(why))
    return problems


def _details(rule: LinkRule, command: LinkCases, other: Case, side: Side) -> dict[str, str]:
    details = {
        "link_kind": command.kind,
        "other": other.id,
        "side": str(side),
        "other_opened_at": other.opened_at.isoformat(),
        "link_type": str(rule.type),
    }
    if rule.on_close is not Closing.LEAVE:
        details["on_close"] = str(rule.on_close)
    if command.handover is not None:
        details["handover"] = command.handover
    return details


def decide_link(
    catalog: Catalog,
    snap: Snapshot,
    other_snap: Snapshot,
    command: LinkCases,
    now: datetime,
    *,
    reason: str | None = None,
    roster: Roster | None = None,
) -> LinkResult:
    """Decide a link between the named case and the other one, as loaded together.

    ``roster`` holds the directory's answers for the people a referral names (the
    actor, the referral's addressee), as for `decide`.
    """
    case, other = snap.case, other_snap.case
    step = Step(catalog, catalog.compiled(case.workflow, case.version), snap, now)
    problems = _problems(catalog, case, other, command, roster)
    if problems:
        return LinkResult(refused_step(step, command.actor, "link", problems), None)
    rule = step.workflow.links[command.kind]
    here = Entries(step)
    here.add(
        EntryKind.LINKED, command.actor, "link", reason=reason,
        details=_details(rule, command, other, Side.TO),
    )  # fmt: skip
    there_step = Step(catalog, catalog.compiled(other.workflow, other.version), other_snap, now)
    there = Entries(there_step)
    there.add(
        EntryKind.LINKED, command.actor, "link", reason=reason,
        details=_details(rule, command, case, Side.FROM),
    )  # fmt: skip
    return LinkResult(here.result("link"), there.result("link"))
