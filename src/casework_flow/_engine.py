"""The engine: the only way a case is opened or moved.

It holds workflows (several, each in several versions, each compiled once) and a store.
Every call reads the case, decides with the pure core, builds the audit entry, and
commits case and entry in one atomic store write. Listeners run after the commit.
"""

from __future__ import annotations

import difflib
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
from attrs import frozen

from ._audit import (
    AuditEntry,
    ChainHead,
    Change,
    EntryKind,
    Verification,
    build_entry,
    genesis_hash,
    verify,
)
from ._calendar import DEFAULT_CALENDAR, Calendar
from ._case import Actor, Case, CaseView, Pending
from ._clock import Clock, system_clock, to_utc
from ._decide import CompiledWorkflow, Decision
from ._definition import Workflow
from ._due import Due, OverdueReport, RunReport, find_due, moment, overdue_report, run_timers
from ._export import MASK, read_jsonl
from ._frozen import EMPTY, FrozenMap, adopt, freeze
from ._guards import GuardContext
from ._migration import MigrationPlan, MigrationReport, moved, plan_case
from ._operations import (
    approval_checks,
    approval_details,
    assigned,
    consider_override,
    record_roles,
    recorded,
    refusal,
    refused_entry,
    rejected,
    requested,
    transfer_answered,
    transfer_checks,
    transfer_requested,
)
from ._replay import replay
from ._step import apply_decision
from ._timing import retime
from ._verdict import CheckKind, Verdict
from .exceptions import (
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    ListenerFailed,
    TransitionRejected,
    UnknownEvent,
    UnknownWorkflow,
    WorkflowError,
)
from .stores import InMemoryStore, Query, Snapshot, Store
from .stores._protocol import DEFAULT_LEASE

__all__ = ["Committed", "Engine"]

OPEN_EVENT: Final = "open"
_RECORD_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SYSTEM_ACTOR: Final = Actor("system", {"system"})
_MAX_ID: Final = 200
_SUPPLIED: Final = frozenset({CheckKind.DATA, CheckKind.REASON})


@frozen
class Committed:
    """What a listener receives after a case was opened or moved.

    Attributes:
        before: The case before (None for an opening).
        after: The case as committed.
        entry: The audit entry committed with it.
    """

    before: Case | None
    after: Case
    entry: AuditEntry


Listener = Callable[[Committed], object]


