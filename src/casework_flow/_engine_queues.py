"""Engine calls for supervisors' work queues: awaiting my decision, due soon, idle, caseload.

A supervisor's first screen lists the approvals waiting for them, the deadlines passed or
coming in the next working days, the cases nobody has touched for a month, and their
team's caseload. Each queue is one store query through an index, then, where the store
can only narrow (who may decide a request depends on the workflow's approval rule and
the actor's units), the same checks `approve` makes, on the cases the query found.
Pages use the stores' keyset cursors. A queue asked of an actor for units they do not
work in is refused with `OutOfScope` (and a warning in the log), never silently emptied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from ._access import as_on
from ._case import Actor, Case
from ._checks import approval_checks
from ._clock import to_utc
from ._due import moment
from ._observe import out_of_scope
from ._reports import Report, figures
from ._shell import Shell
from .exceptions import InvalidInput, OutOfScope
from .stores import Page, Query, _cursor
from .stores._protocol import GROUPS, every_stored

__all__ = ["CASELOAD_GROUPS", "Queues"]

CASELOAD_GROUPS: Final = (*GROUPS, "stage")
"""What `Queues.caseload` counts by: the stores' groups, and the stage."""

_BATCH: Final = 200


def _scoped(actor: Actor | None, query: Query, what: str) -> Query:
    """``query`` narrowed to ``actor``'s units; refused if it names units not theirs.

    Raises:
        OutOfScope: naming the units asked for that the actor does not work in (the
            refusal is logged as a warning, with the actor and the units).
    """
    if actor is None:
        return query
    asked = {u for u in (query.units or ()) if u is not None}
    if query.unit is not None:
        asked.add(query.unit)
    foreign = asked - actor.units if actor.units else set()
    if foreign:
        out_of_scope(actor.id, what, tuple(sorted(foreign)))
        raise OutOfScope(actor.id, what, foreign, actor.units)
    return query.for_actor(actor)


