"""The engine: the only way a case is opened or moved.

It is a thin shell around the pure core: every command checks its input, builds a
command value, and goes through `Shell._run` (load, `decide`, `evolve`, commit,
notify). Opening and firing live here; approvals, records, assignment, transfers and
reads in `_engine_ops`; time, migration and import in `_engine_time`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

from . import _inputs
from ._actions import Action, ActionStatus, actions
from ._audit import AuditEntry
from ._case import Actor, Case
from ._commands import Fire, NewCase, Open
from ._compiled import Decision
from ._decide import open_case
from ._definition import Workflow
from ._engine_audit import Audits
from ._engine_handovers import Handovers
from ._engine_ops import Operations
from ._engine_queues import Queues
from ._engine_time import TimeAndVersions
from ._evolve import evolve
from ._ids import new_case_id
from ._sealing import Sealing
from ._shell import Committed
from ._verdict import CheckKind
from .exceptions import CaseExists, CaseworkError, InvalidInput

__all__ = ["Engine"]

_SUPPLIED: Final = frozenset({CheckKind.DATA, CheckKind.REASON})
_TO_BE_GIVEN: Final = "(reason to be given)"


class Engine(Operations, Handovers, TimeAndVersions, Audits, Queues):
    """Opens and moves cases through their workflows, recording every step.

    Args:
        workflows: Workflows to register now (more with `register`).
        store: Where cases live; a new `InMemoryStore` by default.
        clock: Where time comes from; UTC now by default.
        record_refusals: Whether refused attempts are appended to the trail (a timer's
            refused step always is: it spends the timer).
        calendar: Working days and holidays for working-day deadlines and timers
            (Monday to Friday in UTC by default).
        system_actor: Who fires timers (``system`` with the role ``system``).
        directory: The host's worker directory; when given, assignment, handovers and
            approvals check the people they name through it.
        retries: How many times a command that lost a race with another writer is
            decided again on the case as it now is (never when the caller passed
            ``expected_revision``); its guards are checked afresh each time.
        metrics: Where counters of commits, refusals and conflicts and step durations
            go (a `casework_flow.observe.Metrics`; `casework_flow.contrib.otel` has one).
        check_contracts: Check the workflow's contracts (state invariants, transition
            pre- and postconditions) on every step, and refuse to commit one that
            breaks them with `ContractBroken`; off by default (the testing kit checks
            them always).

    One engine may be shared by the threads of a host; each call reads the case afresh
    and the store's revision check decides between concurrent writers.

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

    __slots__ = ()

    def open(
        self,
        workflow: str,
        case_id: str | None = None,
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
            case_id: The host's id for the case (``MDN-2024-0173``); left out, the
                engine makes one (a ULID: time-ordered, unguessable), read it from
                the case returned.
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
        wf = self._catalog.workflow(workflow, version)
        now = self._now()
        command = Open(
            case_id=new_case_id(now) if case_id is None else _inputs.case_id(case_id),
            workflow=wf.name,
            version=wf.version,
            actor=_inputs.actor(actor),
            data=_inputs.data(data),
            evidence=_inputs.evidence(evidence),
            assignee=_inputs.optional_id(assignee, "assignee"),
            unit=_inputs.optional_id(unit, "unit"),
        )
        started = time.perf_counter()
        entry = self._sealed(wf, open_case(self._catalog, command, now))
        case = evolve(None, entry, catalog=self._catalog)
        try:
            self._store.create(case, [entry])
        except CaseworkError:
            self._forget_key(wf, case.id, entry)
            raise
        case = self._shown(case)
        self._observer.committed(case, "open", time.perf_counter() - started, 1)
        if self._listeners:
            self._notify(Committed(None, case, (entry,)))
        return case

    def _sealed(self, wf: Workflow, entry: AuditEntry) -> AuditEntry:
        """The opening entry with its personal values sealed under a new data key."""
        if self._keys is None or not wf.personal:
            return entry
        if self._keys.data_key(entry.case_id) is not None:
            raise CaseExists(entry.case_id)
        key = self._keys.new_data_key(entry.case_id)
        return Sealing(wf.personal, {entry.case_id: key}).seal_entry(entry)

    def _forget_keys(self, batch: list[tuple[Case, list[AuditEntry]]]) -> None:
        """Destroy the data keys made for a batch of openings that was not stored."""
        for case, entries in batch:
            wf = self._catalog.workflow(case.workflow, case.version)
            self._forget_key(wf, case.id, entries[0])

    def _forget_key(self, wf: Workflow, case_id: str, entry: AuditEntry) -> None:
        """Destroy the data key made for an opening that was not stored."""
        if self._keys is not None and wf.personal and entry.seq == 1:
            self._keys.destroy(case_id)

    def open_many(
        self,
        workflow: str,
        cases: Iterable[NewCase],
        *,
        actor: Actor,
        version: int | None = None,
        batch_size: int = 1000,
    ) -> int:
        """Open many cases (an import from a legacy system), a batch per transaction.

        Each batch is checked whole before anything is written, then stored all or
        nothing; a failing batch leaves the batches before it committed and none after.

        Returns:
            How many cases were opened.

        Raises:
            CaseExists: naming an id that is taken; nothing of its batch is written.
            InvalidInput: naming the case (by id, or by its place) whose input is bad,
                or an id given twice in a batch.
            UnknownWorkflow: if the workflow is not registered.
        """
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidInput("batch_size", f"must be a whole number from 1, got {batch_size!r}")
        wf = self._catalog.workflow(workflow, version)
        who = _inputs.actor(actor)
        opened = 0
        batch: list[tuple[Case, list[AuditEntry]]] = []
        for place, new in enumerate(cases):
            if not isinstance(new, NewCase):
                raise InvalidInput(f"cases[{place}]", f"expected a NewCase, got {new!r}")
            try:
                batch.append(self._opening(wf.name, wf.version, who, new, place))
            except CaseworkError:
                self._forget_keys(batch)
                raise
            if len(batch) == batch_size:
                opened += self._create(batch)
                batch = []
        if batch:
            opened += self._create(batch)
        return opened

    def _opening(
        self, workflow: str, version: int, actor: Actor, new: NewCase, place: int
    ) -> tuple[Case, list[AuditEntry]]:
        try:
            case_id = (
                new_case_id(self._now()) if new.case_id is None else _inputs.case_id(new.case_id)
            )
        except InvalidInput as exc:
            raise InvalidInput(f"cases[{place}]: {exc.field}", exc.problem) from None
        try:
            command = Open(
                case_id=case_id,
                workflow=workflow,
                version=version,
                actor=actor,
                data=_inputs.data(new.data),
                evidence=_inputs.evidence(new.evidence),
                assignee=_inputs.optional_id(new.assignee, "assignee"),
                unit=_inputs.optional_id(new.unit, "unit"),
            )
        except InvalidInput as exc:
            raise InvalidInput(f"{case_id}: {exc.field}", exc.problem) from None
        wf = self._catalog.workflow(workflow, version)
        entry = self._sealed(wf, open_case(self._catalog, command, self._now()))
        return evolve(None, entry, catalog=self._catalog), [entry]

    def _create(self, batch: list[tuple[Case, list[AuditEntry]]]) -> int:
        started = time.perf_counter()
        try:
            self._store.create_many(batch)
        except CaseworkError:
            self._forget_keys(batch)
            raise
        workflow = batch[0][0].workflow if batch else ""
        self._observer.opened_many(workflow, len(batch), time.perf_counter() - started)
        if self._listeners:
            for case, entries in batch:
                self._notify(Committed(None, self._shown(case), tuple(entries)))
        return len(batch)

    def _fire_command(  # noqa: PLR0917 - fire's own arguments, in fire's order
        self,
        event: object,
        actor: Actor,
        data: Mapping[str, Any] | None,
        evidence: Mapping[str, str] | None,
        reason: str | None,
        reason_code: str | None,
        override_by: Actor | None = None,
    ) -> Fire:
        if not isinstance(event, str):
            raise InvalidInput("event", f"expected an event name, got {event!r}")
        if reason_code is not None and not isinstance(reason_code, str):
            raise InvalidInput("reason_code", f"expected a string, got {reason_code!r}")
        return Fire(
            event=event,
            actor=_inputs.actor(actor),
            data=_inputs.data(data),
            evidence=_inputs.evidence(evidence),
            reason=_inputs.reason(reason),
            reason_code=reason_code,
            override_by=None if override_by is None else _inputs.actor(override_by, "override_by"),
        )

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

        It is the very decision `fire` would take: a request waiting for approval
        refuses it here too.

        Returns:
            A `Decision`; when not allowed, ``reasons`` lists every failed check at once.
        """
        command = self._fire_command(event, actor, data, evidence, reason, reason_code)
        result, _ = self._decide(self._load(_inputs.case_id(case_id)), command, self._now())
        assert result.decision is not None  # noqa: S101 - a fire always has a decision
        return result.decision

    def actions(self, case_id: str, *, actor: Actor, locale: str = "en") -> tuple[Action, ...]:
        """Every event the case's state offers, with what it needs or what blocks it.

        One call for a case page: for each event, in declaration order, whether
        ``actor`` can do it now (`ActionStatus.ALLOWED`), can do it by giving the data,
        documents, reason or reason code listed in ``needs`` (`NEEDS_INPUT`), or cannot
        (`BLOCKED`, with every reason), labelled in ``locale``. It is decided as `fire`
        decides, changing nothing.
        """
        snap = self._load(_inputs.case_id(case_id))
        case = snap.case
        wf = self._catalog.workflow(case.workflow, case.version)
        now = self._now()

        def decide(command: Fire) -> Decision:
            decision = self._decide(snap, command, now)[0].decision
            assert decision is not None  # noqa: S101 - a fire always has a decision
            return decision

        return actions(wf, snap, _inputs.actor(actor), decide, _inputs.text(locale, "locale"))

    def available_events(self, case_id: str, actor: Actor) -> tuple[str, ...]:
        """List the events this actor could fire now or by giving inputs, in order.

        The events of `actions` that are not blocked: those that need only what the
        actor gives with the step (data, documents, a reason or reason code) are
        listed too, so fire may still refuse until they are given. An event whose
        request of the same approval kind waits, or that would move the case while a
        request that holds it waits, is not listed.
        """
        return tuple(
            a.event
            for a in self.actions(case_id, actor=actor)
            if a.status is not ActionStatus.BLOCKED
        )

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
            case stays where it is with the request waiting in ``case.approvals``
            (under the approval's kind) until `approve` or `reject`.

        Raises:
            TransitionRejected: with every failed check; the case is unchanged (the
                refusal is appended to the trail unless the engine was told not to).
            ConcurrentModification: the case changed since ``expected_revision`` or
                while this step was decided; nothing was written.
            UnknownCase, UnknownEvent, InvalidInput: for input that cannot be used.
            ListenerFailed: the step was committed but a listener raised.
        """
        command = self._fire_command(event, actor, data, evidence, reason, reason_code, override_by)
        return self._run(_inputs.case_id(case_id), command, expected_revision=expected_revision)[1]

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
        expected_revision: int | None = None,
        override_by: Actor | None = None,
    ) -> Case:
        """`fire` with ``attempts`` tries against other writers: ``retrying(attempts).fire``.

        Raises:
            ConcurrentModification: if every attempt lost a race, or the case moved past
                ``expected_revision`` (which is never retried past).
            TransitionRejected: as `fire`.
        """
        return self.retrying(attempts).fire(
            case_id, event, actor=actor, data=data, evidence=evidence, reason=reason,
            reason_code=reason_code, expected_revision=expected_revision, override_by=override_by,
        )  # fmt: skip
