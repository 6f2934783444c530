"""`evolve`: the one place a case changes, one audit entry at a time.

The engine commits ``evolve(case, entry)`` for every entry `decide` returns; replay,
import, migration and `testing.explore` fold it over a trail. So the case a store holds
is, by construction, the fold of its trail, and an entry that does not fit the case
(a transition the workflow lacks, an answer to nothing) is refused here with a
`ReplayError` naming the entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

import attrs

from ._audit import AuditEntry, EntryKind
from ._case import Case, Pending
from ._catalog import Catalog
from ._checks import approval_rule
from ._compiled import moved_to
from ._definition import Workflow
from ._frozen import FrozenMap
from ._handover import Handover, HandoverKind, HandoverStatus
from ._links import Closing, Link, LinkType
from ._migration import migrated
from ._timing import Timing, staged_timing, timing
from .exceptions import ReplayError, UnknownWorkflow

__all__ = ["evolve", "fold"]


def _workflow(catalog: Catalog, case_id: str, entry: AuditEntry) -> Workflow:
    try:
        return catalog.workflow(entry.workflow, entry.workflow_version)
    except UnknownWorkflow:
        raise ReplayError(
            case_id, entry.seq,
            f"the case runs on {entry.workflow} v{entry.workflow_version}, which is not given",
        ) from None  # fmt: skip


def _opened(catalog: Catalog, entry: AuditEntry) -> Case:
    wf = _workflow(catalog, entry.case_id, entry)
    configuration = wf.initial_configuration
    state = wf.tree.state_of(configuration)
    if entry.to_state != state:
        raise ReplayError(entry.case_id, entry.seq, f"opened in {entry.to_state}, not {state}")
    if wf.staged:
        _check_recorded(wf, entry, configuration)
    active = wf.tree.active(configuration) if wf.staged else ()
    timed: Timing = (None, None, None, ())
    if wf.timed and not wf.staged:
        timed = timing(wf, catalog.calendar, None, state, entry.at, entry.at, entry.timer)
    deadline, timer, timer_at, fired = timed
    case = Case(
        id=entry.case_id,
        workflow=wf.name,
        version=wf.version,
        state=state,
        configuration=configuration,
        entered=dict.fromkeys(active, entry.at),
        data={c.field: c.after for c in entry.changes},
        evidence=entry.evidence,
        revision=1,
        opened_at=entry.at,
        state_entered_at=entry.at,
        assignee=entry.assignee,
        unit=entry.details.get("unit"),
        deadline=deadline,
        timer=timer,
        timer_at=timer_at,
        fired=fired,
    )
    return _timed(wf, catalog, None, case, entry) if wf.staged else case


def _timed(
    wf: Workflow, catalog: Catalog, before: Case | None, case: Case, entry: AuditEntry
) -> Case:
    if not wf.timed:
        return case
    if wf.staged:
        deadline, timer, timer_at, fired = staged_timing(
            wf, catalog.calendar, before, case, at=entry.at, fired=entry.timer
        )
        return attrs.evolve(case, deadline=deadline, timer=timer, timer_at=timer_at, fired=fired)
    deadline, timer, timer_at, fired = timing(
        wf, catalog.calendar, before, case.state, case.state_entered_at, entry.at, entry.timer
    )
    return attrs.evolve(case, deadline=deadline, timer=timer, timer_at=timer_at, fired=fired)


def _after_approval(wf: Workflow, case: Case, entry: AuditEntry) -> FrozenMap[Pending]:
    """The waiting requests after a transition: the one it approves is gone."""
    details = entry.details
    approved = details.get("decision") == "approved"
    kind = details.get("approval_kind", entry.event)
    pending = case.approvals.get(kind)
    if approved and details.get("approval") != "direct":
        if pending is None or pending.event != entry.event or pending.dest != entry.to_state:
            raise ReplayError(case.id, entry.seq, f"an approval of {kind}, which is not waiting")
        _enough(wf, case, entry, pending, len(pending.approved_by) + 1, "quorum")
        return case.approvals.without(kind)
    if pending is not None and pending.event == entry.event:
        raise ReplayError(
            case.id, entry.seq, f"a transition while {pending.event} waits for approval"
        )
    return case.approvals


def _enough(  # noqa: PLR0917 - what the message names
    wf: Workflow, case: Case, entry: AuditEntry, pending: Pending, votes: int, key: str
) -> None:
    """A request decided with fewer votes than its approval asks is not a fit."""
    needed = getattr(approval_rule(wf, pending), key)
    if votes < needed or entry.actor_id in pending.approved_by + pending.rejected_by:
        raise ReplayError(
            case.id,
            entry.seq,
            f"{pending.kind} decided by {entry.actor_id} with {votes} of the {needed}"
            " distinct votes it needs",
        )


def _voted(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:
    kind = entry.details.get("approval_kind", entry.event)
    pending = case.approvals.get(kind)
    vote = entry.details.get("vote")
    if pending is None or vote not in {"approve", "reject"} or pending.voted(entry.actor_id):
        raise ReplayError(case.id, entry.seq, f"a vote on {kind} that does not fit the request")
    if vote == "approve":
        pending = attrs.evolve(pending, approved_by=(*pending.approved_by, entry.actor_id))
    else:
        pending = attrs.evolve(pending, rejected_by=(*pending.rejected_by, entry.actor_id))
    wf = catalog.workflow(case.workflow, case.version)
    rule = approval_rule(wf, pending)
    if len(pending.approved_by) >= rule.quorum or len(pending.rejected_by) >= rule.rejections:
        raise ReplayError(case.id, entry.seq, f"a vote on {kind} that should have decided it")
    return attrs.evolve(
        case, revision=case.revision + 1, approvals=case.approvals.merged({kind: pending})
    )


def _transition(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:
    wf = _workflow(catalog, case.id, entry)
    if wf.key != (case.workflow, case.version):
        raise ReplayError(case.id, entry.seq, "the entry names another workflow version")
    if wf.staged:
        return _staged(catalog, wf, case, entry)
    candidates = wf.candidates(case.state, entry.event)
    if not any((t.dest or case.state) == entry.to_state for t in candidates):
        raise ReplayError(
            case.id,
            entry.seq,
            f"the workflow has no {entry.event} from {case.state} to {entry.to_state}",
        )
    approvals = _after_approval(wf, case, entry)
    moved = entry.to_state != case.state
    entered = entry.at if moved else case.state_entered_at
    if (moved or entry.timer is not None) and wf.timed:
        deadline, timer, timer_at, fired = timing(
            wf, catalog.calendar, case, entry.to_state, entered, entry.at, entry.timer
        )
    else:
        deadline, timer, timer_at, fired = case.deadline, case.timer, case.timer_at, case.fired
    return Case(
        id=case.id,
        workflow=case.workflow,
        version=case.version,
        state=entry.to_state,
        data=case.data.merged({c.field: c.after for c in entry.changes}),
        evidence=case.evidence.merged(entry.evidence),
        revision=case.revision + 1,
        opened_at=case.opened_at,
        state_entered_at=entered,
        assignee=entry.assignee,
        deadline=deadline,
        timer=timer,
        timer_at=timer_at,
        fired=fired,
        approvals=approvals,
        unit=case.unit,
        handovers=case.handovers,
        links=case.links,
    )


def _check_recorded(wf: Workflow, entry: AuditEntry, configuration: tuple[str, ...]) -> None:
    """The configuration the entry records must be the one the step leads to."""
    recorded = entry.details.get("configuration")
    expected = " ".join(wf.tree.path(s) for s in configuration)
    if recorded != expected:
        raise ReplayError(
            entry.case_id,
            entry.seq,
            f"the entry records configuration {recorded or '(none)'}, the step leads to {expected}",
        )


def _staged(catalog: Catalog, wf: Workflow, case: Case, entry: AuditEntry) -> Case:
    """`_transition` in a workflow with stages: the step moves the configuration."""
    tree = wf.tree
    recorded = entry.details.get("configuration", "")
    leaves = tuple(path.rpartition("/")[2] for path in recorded.split())
    fits = any(
        moved_to(wf, case, t) == leaves for t in wf.candidates_in(case.configuration, entry.event)
    )
    if not fits or not leaves or tree.state_of(leaves) != entry.to_state:
        raise ReplayError(
            case.id,
            entry.seq,
            f"the workflow has no {entry.event} from {case.state} to {recorded or entry.to_state}",
        )
    _check_recorded(wf, entry, leaves)
    approvals = _after_approval(wf, case, entry)
    moved = leaves != case.configuration
    if moved:
        was = tree.active(case.configuration)
        entered = {
            s: case.entered[s] if s in was and s in case.entered else entry.at
            for s in tree.active(leaves)
        }
        history = tree.remembered(case.configuration, leaves, case.history)
    else:
        entered, history = dict(case.entered), dict(case.history)
    after = attrs.evolve(
        case,
        state=entry.to_state,
        configuration=leaves,
        entered=entered,
        history=history,
        state_entered_at=entered[entry.to_state],
        data=case.data.merged({c.field: c.after for c in entry.changes}),
        evidence=case.evidence.merged(entry.evidence),
        revision=case.revision + 1,
        assignee=entry.assignee,
        approvals=approvals,
    )
    if (moved or entry.timer is not None) and wf.timed:
        return _timed(wf, catalog, case, after, entry)
    return after


def _refused(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:
    if entry.timer is None:
        return case
    return _timed(catalog.workflow(case.workflow, case.version), catalog, case, case, entry)


def _requested(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:
    details = entry.details
    kind = details.get("approval_kind", entry.event)
    if kind in case.approvals:
        raise ReplayError(case.id, entry.seq, f"a request while {kind} waits")
    try:
        dest, approvers = details["dest"], details["approvers"].split(",")
    except KeyError:
        raise ReplayError(case.id, entry.seq, "a request that names no dest or approvers") from None
    roles = details.get("overridden_by_roles")
    pending = Pending(
        kind=kind,
        event=entry.event,
        requested_by=entry.actor_id,
        requested_at=entry.at,
        request_seq=entry.seq,
        requested_roles=entry.actor_roles,
        dest=dest,
        approvers=approvers,
        data={c.field: c.after for c in entry.changes},
        evidence=entry.evidence,
        reason=entry.reason,
        reason_code=entry.reason_code,
        overridden_by=details.get("overridden_by"),
        overridden_roles=roles.split(",") if roles else (),
    )
    after = attrs.evolve(
        case, revision=case.revision + 1, approvals=case.approvals.merged({kind: pending})
    )
    if entry.timer is None:
        return after
    return _timed(catalog.workflow(case.workflow, case.version), catalog, case, after, entry)


def _unwaited(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:
    kind = entry.details.get("approval_kind", entry.event)
    if kind not in case.approvals:
        raise ReplayError(case.id, entry.seq, f"a decision on {kind}, which is not waiting")
    if entry.kind is EntryKind.APPROVAL_REJECTED:
        pending = case.approvals[kind]
        wf = catalog.workflow(case.workflow, case.version)
        _enough(wf, case, entry, pending, len(pending.rejected_by) + 1, "rejections")
    return attrs.evolve(case, revision=case.revision + 1, approvals=case.approvals.without(kind))


def _recorded(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    return attrs.evolve(
        case,
        revision=case.revision + 1,
        data=case.data.merged({c.field: c.after for c in entry.changes}),
        evidence=case.evidence.merged(entry.evidence),
    )


def _assigned(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    unit = entry.details.get("unit", case.unit) or None
    return attrs.evolve(case, revision=case.revision + 1, assignee=entry.assignee, unit=unit)


def _sent(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    details = entry.details
    hid = details.get("handover", "")
    if not hid or hid in case.handovers:
        raise ReplayError(case.id, entry.seq, f"a handover with no new id ({hid or 'none'})")
    try:
        handover = Handover(
            id=hid,
            kind=details.get("handover_kind", entry.event),
            status=HandoverStatus.IN_PROGRESS,
            sent_by=entry.actor_id,
            sent_at=entry.at,
            seq=entry.seq,
            from_unit=details.get("from_unit") or None,
            to_unit=details.get("to_unit"),
            to_worker=details.get("to_worker"),
            reason=entry.reason,
            service=details.get("service"),
            evidence=entry.evidence,
            overridden_by=details.get("overridden_by"),
        )
    except ValueError:
        raise ReplayError(
            case.id, entry.seq, f"a handover of no known kind ({entry.event})"
        ) from None
    return attrs.evolve(
        case,
        revision=case.revision + 1,
        evidence=case.evidence.merged(entry.evidence),
        handovers=case.handovers.merged({hid: handover}),
    )


def _answered(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    details = entry.details
    h = case.handovers.get(details.get("handover", ""))
    if h is None or not h.open:
        raise ReplayError(case.id, entry.seq, "an answer to a handover that is not open")
    try:
        status = HandoverStatus(details.get("status", ""))
    except ValueError:
        raise ReplayError(case.id, entry.seq, "an answer with no known status") from None
    answered = attrs.evolve(h, status=status, answered_by=entry.actor_id, answered_at=entry.at)
    after = attrs.evolve(
        case,
        revision=case.revision + 1,
        evidence=case.evidence.merged(entry.evidence),
        handovers=case.handovers.merged({h.id: answered}),
    )
    if status is HandoverStatus.ACCEPTED and h.kind is not HandoverKind.REFERRAL:
        return attrs.evolve(after, unit=h.to_unit, assignee=entry.assignee or None)
    return after


def _linked(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    details = entry.details
    try:
        link = Link(
            kind=details["link_kind"],
            other=details["other"],
            side=details["side"],
            other_opened_at=datetime.fromisoformat(details["other_opened_at"]),
            at=entry.at,
            seq=entry.seq,
            type=details.get("link_type", LinkType.RE_ENTRY),
            on_close=details.get("on_close", Closing.LEAVE),
            handover=details.get("handover"),
        )
    except (KeyError, ValueError):
        raise ReplayError(
            case.id, entry.seq, "a link that names no kind, case, side or type"
        ) from None
    if any(k.kind == link.kind and k.other == link.other for k in case.links):
        raise ReplayError(case.id, entry.seq, f"a second {link.kind} link to {link.other}")
    return attrs.evolve(case, revision=case.revision + 1, links=(*case.links, link))


def _viewed(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    return case


def _erased(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:  # noqa: ARG001 - one shape for every kind
    if case.erased_at is not None:
        raise ReplayError(case.id, entry.seq, "a second erasure")
    return attrs.evolve(case, revision=case.revision + 1, erased_at=entry.at)


def _migrated(catalog: Catalog, case: Case, entry: AuditEntry) -> Case:
    try:
        new = catalog.workflow(entry.workflow, entry.workflow_version)
    except UnknownWorkflow:
        raise ReplayError(
            case.id, entry.seq,
            f"the case moved to {entry.workflow} v{entry.workflow_version}; pass that version too",
        ) from None  # fmt: skip
    if new.name != case.workflow:
        raise ReplayError(case.id, entry.seq, f"a migration to another workflow, {new.name}")
    if not new.has_state(entry.to_state):
        raise ReplayError(case.id, entry.seq, f"v{new.version} has no state {entry.to_state}")
    return migrated(case, entry, new, catalog.calendar)


_Evolve = Callable[[Catalog, Case, AuditEntry], Case]
_BY_KIND: Final[dict[EntryKind, _Evolve]] = {
    EntryKind.TRANSITION: _transition,
    EntryKind.REFUSED: _refused,
    EntryKind.APPROVAL_REQUESTED: _requested,
    EntryKind.APPROVAL_REJECTED: _unwaited,
    EntryKind.APPROVAL_CANCELLED: _unwaited,
    EntryKind.RECORDED: _recorded,
    EntryKind.ASSIGNED: _assigned,
    EntryKind.HANDOVER_SENT: _sent,
    EntryKind.HANDOVER_ANSWERED: _answered,
    EntryKind.VIEWED: _viewed,
    EntryKind.MIGRATED: _migrated,
    EntryKind.APPROVAL_VOTED: _voted,
    EntryKind.LINKED: _linked,
    EntryKind.ERASED: _erased,
}
_MOVES: Final = frozenset({EntryKind.TRANSITION, EntryKind.MIGRATED})


def evolve(case: Case | None, entry: AuditEntry, *, catalog: Catalog) -> Case:
    """Return the case after ``entry``: the only way a case ever changes.

    ``case`` is None for the opening entry. Pure: the workflow versions and the
    calendar come from ``catalog``.

    Raises:
        ReplayError: if the entry does not fit the case (a second opening, a step the
            workflow does not define from the case's state, a state change claimed by
            an entry that cannot change state, an answer to nothing pending).
    """
    if case is None:
        if entry.kind is not EntryKind.OPENED:
            raise ReplayError(entry.case_id, entry.seq, "the trail does not start with the opening")
        return _opened(catalog, entry)
    if entry.kind is EntryKind.OPENED:
        raise ReplayError(case.id, entry.seq, "a second opening")
    if entry.from_state != case.state:
        raise ReplayError(
            case.id, entry.seq, f"it leaves {entry.from_state}, but the case was in {case.state}"
        )
    if entry.kind not in _MOVES and entry.to_state != case.state:
        raise ReplayError(case.id, entry.seq, f"a {entry.kind} entry that claims the state changed")
    return _BY_KIND[entry.kind](catalog, case, entry)


def fold(case: Case | None, entries: Iterable[AuditEntry], *, catalog: Catalog) -> Case:
    """`evolve` over ``entries`` in order, from ``case`` (None: from the opening)."""
    out = case
    for entry in entries:
        out = evolve(out, entry, catalog=catalog)
    if out is None:
        raise ReplayError(None, 1, "there is no entry to build a case from")
    return out
