"""Engine commands about time and versions: timers, deadlines, migration, import.

`run_timer` is the public way one due timer fires; `run_due` (in `_due`) claims due
cases from the store and calls it for each, so a host with its own task queue can call
`run_timer` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from . import _inputs
from ._audit import ChainHead
from ._case import Actor, Case
from ._commands import Fire, Migrate
from ._due import (
    Due,
    Outcome,
    OverdueReport,
    RunReport,
    TimerRun,
    find_due,
    moment,
    overdue_report,
    run_timers,
)
from ._evolve import fold
from ._export import read_jsonl
from ._frozen import FrozenMap
from ._migration import MigrationPlan, MigrationReport, plan_case
from ._shell import Shell
from .exceptions import (
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    ListenerFailed,
    TransitionRejected,
)
from .stores import Query
from .stores._protocol import DEFAULT_LEASE

__all__ = ["TimeAndVersions"]

_RETRIES = 3


class TimeAndVersions(Shell):
    """Timers, deadlines, migration between versions and import (part of `Engine`)."""

    __slots__ = ()

    def due(self, now: datetime | None = None, *, limit: int | None = None) -> Due:
        """List the timers due and the deadlines passed at ``now`` (the clock's time).

        Both come from the store's indexes (``timers_due`` and ``due_before``), never
        from a scan of every case. ``limit`` caps each list.
        """
        return find_due(self._store, moment(now, self._clock), limit)

    def run_timer(self, case_id: str, now: datetime | None = None) -> TimerRun:
        """Fire the case's next timer if it is due at ``now`` (the clock's time).

        The timer's event is fired as the system actor with every guard checked and the
        timer named in its audit entry. A refusal is recorded too, and either way the
        timer is spent for this stay in the state; a transition that needs approval
        becomes a request by the system actor, waiting for an approver. A case whose
        timer is not due (or that another worker got to first) is skipped.
        """
        at = moment(now, self._clock)
        case_id = _inputs.case_id(case_id)
        for _ in range(_RETRIES):
            case = self._store.load(case_id).case
            if case.timer is None or case.timer_at is None or case.timer_at > at:
                return TimerRun(case_id, None, None, Outcome.SKIPPED, case.state, case.state)
            wf = self._catalog.workflow(case.workflow, case.version)
            spec = wf.timer(case.configuration, case.timer)
            command = Fire(
                event=spec.event, actor=self._system, reason=spec.reason,
                reason_code=spec.reason_code, timer=spec.name,
            )  # fmt: skip
            run = TimerRun(case_id, spec.name, spec.event, Outcome.FIRED, case.state, case.state)
            try:
                after = self._run(case_id, command, now=at, expected_revision=case.revision)[1]
            except ConcurrentModification:
                continue
            except TransitionRejected as exc:
                why = tuple(v.why for v in exc.reasons)
                return _with(run, outcome=Outcome.REFUSED, why=why)
            except ListenerFailed as exc:
                return _with(run, to_state=exc.case.state, why=(str(exc),))
            return _with(run, to_state=after.state)
        case = self._store.load(case_id).case
        return TimerRun(case_id, case.timer, None, Outcome.SKIPPED, case.state, case.state)

    def run_due(
        self, now: datetime | None = None, *, batch: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> RunReport:
        """Fire every timer due at ``now`` (the clock's time), each exactly once.

        Cases with a due timer are leased from the store in batches (on PostgreSQL with
        ``FOR UPDATE SKIP LOCKED``), so several workers can run at once and share the
        work; each is run by `run_timer`. When two workers reach the same case, the
        store's revision check lets one of them fire and the other finds nothing left
        to do. Calling it again does nothing until another timer falls due.

        Call it from whatever scheduler the host has (cron, a loop, a task queue).
        """
        return run_timers(self, moment(now, self._clock), batch=batch, lease=lease)

    def overdue(self, now: datetime | None = None, *, query: Query | None = None) -> OverdueReport:
        """Report every case past its deadline at ``now``, by state and by assignee.

        ``query`` narrows it (workflow, version, state, assignee). Reporting is all the
        library does about a missed deadline: what follows is for people to decide.
        """
        return overdue_report(self._store, moment(now, self._clock), query)

    # --- versions ------------------------------------------------------------------

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
        the reverse, a request waiting for approval, an open handover of a kind the new
        version does not declare. Nothing is written.

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
        actor = _inputs.actor(actor)
        why = _inputs.reason(reason)
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidInput("batch", "must be a positive integer")
        old = self.workflow(plan.workflow, plan.from_version)
        new = self.workflow(plan.workflow, plan.to_version)
        command = Migrate(new.version, FrozenMap(dict(plan.state_map)), actor, why)
        done: list[str] = []
        skipped = list(plan.blocked)
        failed: list[tuple[str, str]] = []
        movable = plan.movable
        for start in range(0, len(movable), batch):
            for item in movable[start : start + batch]:
                try:
                    case = self._store.load(item.case_id).case
                    fresh = plan_case(case, old, new, plan.state_map)
                    if case.version != plan.from_version or not fresh.ok:
                        skipped.append(fresh)
                        continue
                    self._run(item.case_id, command, expected_revision=case.revision)
                    done.append(item.case_id)
                except CaseworkError as exc:
                    failed.append((item.case_id, str(exc)))
        return MigrationReport(tuple(done), tuple(skipped), tuple(failed))

    def import_trail(
        self, lines: Iterable[str | bytes], *, head: ChainHead | None = None, source: str = "input"
    ) -> Case:
        """Import a case from a full JSON Lines export, verified first, in one transaction.

        The trail's chain is verified (against ``head`` if given), the case is rebuilt
        by folding the trail on its registered workflow versions, and case and trail
        are created together.

        Raises:
            TrailBroken: naming the line or entry that is unreadable, masked or broken;
                nothing is written.
            ReplayError: if the trail does not fit its workflow.
            UnknownWorkflow: if its workflow version is not registered.
            CaseExists: if the store already holds the case.
        """
        entries = read_jsonl(lines, head=head, source=source)
        first = entries[0]
        self.workflow(first.workflow, first.workflow_version)
        case = fold(None, entries, catalog=self._catalog)
        self._store.create(case, entries)
        return case


def _with(run: TimerRun, **changes: object) -> TimerRun:
    return attrs.evolve(run, **changes)  # type: ignore[arg-type]