class Engine:
    """Opens and moves cases through their workflows, recording every step.

    Args:
        workflows: Workflows to register now (more with `register`).
        store: Where cases live; a new `InMemoryStore` by default.
        clock: Where time comes from; UTC now by default.
        record_refusals: Whether refused attempts are appended to the trail.
        calendar: Working days and holidays for working-day deadlines and timers
            (Monday to Friday in UTC by default).
        system_actor: Who fires timers (``system`` with the role ``system``).

    >>> from casework_flow import Actor, State, Transition, Workflow
    >>> wf = Workflow(
    ...     name="demo", version=1, initial="open_",
    ...     states=[State("open_"), State("done", terminal=True)],
    ...     transitions=[Transition("close", source="open_", dest="done", roles={"supervisor"})],
    ... )
    >>> engine = Engine([wf])
    >>> case = engine.open("demo", "C-1", actor=Actor("sw-1", {"social_worker"}))
    >>> engine.fire("C-1", "close", actor=Actor("spv-1", {"supervisor"}))
    <Case C-1 done rev=2>
    """

    __slots__ = (
        "_calendar",
        "_clock",
        "_compiled",
        "_latest",
        "_listeners",
        "_record_refusals",
        "_store",
        "_system",
    )

    def __init__(
        self,
        workflows: Iterable[Workflow] = (),
        *,
        store: Store | None = None,
        clock: Clock = system_clock,
        record_refusals: bool = True,
        calendar: Calendar = DEFAULT_CALENDAR,
        system_actor: Actor = SYSTEM_ACTOR,
    ) -> None:
        if not isinstance(calendar, Calendar):
            raise InvalidInput("calendar", f"expected a Calendar, got {type(calendar).__name__}")
        _actor(system_actor)
        self._store: Store = store if store is not None else InMemoryStore()
        self._clock = clock
        self._record_refusals = record_refusals
        self._calendar = calendar
        self._system = system_actor
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        self._latest: dict[str, int] = {}
        self._listeners: list[Listener] = []
        for wf in workflows:
            self.register(wf)

    def __repr__(self) -> str:
        return f"<Engine workflows={len(self._compiled)} store={self._store!r}>"

    @property
    def store(self) -> Store:
        """The store cases live in."""
        return self._store

    @property
    def calendar(self) -> Calendar:
        """The working-day calendar deadlines and timers count on."""
        return self._calendar

    @property
    def system_actor(self) -> Actor:
        """Who fires timers."""
        return self._system

    # --- workflows ----------------------------------------------------------------

    def register(self, workflow: Workflow) -> None:
        """Register (and compile) a workflow version.

        Raises:
            WorkflowError: if a different definition is registered under the same name
                and version; registering the same one again does nothing.
        """
        if not isinstance(workflow, Workflow):
            raise InvalidInput("workflow", f"expected a Workflow, got {type(workflow).__name__}")
        known = self._compiled.get(workflow.key)
        if known is not None:
            if known.workflow != workflow:
                problem = (
                    f"version {workflow.version} is already registered with another"
                    " definition; give changes a new version"
                )
                raise WorkflowError(workflow.name, [problem])
            return
        self._compiled[workflow.key] = CompiledWorkflow(workflow)
        self._latest[workflow.name] = max(workflow.version, self._latest.get(workflow.name, 0))

    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """Return a registered workflow; the latest version unless one is given.

        Raises:
            UnknownWorkflow: if no such name or version is registered.
        """
        return self._compiled_for(name, version).workflow

    def _compiled_for(self, name: str, version: int | None) -> CompiledWorkflow:
        v = self._latest.get(name) if version is None else version
        compiled = self._compiled.get((name, v)) if v is not None else None
        if compiled is None:
            raise UnknownWorkflow(name, version, sorted(self._compiled))
        return compiled

    # --- listeners ----------------------------------------------------------------

    def on_commit(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(Committed)`` after every opening and committed transition.

        Listeners run in registration order, after the store committed; one that raises
        does not undo the step (see `ListenerFailed`).

        Returns:
            A function that unregisters the listener.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, committed: Committed) -> None:
        errors: list[BaseException] = []
        for listener in tuple(self._listeners):
            try:
                listener(committed)
            except Exception as exc:  # noqa: BLE001 - every listener runs; errors are returned
                errors.append(exc)
        if errors:
            raise ListenerFailed(committed.after, errors)

    # --- reading ------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        """Return the case at its latest revision.

        Raises:
            UnknownCase: if there is no such case.
        """
        return self._store.load(_case_id(case_id)).case

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's audit trail, oldest first."""
        return self._store.trail(_case_id(case_id))

    def verify(self, case_id: str) -> Verification:
        """Verify the stored trail of a case against the head the store reports."""
        snap = self._store.load(_case_id(case_id))
        return verify(self._store.trail(case_id), head=snap.head)

    def import_trail(
        self, lines: Iterable[str | bytes], *, head: ChainHead | None = None, source: str = "input"
    ) -> Case:
        """Import a case from a full JSON Lines export, verified first, in one transaction.

        The trail's chain is verified (against ``head`` if given), the case is rebuilt
        by replaying it on its registered workflow version, and case and trail are
        created together.

        Raises:
            TrailBroken: naming the line or entry that is unreadable, masked or broken;
                nothing is written.
            ReplayError: if the trail does not fit its workflow.
            UnknownWorkflow: if its workflow version is not registered.
            CaseExists: if the store already holds the case.
        """
        entries = read_jsonl(lines, head=head, source=source)
        first = entries[0]
        workflow = self.workflow(first.workflow, first.workflow_version)
        case = replay(self._versions(workflow.name), entries, head=head, calendar=self._calendar)
        self._store.create(case, entries)
        return case

    # --- opening ------------------------------------------------------------------

    def open(
        self,
        workflow: str,
        case_id: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        assignee: str | None = None,
        version: int | None = None,
        unit: str | None = None,
    ) -> Case:
        """Open a case in the workflow's initial state.

        Args:
            workflow: The workflow's name.
            case_id: The host's id for the case (``MDN-2024-0173``).
            actor: Who opens it.
            data: Facts known at intake.
            evidence: Documents on file at intake: kind → reference.
            assignee: The worker who owns the case.
            version: The workflow version; the latest registered by default.
            unit: The unit or organisation that owns the case.

        Raises:
            CaseExists: if the id is taken.
            UnknownWorkflow: if the workflow is not registered.
            InvalidInput: if an argument cannot be used.
        """
        case_id = _case_id(case_id)
        _actor(actor)
        wf = self._compiled_for(workflow, version).workflow
        frozen_data: FrozenMap[Any] = freeze(data or {}, "data")
        docs = _evidence(evidence)
        if assignee is not None and not (isinstance(assignee, str) and assignee):
            raise InvalidInput("assignee", "must be a non-empty string or None")
        if unit is not None and not (isinstance(unit, str) and unit.strip()):
            raise InvalidInput("unit", "must be a non-empty string or None")
        now = self._now()
        case = Case(
            id=case_id,
            workflow=wf.name,
            version=wf.version,
            state=wf.initial,
            data=frozen_data,
            evidence=docs,
            revision=1,
            opened_at=now,
            state_entered_at=now,
            assignee=assignee,
            unit=unit,
        )
        case = retime(wf, self._calendar, None, case, now)
        entry = build_entry(
            case_id=case_id,
            seq=1,
            kind=EntryKind.OPENED,
            at=now,
            actor=actor,
            event=OPEN_EVENT,
            from_state=None,
            to_state=wf.initial,
            workflow=wf.name,
            workflow_version=wf.version,
            prev_hash=genesis_hash(case_id),
            assignee=assignee,
            changes=[Change(k, v) for k, v in sorted(frozen_data.items())],
            evidence=docs,
            details={"unit": unit} if unit else EMPTY,
        )
        self._store.create(case, [entry])
        if self._listeners:
            self._notify(Committed(None, case, entry))
        return case

    # --- firing -------------------------------------------------------------------

    def can_fire(
        self,
        case_id: str,
        event: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        reason: str | None = None,
        reason_code: str | None = None,
    ) -> Decision:
        """Decide whether ``event`` would fire now, changing nothing.

        Returns:
            A `Decision`; when not allowed, ``reasons`` lists every failed check at once.
        """
        snap = self._store.load(_case_id(case_id))
        compiled, ctx = self._context(
            snap, event=event, actor=actor, data=data, evidence=evidence, reason_code=reason_code
        )
        return compiled.decide(ctx, _reason(reason))

    def available_events(self, case_id: str, actor: Actor) -> tuple[str, ...]:
        """List the events this actor could fire now, in declaration order.

        An event is listed when its role and guard checks pass on the case as it is;
        what the actor supplies with the step (required data, a reason, new evidence)
        is not asked for here, so fire may still refuse for lack of it.
        """
        snap = self._store.load(_case_id(case_id))
        compiled = self._compiled_for(snap.case.workflow, snap.case.version)
        wf = compiled.workflow
        out = []
        for event in wf.events:
            candidates = wf.candidates(snap.case.state, event)
            if not candidates:
                continue
            _, ctx = self._context(
                snap, event=event, actor=actor, data=None, evidence=None, reason_code=None
            )
            decision = compiled.decide(ctx, "(reason to be given)")
            if decision.allowed or all(r.kind in _SUPPLIED for r in decision.reasons):
                out.append(event)
        return tuple(out)

    def fire(
        self,
        case_id: str,
        event: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        reason: str | None = None,
        reason_code: str | None = None,
        expected_revision: int | None = None,
        override_by: Actor | None = None,
    ) -> Case:
        """Fire ``event`` on the case: move it, or refuse and change nothing.

        Args:
            case_id: The case.
            event: The event's name.
            actor: Who acts.
            data: Facts recorded with this step (merged into the case's data).
            evidence: Documents supplied with this step: kind → reference.
            reason: A written reason.
            reason_code: A code from the transition's list.
            expected_revision: The revision the caller's decision was based on; if the
                case has moved past it, nothing is written.
            override_by: A senior second actor overriding missing consent, where the
                transition declares a `ConsentOverride` (``reason_code`` and ``reason``
                are then required, and the entry names who overrode what).

        Returns:
            The case at its new revision. For a transition that needs approval, the
            case stays where it is with the request pending (``case.pending``) until
            `approve` or `reject`.

        Raises:
            TransitionRejected: with every failed check; the case is unchanged (the
                refusal is appended to the trail unless the engine was told not to).
            ConcurrentModification: the case changed since ``expected_revision`` or
                while this step was decided; nothing was written.
            UnknownCase, UnknownEvent, InvalidInput: for input that cannot be used.
            ListenerFailed: the step was committed but a listener raised.
        """
        return self._step(
            case_id, event, actor, data, evidence, reason, reason_code, expected_revision,
            override_by=override_by,
        )  # fmt: skip

    def _step(  # noqa: PLR0917 - the hot path takes its arguments by position
        self,
        case_id: str,
        event: str,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        reason: str | None = None,
        reason_code: str | None = None,
        expected_revision: int | None = None,
        *,
        timer: str | None = None,
        now: datetime | None = None,
        override_by: Actor | None = None,
    ) -> Case:
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        if expected_revision is not None and expected_revision != case.revision:
            raise ConcurrentModification(case.id, expected_revision, case.revision)
        if reason is not None:
            reason = _reason(reason)
        compiled, ctx = self._context(snap, event, actor, data, evidence, reason_code, now)
        details: dict[str, str] = {}
        if case.pending is not None:
            decision = _waiting(ctx, case.pending)
        else:
            decision = compiled.decide(ctx, reason)
            if not decision.allowed and override_by is not None:
                _actor(override_by)
                decision, details = consider_override(
                    compiled.workflow, ctx, reason, decision, override_by
                )
        transition = decision.transition
        if transition is not None and transition.approval is not None and timer is None:
            new_case, committed = requested(case, snap.head, ctx, decision, reason, details=details)
            return self._commit(case, new_case, committed)
        new_case, committed = apply_decision(
            case,
            snap.head,
            ctx,
            decision,
            reason,
            workflow=compiled.workflow,
            calendar=self._calendar,
            timer=timer,
            details=details,
        )
        if not decision.allowed:
            if self._record_refusals or timer is not None:
                self._store.commit(new_case, [committed], expected_revision=case.revision)
            raise TransitionRejected(case.id, event, case.state, decision.reasons)
        return self._commit(case, new_case, committed)

    def _commit(self, case: Case, new_case: Case, entry: AuditEntry) -> Case:
        self._store.commit(new_case, [entry], expected_revision=case.revision)
        if self._listeners:
            self._notify(Committed(case, new_case, entry))
        return new_case

    def fire_retrying(
        self,
        case_id: str,
        event: str,
        *,
        actor: Actor,
        attempts: int = 5,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        reason: str | None = None,
        reason_code: str | None = None,
    ) -> Case:
        """Fire, and when another writer got there first, re-read, re-check and fire again.

        Each attempt reads the case afresh and evaluates every guard again, so a step
        that is no longer allowed after the other writer's change is refused rather than
        forced through. A `StoreError` is not retried: whether a commit interrupted by a
        lost connection landed is for the caller to find out (``get`` the case) before
        deciding to fire again.

        Raises:
            ConcurrentModification: if every attempt lost a race.
            TransitionRejected: as `fire`.
        """
        if not isinstance(attempts, int) or attempts < 1:
            raise InvalidInput("attempts", "must be a positive integer")
        for attempt in range(1, attempts + 1):
            try:
                return self.fire(
                    case_id,
                    event,
                    actor=actor,
                    data=data,
                    evidence=evidence,
                    reason=reason,
                    reason_code=reason_code,
                )
            except ConcurrentModification:
                if attempt == attempts:
                    raise
                time.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 - jitter only
        raise AssertionError  # pragma: no cover - the loop returns or raises

    # --- approvals, records, assignment -------------------------------------------

    def approve(self, case_id: str, *, actor: Actor, note: str | None = None) -> Case:
        """Approve the case's pending request: the transition happens now.

        The approver must hold one of the approving roles and must not be the requester.
        Every check of the transition runs again, as of now, with what was requested.
        The entry is by the approver and names the requester and the request's entry.

        Raises:
            TransitionRejected: for a self-approval, a missing role, nothing pending, or
                checks that no longer pass; the refusal is recorded.
        """
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        _actor(actor)
        compiled = self._compiled_for(case.workflow, case.version)
        now = self._now()
        problems = approval_checks(case, actor, deciding="approve")
        pending = case.pending
        if problems or pending is None:
            return self._refuse_approval(snap, actor, problems, now)
        requester = Actor(pending.requested_by, pending.requested_roles)
        _, ctx = self._context(
            snap,
            event=pending.event,
            actor=requester,
            data=pending.data,
            evidence=pending.evidence,
            reason_code=pending.reason_code,
            now=now,
        )
        decision = compiled.decide(ctx, pending.reason)
        if not decision.allowed or decision.dest != pending.dest:
            return self._refuse_approval(snap, actor, list(decision.reasons), now)
        ctx = GuardContext(
            case=ctx.case,
            actor=actor,
            event=ctx.event,
            payload=ctx.payload,
            evidence=ctx.supplied_evidence,
            now=now,
            reason_code=ctx.reason_code,
            history=lambda: (),
        )
        new_case, entry = apply_decision(
            case,
            snap.head,
            ctx,
            decision,
            pending.reason,
            workflow=compiled.workflow,
            calendar=self._calendar,
            details=approval_details(pending, _reason(note)),
        )
        return self._commit(case, new_case, entry)

    def reject(self, case_id: str, *, actor: Actor, reason: str) -> Case:
        """Reject the case's pending request, with a reason; the case stays where it was.

        Raises:
            TransitionRejected: for a rejection by the requester, a missing role,
                nothing pending, or no reason; the refusal is recorded.
        """
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        _actor(actor)
        now = self._now()
        why = _reason(reason)
        problems = approval_checks(case, actor, deciding="reject")
        if not (why and why.strip()):
            problems.append(
                refusal("reason", kind=CheckKind.REASON, why="a rejection needs a written reason")
            )
        if problems:
            return self._refuse_approval(snap, actor, problems, now)
        assert why is not None  # noqa: S101 - checked just above
        new_case, entry = rejected(case, snap.head, actor, now, why)
        return self._commit(case, new_case, entry)

    def _refuse_approval(
        self, snap: Snapshot, actor: Actor, problems: Sequence[Verdict], now: datetime
    ) -> Case:
        case = snap.case
        event = case.pending.event if case.pending is not None else "approve"
        entry = refused_entry(
            case, snap.head, actor=actor, event=event, at=now, verdicts=problems,
            details={"decision": "approval refused"},
        )  # fmt: skip
        if self._record_refusals:
            self._store.commit(case, [entry], expected_revision=case.revision)
        raise TransitionRejected(case.id, event, case.state, problems)

    def record(
        self,
        case_id: str,
        what: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> Case:
        """Record an observation, a document or a contact without moving the case.

        ``what`` names the record (``home_visit_observation``); it becomes the entry's
        event. The actor needs one of the workflow's ``record_roles`` (by default, any
        role some transition names). Nothing can be recorded on a closed case.

        Raises:
            TransitionRejected: for a missing role or a closed case; recorded.
            InvalidInput: for a bad name, data or documents.
        """
        if not isinstance(what, str) or not _RECORD_NAME.match(what):
            raise InvalidInput("what", f"{what!r} must be an identifier like home_visit")
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        _actor(actor)
        wf = self._compiled_for(case.workflow, case.version).workflow
        payload: FrozenMap[Any] = freeze(data, "data") if data else EMPTY
        docs = _evidence(evidence)
        now = self._now()
        problems = []
        allowed = record_roles(wf)
        if allowed and allowed.isdisjoint(actor.roles):
            needed = " or ".join(sorted(allowed))
            why = f"{actor.id} acts as {', '.join(actor.sorted_roles) or 'no role'};"
            problems.append(
                refusal("role", kind=CheckKind.ROLE, why=f"{why} recording needs {needed}")
            )
        if wf.state(case.state).terminal:
            why = f"the case is closed ({case.state}); reopen it to record more"
            problems.append(refusal("state", kind=CheckKind.STATE, why=why))
        if problems:
            entry = refused_entry(
                case, snap.head, actor=actor, event=what, at=now, verdicts=problems
            )
            if self._record_refusals:
                self._store.commit(case, [entry], expected_revision=case.revision)
            raise TransitionRejected(case.id, what, case.state, problems)
        new_case, entry = recorded(
            case, snap.head, what=what, actor=actor, at=now, data=payload, evidence=docs,
            reason=_reason(reason),
        )  # fmt: skip
        return self._commit(case, new_case, entry)

    def assign(
        self, case_id: str, assignee: str, *, actor: Actor, reason: str | None = None
    ) -> Case:
        """Give the case to another worker (the actor needs one of ``assign_roles``).

        Raises:
            TransitionRejected: when the actor may not assign; recorded.
        """
        snap = self._store.load(_case_id(case_id))
        new_case, entry = self._assignment(snap, assignee, actor, reason, self._now())
        return self._commit(snap.case, new_case, entry)

    def reassign(
        self,
        from_assignee: str,
        to_assignee: str,
        *,
        actor: Actor,
        reason: str,
        query: Query | None = None,
    ) -> tuple[Case, ...]:
        """Move every case of one worker to another, all or nothing (a worker leaves).

        Each case's trail records its reassignment. ``query`` narrows the cases
        (workflow, state...). If any case may not be reassigned by ``actor``, or any
        changes while this runs, nothing is written.

        Raises:
            TransitionRejected: naming the first case the actor may not reassign.
            ConcurrentModification: a case changed meanwhile; nothing was written.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("reason", "a bulk reassignment needs a written reason")
        q = attrs.evolve(query or Query(), assignee=from_assignee)
        now = self._now()
        moves = []
        after = None
        while True:
            page = self._store.find(q, limit=500, after=after)
            for case in page.cases:
                snap = self._store.load(case.id)
                new_case, entry = self._assignment(snap, to_assignee, actor, reason, now)
                moves.append((new_case, (entry,), snap.case.revision))
            if page.cursor is None:
                break
            after = page.cursor
        self._store.commit_many(moves)
        return tuple(new for new, _, _ in moves)

    def transfer(
        self,
        case_id: str,
        to_unit: str,
        *,
        actor: Actor,
        reason: str,
        to_assignee: str | None = None,
    ) -> Case:
        """Ask another unit or organisation to take the case (the shelter unit, say).

        The case stays with its unit until someone of the receiving unit accepts
        (`accept_transfer`) or refuses (`refuse_transfer`). The actor needs one of the
        workflow's ``transfer_roles``; a reason is required.

        Raises:
            TransitionRejected: for a missing role, a transfer already waiting, or a
                transfer to the unit that owns the case.
            InvalidInput: for a missing unit or reason.
        """
        if not isinstance(to_unit, str) or not to_unit.strip():
            raise InvalidInput("to_unit", "must name the receiving unit")
        why = _reason(reason)
        if not (why and why.strip()):
            raise InvalidInput("reason", "a transfer needs a written reason")
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        _actor(actor)
        wf = self._compiled_for(case.workflow, case.version).workflow
        problems = []
        if wf.transfer_roles.isdisjoint(actor.roles):
            needed = " or ".join(sorted(wf.transfer_roles))
            problems.append(refusal("role", f"transferring a case needs {needed}"))
        if case.transfer is not None:
            problems.append(
                refusal("transfer", f"a transfer to {case.transfer.to_unit} is already waiting",
                        CheckKind.STATE)
            )  # fmt: skip
        if to_unit == case.unit:
            problems.append(refusal("unit", f"the case already belongs to {to_unit}"))
        if problems:
            raise TransitionRejected(case.id, "transfer", case.state, problems)
        new_case, entry = transfer_requested(
            case, snap.head, to_unit=to_unit, to_assignee=to_assignee, actor=actor,
            at=self._now(), reason=why,
        )  # fmt: skip
        return self._commit(case, new_case, entry)

    def accept_transfer(
        self,
        case_id: str,
        *,
        actor: Actor,
        assignee: str | None = None,
        reason: str | None = None,
    ) -> Case:
        """Accept a waiting transfer for the receiving unit: the case and its worker move.

        ``assignee`` is the receiving unit's worker (the one proposed by default).

        Raises:
            TransitionRejected: when the actor is not of the receiving unit (or lacks
                one of ``receive_roles``), or no transfer is waiting.
        """
        return self._answer(case_id, actor, accept=True, reason=reason, assignee=assignee)

    def refuse_transfer(self, case_id: str, *, actor: Actor, reason: str) -> Case:
        """Refuse a waiting transfer for the receiving unit, with a reason; nothing moves.

        Raises:
            TransitionRejected: as `accept_transfer`, or when no reason is given.
        """
        return self._answer(case_id, actor, accept=False, reason=reason, assignee=None)

    def _answer(
        self,
        case_id: str,
        actor: Actor,
        *,
        accept: bool,
        reason: str | None,
        assignee: str | None,
    ) -> Case:
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        _actor(actor)
        wf = self._compiled_for(case.workflow, case.version).workflow
        problems = transfer_checks(case, actor, wf)
        why = _reason(reason)
        if not accept and not (why and why.strip()):
            problems.append(refusal("reason", "a refusal needs a written reason", CheckKind.REASON))
        if problems:
            raise TransitionRejected(case.id, "transfer", case.state, problems)
        new_case, entry = transfer_answered(
            case, snap.head, accept=accept, actor=actor, at=self._now(), reason=why,
            assignee=assignee,
        )  # fmt: skip
        return self._commit(case, new_case, entry)

    def read(self, case_id: str, *, actor: Actor, purpose: str | None = None) -> CaseView:
        """Read a case as ``actor`` may see it: the audited way to show personal data.

        Personal fields (``workflow.personal``) are masked unless the workflow names no
        ``personal_roles`` or the actor holds one. When the workflow sets
        ``log_personal_reads``, every read that shows personal fields appends a
        ``viewed`` entry naming the reader, the fields and the ``purpose``; the case
        itself does not change. (`get` stays the host's unaudited accessor.)
        """
        snap = self._store.load(_case_id(case_id))
        case = snap.case
        _actor(actor)
        wf = self._compiled_for(case.workflow, case.version).workflow
        present = sorted(k for k in wf.personal if k in case.data)
        allowed = not wf.personal_roles or not wf.personal_roles.isdisjoint(actor.roles)
        if not allowed:
            masked = case.data.merged(dict.fromkeys(present, MASK))
            return CaseView(attrs.evolve(case, data=masked), tuple(present), ())
        if present and wf.log_personal_reads:
            details = {"fields": ",".join(present)}
            if purpose:
                details["purpose"] = purpose
            entry = build_entry(
                case_id=case.id, seq=snap.head.seq + 1, kind=EntryKind.VIEWED,
                at=self._now(), actor=actor, event="read", from_state=case.state,
                to_state=case.state, workflow=case.workflow, workflow_version=case.version,
                prev_hash=snap.head.hash, assignee=case.assignee, details=details,
            )  # fmt: skip
            self._store.commit(case, [entry], expected_revision=case.revision)
        return CaseView(case, (), tuple(present))

    def plan_migration(
        self,
        workflow: str,
        from_version: int,
        to_version: int,
        state_map: Mapping[str, str] | None = None,
    ) -> MigrationPlan:
        """Dry-run moving every stored case of ``workflow`` v``from_version`` to ``to_version``.

        ``state_map`` maps old state ids to new ones; a state it leaves out keeps its
        id. Each case gets where it would go and what blocks it: a state with no
        mapping, data the new version requires in the target state (fields its
        transitions into that state require), a closed case mapped to an open state or
        the reverse, a pending approval or transfer. Nothing is written.

        Raises:
            UnknownWorkflow: if either version is not registered.
        """
        old = self.workflow(workflow, from_version)
        new = self.workflow(workflow, to_version)
        mapping = dict(state_map or {})
        items = []
        after = None
        while True:
            page = self._store.find(Query(workflow=workflow, version=from_version), after=after)
            items += [plan_case(c, old, new, mapping) for c in page.cases]
            if page.cursor is None:
                break
            after = page.cursor
        return MigrationPlan(workflow, from_version, to_version, mapping, tuple(items))

    def migrate(
        self, plan: MigrationPlan, *, actor: Actor, reason: str | None = None, batch: int = 100
    ) -> MigrationReport:
        """Apply a plan: each movable case moves to the new version in its own commit.

        Cases are taken ``batch`` at a time. A case that changed since the plan is
        planned again and moved only if still unblocked; a case that is blocked, or
        whose commit fails, stays untouched on its old version and is reported. Each
        move appends a ``migrated`` entry; the trail before it is never changed.
        Deadlines and timers carry over to the new version's definitions.
        """
        _actor(actor)
        if not isinstance(batch, int) or batch < 1:
            raise InvalidInput("batch", "must be a positive integer")
        old = self.workflow(plan.workflow, plan.from_version)
        new = self.workflow(plan.workflow, plan.to_version)
        done: list[str] = []
        skipped = list(plan.blocked)
        failed: list[tuple[str, str]] = []
        movable = plan.movable
        for start in range(0, len(movable), batch):
            for item in movable[start : start + batch]:
                try:
                    snap = self._store.load(item.case_id)
                    fresh = plan_case(snap.case, old, new, plan.state_map)
                    if snap.case.version != plan.from_version or not fresh.ok:
                        skipped.append(fresh)
                        continue
                    assert fresh.to_state is not None  # noqa: S101 - ok means mapped
                    case, entry = moved(
                        snap.case, snap.head, new, fresh.to_state, actor=actor,
                        at=self._now(), calendar=self._calendar, reason=_reason(reason),
                    )  # fmt: skip
                    self._commit(snap.case, case, entry)
                    done.append(item.case_id)
                except CaseworkError as exc:
                    failed.append((item.case_id, str(exc)))
        return MigrationReport(tuple(done), tuple(skipped), tuple(failed))

    def _versions(self, name: str) -> list[Workflow]:
        return [c.workflow for (n, _), c in self._compiled.items() if n == name]

    def _assignment(
        self, snap: Snapshot, assignee: str, actor: Actor, reason: str | None, now: datetime
    ) -> tuple[Case, AuditEntry]:
        case = snap.case
        _actor(actor)
        if not isinstance(assignee, str) or not assignee.strip():
            raise InvalidInput("assignee", "must be a worker id")
        wf = self._compiled_for(case.workflow, case.version).workflow
        if wf.assign_roles.isdisjoint(actor.roles):
            needed = " or ".join(sorted(wf.assign_roles))
            held = ", ".join(actor.sorted_roles) or "no role"
            why = f"{actor.id} acts as {held}; assigning cases needs {needed}"
            raise TransitionRejected(
                case.id, "assign", case.state, (refusal("role", kind=CheckKind.ROLE, why=why),)
            )
        return assigned(
            case, snap.head, assignee=assignee, actor=actor, at=now, reason=_reason(reason)
        )

    # --- time ---------------------------------------------------------------------

    def due(self, now: datetime | None = None, *, limit: int | None = None) -> Due:
        """List the timers due and the deadlines passed at ``now`` (the clock's time).

        Both come from the store's indexes (``timers_due`` and ``due_before``), never
        from a scan of every case. ``limit`` caps each list.
        """
        return find_due(self._store, moment(now, self._clock), limit)

    def run_due(
        self, now: datetime | None = None, *, batch: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> RunReport:
        """Fire every timer due at ``now`` (the clock's time), each exactly once.

        Cases with a due timer are leased from the store in batches (on PostgreSQL with
        ``FOR UPDATE SKIP LOCKED``), so several workers can run at once and share the
        work. Each timer's event is fired as the system actor with every guard checked
        and the timer named in its audit entry; a refusal is recorded too, and either way
        the timer is spent for this stay in the state. A case that moved on in the
        meantime is skipped; when two workers reach the same case, the store's revision
        check lets one of them fire and the other finds nothing left to do. Calling it
        again does nothing until another timer falls due.

        Call it from whatever scheduler the host has (cron, a loop, a task queue).
        """
        return run_timers(
            self._store,
            self._compiled_for,
            self._step,
            self._system,
            moment(now, self._clock),
            batch=batch,
            lease=lease,
        )

    def overdue(self, now: datetime | None = None, *, query: Query | None = None) -> OverdueReport:
        """Report every case past its deadline at ``now``, by state and by assignee.

        ``query`` narrows it (workflow, version, state, assignee). Reporting is all the
        library does about a missed deadline: what follows is for people to decide.
        """
        return overdue_report(self._store, moment(now, self._clock), query)

    # --- helpers ------------------------------------------------------------------

    def _now(self) -> datetime:
        return to_utc(self._clock(), "clock()")

    def _context(  # noqa: PLR0917 - the hot path passes its arguments by position
        self,
        snap: Snapshot,
        event: str,
        actor: Actor,
        data: Mapping[str, Any] | None,
        evidence: Mapping[str, str] | None,
        reason_code: str | None,
        now: datetime | None = None,
    ) -> tuple[CompiledWorkflow, GuardContext]:
        case = snap.case
        _actor(actor)
        compiled = self._compiled_for(case.workflow, case.version)
        if not isinstance(event, str):
            raise InvalidInput("event", f"expected an event name, got {event!r}")
        if not compiled.workflow.has_event(event):
            near = difflib.get_close_matches(event, compiled.workflow.events, n=2)
            raise UnknownEvent(case.id, event, case.workflow, near)
        if reason_code is not None and not isinstance(reason_code, str):
            raise InvalidInput("reason_code", f"expected a string, got {reason_code!r}")
        payload: FrozenMap[Any] = freeze(data, "data") if data else EMPTY
        if payload.__class__ is not FrozenMap:
            raise InvalidInput("data", "must be a mapping of field names to values")
        trail = self._store.trail
        ctx = GuardContext(
            case=case,
            actor=actor,
            event=event,
            payload=payload,
            evidence=_evidence(evidence) if evidence else EMPTY,
            now=self._now() if now is None else now,
            reason_code=reason_code,
            history=lambda: trail(case.id),
        )
        return compiled, ctx


def _waiting(ctx: GuardContext, pending: Pending) -> Decision:
    why = (
        f"{pending.event}, requested by {pending.requested_by}, is waiting for approval;"
        " approve or reject it first"
    )
    verdict = Verdict(kind=CheckKind.STATE, check="pending", passed=False, why=why)
    return Decision(
        event=ctx.event,
        state=ctx.case.state,
        allowed=False,
        transition=None,
        dest=ctx.case.state,
        verdicts=(verdict,),
    )


def _case_id(case_id: object) -> str:
    if not isinstance(case_id, str) or not case_id.strip():
        raise InvalidInput("case_id", f"must be a non-empty string, got {case_id!r}")
    if len(case_id) > _MAX_ID or not case_id.isprintable():
        raise InvalidInput(
            "case_id", f"must be printable and at most {_MAX_ID} characters: {case_id[:40]!r}"
        )
    return case_id


def _actor(actor: object) -> None:
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", f"expected an Actor, got {type(actor).__name__}")
    if not isinstance(actor.id, str) or not actor.id:
        raise InvalidInput("actor", "an actor needs a non-empty id")


def _reason(reason: object) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise InvalidInput("reason", f"expected text, got {type(reason).__name__}")
    return reason


def _evidence(evidence: Mapping[str, str] | None) -> FrozenMap[str]:
    if not evidence:
        return EMPTY
    if type(evidence) is not dict and not isinstance(evidence, Mapping):
        raise InvalidInput("evidence", "must map document kinds to references")
    for kind, ref in evidence.items():
        if not (isinstance(kind, str) and kind and isinstance(ref, str) and ref):
            raise InvalidInput(
                f"evidence.{kind}", "document kind and reference must be non-empty strings"
            )
    return adopt(dict(evidence))