def _positive(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidInput(name, f"must be a positive number, not {value!r}")


class Queues(Shell):
    """Work queues and caseload counts (part of `Engine`)."""

    __slots__ = ()

    def _exact(
        self, query: Query, keep: Callable[[Case], bool], limit: int, after: str | None
    ) -> Page:
        """One page of the cases ``query`` finds that ``keep`` keeps, in the query's order."""
        _cursor.check_limit(limit)
        found: list[Case] = []
        cursor, batch = after, limit + 1
        while len(found) <= limit:
            page = self._store.find(query, limit=batch, after=cursor)
            batch = max(batch, _BATCH)
            found.extend(c for c in page.cases if keep(c))
            if page.cursor is None:
                break
            cursor = page.cursor
        if len(found) <= limit:
            return Page(tuple(found), None)
        last = found[limit - 1]
        when = None
        if query.timers_due is not None:
            when = last.timer_at
        elif query.by_due and last.deadline is not None:
            when = last.deadline.due_at
        return Page(tuple(found[:limit]), _cursor.encode(last.id, when))

    def _decidable(self, actor: Actor) -> tuple[Query, Callable[[Case], bool]]:
        roles = actor.roles.union(*actor.unit_roles.values())
        workflows = self._catalog.all()
        own = any(
            t.approval is not None and not t.approval.self_approve.isdisjoint(roles)
            for wf in workflows
            for t in wf.transitions
        )
        anywhere = any(not wf.cross_unit_roles.isdisjoint(roles) for wf in workflows)
        units = None if anywhere or not actor.units else frozenset({*actor.units, None})
        query = Query(awaiting_roles=roles, not_requested_by=None if own else actor.id, units=units)

        def keep(case: Case) -> bool:
            wf = self._catalog.workflow(case.workflow, case.version)
            seen = as_on(wf, case, actor)
            return any(
                not approval_checks(wf, case, seen, pending, deciding="approve")
                for pending in case.approvals.values()
            )

        return query, keep

    def awaiting_decision(self, actor: Actor, *, limit: int = 50, after: str | None = None) -> Page:
        """Cases with a request waiting that ``actor`` may approve or reject now, by id.

        The same checks `approve` makes: one of the request's approver roles held on
        the case (in its unit), a vote not cast yet, not the actor's own request (unless
        the approval lets them approve their own), not their own case where the approval
        says so, and the case on their side. The store's waiting table narrows the
        search to the requests of the actor's roles first.
        """
        query, keep = self._decidable(actor)
        return self._exact(query, keep, limit, after)

    def _counted_in_sql(self, actor: Actor, query: Query) -> int | None:
        """The count straight from the store, where its narrowing is already exact.

        It is when the actor holds the same roles in every unit and no cross-unit role,
        and every approval their roles decide takes one decision, lets no one approve
        their own request, and keeps the case's worker out alike (or not at all).
        """
        if (
            actor.unit_roles
            or query.not_requested_by is None
            or (query.units is None and actor.units)
        ):
            return None
        rules = {
            (a.quorum, a.rejections, a.not_assignee)
            for wf in self._catalog.all()
            for t in wf.transitions
            if (a := t.approval) is not None and not a.roles.isdisjoint(actor.roles)
        }
        if len(rules) != 1:
            return None
        ((quorum, rejections, not_assignee),) = rules
        if quorum != 1 or rejections != 1:
            return None
        count = sum(self._store.count_by(query, by="workflow").values())
        if not_assignee:
            mine = attrs.evolve(query, assignee=actor.id)
            count -= sum(self._store.count_by(mine, by="workflow").values())
        return count

    def count_awaiting(self, actor: Actor) -> int:
        """How many cases `awaiting_decision` lists for ``actor`` (over every page)."""
        query, keep = self._decidable(actor)
        counted = self._counted_in_sql(actor, query)
        if counted is not None:
            return counted
        total, cursor = 0, None
        while True:
            page = self._store.find(query, limit=_BATCH * 5, after=cursor)
            total += sum(1 for c in page.cases if keep(c))
            if page.cursor is None:
                return total
            cursor = page.cursor

    def due_soon(
        self,
        actor: Actor | None = None,
        *,
        working_days: float = 3,
        now: datetime | None = None,
        query: Query | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """Cases whose deadline falls due within ``working_days`` of ``now``, soonest first.

        Working days are the engine's calendar's (Monday to Friday in UTC unless given).
        ``actor`` scopes it to the units they work in; ``query`` narrows it further.
        """
        _positive(working_days, "working_days")
        start = moment(now, self._clock)
        end = self._catalog.calendar.add(start, timedelta(days=working_days))
        base = attrs.evolve(query or Query(), due=(start, end))
        scoped = _scoped(actor, base, "the queue of deadlines due soon")
        return self._store.find(scoped, limit=limit, after=after)

    def overdue_cases(
        self,
        actor: Actor | None = None,
        *,
        now: datetime | None = None,
        query: Query | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """Cases past their deadline at ``now``, the longest overdue first."""
        base = attrs.evolve(query or Query(), due_before=moment(now, self._clock))
        scoped = _scoped(actor, base, "the queue of overdue cases")
        return self._store.find(scoped, limit=limit, after=after)

    def idle(
        self,
        actor: Actor | None = None,
        *,
        days: float = 30,
        now: datetime | None = None,
        query: Query | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """Open cases with no committed step for ``days`` calendar days, by case id.

        Refusals are not steps; closed cases (in a terminal state) are left out, by
        the states the store is asked for (the open states of the registered workflows).
        """
        _positive(days, "days")
        since = moment(now, self._clock) - timedelta(days=days)
        base = query or Query()
        open_states = frozenset(
            s.id for wf in self._catalog.all() for s in wf.all_states if not s.terminal
        )
        states = open_states if base.states is None else open_states & base.states
        base = attrs.evolve(base, idle_since=since, states=states)
        scoped = _scoped(actor, base, "the queue of idle cases")

        def keep(case: Case) -> bool:
            wf = self._catalog.workflow(case.workflow, case.version)
            return not wf.state(case.state).terminal

        return self._exact(scoped, keep, limit, after)

    def caseload(
        self, query: Query | None = None, *, by: str = "state", actor: Actor | None = None
    ) -> Mapping[str | None, int]:
        """How many cases ``query`` finds, counted by state, stage, unit, assignee or workflow.

        ``stage`` counts a case under the outermost stage it is in (its state, in a
        workflow without stages), for the registered workflow versions (when only one
        is registered, a stored case of another counts under its state).
        ``actor`` scopes it to the units they work in.
        """
        if by not in CASELOAD_GROUPS:
            groups = ", ".join(CASELOAD_GROUPS)
            raise InvalidInput("by", f"cannot count by {by!r}; by one of {groups}")
        scoped = _scoped(actor, query or Query(), f"the caseload by {by}")
        if by != "stage":
            return dict(self._store.count_by(scoped, by=by))
        counts: Counter[str | None] = Counter()
        versions = [
            wf
            for wf in self._catalog.all()
            if scoped.workflow in {None, wf.name} and scoped.version in {None, wf.version}
        ]
        for wf in versions:
            # One version registered: its states need no workflow terms, which lets the
            # database count through the unit's index rather than the workflow's.
            alone = len(versions) == 1 and scoped.workflow is None and len(self._catalog) == 1
            narrowed = (
                scoped if alone else attrs.evolve(scoped, workflow=wf.name, version=wf.version)
            )
            for state, n in self._store.count_by(narrowed, by="state").items():
                name = str(state)
                ancestors = wf.tree.ancestors(name) if wf.has_state(name) else ()
                counts[ancestors[-1] if ancestors else state] += n
        return dict(counts)

    def report(
        self,
        actor: Actor | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        units: Iterable[str | None] | None = None,
    ) -> Report:
        """Time in each state and stage, cases opened and closed per month, rates, by unit.

        Computed by the store (in the database, on the SQL stores) over what happened in
        ``[since, until)``: entries in it, and state visits that began in it. ``actor``
        scopes it to the units they work in; ``units`` narrows it (None among them for
        cases of no unit). A case counts under the workflow version and unit it has now.
        No personal value is read.

        Raises:
            InvalidInput: if ``until`` is not after ``since``.
            OutOfScope: if ``units`` names a unit the actor does not work in.
        """
        start = None if since is None else to_utc(since, "since")
        end = None if until is None else to_utc(until, "until")
        if start is not None and end is not None and end <= start:
            raise InvalidInput(
                "until", f"{end.isoformat()} is not after since ({start.isoformat()})"
            )
        query = _scoped(actor, Query(units=units), "the report")
        terminal = {
            (wf.name, wf.version): frozenset(s.id for s in wf.all_states if s.terminal)
            for wf in self._catalog.all()
        }
        stages = {
            (wf.name, wf.version): {
                st.id: (wf.tree.ancestors(st.id) or (st.id,))[-1] for st in wf.all_states
            }
            for wf in self._catalog.all()
        }
        computed = getattr(self._store, "report", None)
        if callable(computed):
            found: Report = computed(
                terminal, since=start, until=end, units=query.units, stages=stages
            )
            return found
        pairs = (
            (stored.case.unit if stored.case else None, stored.trail)
            for stored in every_stored(self._store, page=_BATCH)
            if query.units is None or (stored.case and stored.case.unit in query.units)
        )
        return figures(pairs, terminal, stages=stages, since=start, until=end)
