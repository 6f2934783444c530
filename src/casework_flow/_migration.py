"""Moving live cases to a new workflow version: plan first, then apply case by case.

A case stays on the version it was opened under until migrated. `plan` says, per case,
where it would go and what would block it; `migrated` is what a ``migrated`` entry does
to a case (`evolve` calls it), carrying the deadline clock and timers over to the new
version's definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs
from attrs import frozen

from ._audit import AuditEntry
from ._calendar import Calendar
from ._case import Case
from ._definition import Workflow
from ._timing import DeadlineClock, _add, next_active_timer, next_timer
from .exceptions import ReplayError

__all__ = ["MigrationItem", "MigrationPlan", "MigrationReport", "migrated", "plan_case"]


@frozen
class MigrationItem:
    """Where one case would go, and what blocks it.

    Attributes:
        case_id: The case.
        revision: Its revision when planned; a case that moved since is re-planned.
        from_state: Its state on the old version.
        to_state: Its state on the new version, or None when it has no mapping.
        blockers: Why it cannot move (empty when it can).
        configuration: On a version with stages, the states it would be in (each
            mapped state, and the initial states of the tracks around it).
    """

    case_id: str
    revision: int
    from_state: str
    to_state: str | None
    blockers: tuple[str, ...]
    configuration: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the case can move."""
        return not self.blockers


@frozen
class MigrationPlan:
    """A dry run of a migration over stored cases: nothing was changed to make it."""

    workflow: str
    from_version: int
    to_version: int
    state_map: Mapping[str, str]
    items: tuple[MigrationItem, ...]

    @property
    def movable(self) -> tuple[MigrationItem, ...]:
        """The cases that can move."""
        return tuple(i for i in self.items if i.ok)

    @property
    def blocked(self) -> tuple[MigrationItem, ...]:
        """The cases that cannot, each with its blockers."""
        return tuple(i for i in self.items if not i.ok)

    def table(self) -> str:
        """The plan as text, a line per case."""
        head = (
            f"{self.workflow} v{self.from_version} -> v{self.to_version}:"
            f" {len(self.movable)} can move, {len(self.blocked)} blocked"
        )
        lines = [head]
        for i in self.items:
            where = f"{i.from_state} -> {i.to_state or '?'}"
            why = f"  BLOCKED: {'; '.join(i.blockers)}" if i.blockers else ""
            lines.append(f"  {i.case_id}: {where}{why}")
        return "\n".join(lines)


@frozen
class MigrationReport:
    """What `Engine.migrate` did: cases moved, cases left on their version and why."""

    migrated: tuple[str, ...]
    skipped: tuple[MigrationItem, ...]
    failed: tuple[tuple[str, str], ...]


def plan_case(
    case: Case, old: Workflow, new: Workflow, state_map: Mapping[str, str]
) -> MigrationItem:
    """Plan one case: its state on the new version, and what would block the move.

    A request waiting for approval blocks it (decide or reject it first); an open
    handover carries over, as long as the new version still declares its kind.
    """
    blockers: list[str] = []
    targets = [state_map.get(s, s) for s in case.configuration]
    unknown = [
        (s, t) for s, t in zip(case.configuration, targets, strict=True) if not new.has_state(t)
    ]
    blockers += [f"state {s} has no mapping: v{new.version} has no state {t}" for s, t in unknown]
    to_state: str | None = None
    configuration: tuple[str, ...] = ()
    if not unknown:
        configuration, problems = new.tree.completed_entry(targets)
        blockers += problems
        to_state = new.tree.state_of(configuration) if not problems else None
    if to_state is not None:
        active = new.tree.active(configuration)
        needed = sorted(
            {f for t in new.transitions if t.dest in active for f in t.requires} - set(case.data)
        )
        if needed:
            blockers.append(f"v{new.version} requires {', '.join(needed)} in {to_state}")
        if new.state(to_state).terminal != old.state(case.state).terminal:
            blockers.append(f"{case.state} and {to_state} differ in being closed")
    blockers += [f"{p.event} is waiting for approval" for p in case.approvals.values()]
    blockers += [
        f"{h.id} to {h.addressee} is open, and v{new.version} declares no {h.kind}s"
        for h in case.open_handovers
        if str(h.kind) not in new.handovers
    ]
    return MigrationItem(
        case.id,
        case.revision,
        case.state,
        to_state,
        tuple(blockers),
        configuration=configuration if new.staged else (),
    )


def migrated(case: Case, entry: AuditEntry, new: Workflow, calendar: Calendar) -> Case:
    """The case after a ``migrated`` entry (also used by replay).

    A mapped state is the same stage of the work under its new name, so the time in
    it carries over (timers count from when the case entered it), timers already fired
    stay fired, and a running deadline keeps the time it used, recomputed on the new
    version's definition; a state that gains a deadline starts one from when the case
    entered it. A deadline paused while the case waits elsewhere stays paused if its
    state still has one.
    """
    if new.staged or case.configuration != (case.state,) or case.entered:
        return _staged(case, entry, new, calendar)
    entered = case.state_entered_at
    out = attrs.evolve(
        case,
        version=new.version,
        state=entry.to_state,
        configuration=(entry.to_state,),
        revision=case.revision + 1,
    )
    state = new.state(entry.to_state)
    clock = case.deadline
    spec = state.deadline
    if clock is not None and clock.state != case.state:
        paused = new.has_state(clock.state) and new.state(clock.state).deadline is not None
        deadline = clock if paused else None
    elif spec is None:
        deadline = None
    elif clock is not None:
        due = (
            None
            if clock.since is None
            else _add(calendar, clock.since, spec.within - clock.used, working=spec.working)
        )
        deadline = attrs.evolve(clock, state=entry.to_state, due_at=due)
    else:
        due = _add(calendar, entered, spec.within, working=spec.working)
        deadline = DeadlineClock(entry.to_state, entered, timedelta(0), entered, due)
    timer, timer_at = next_timer(new, entry.to_state, entered, case.fired, calendar)
    return attrs.evolve(out, deadline=deadline, timer=timer, timer_at=timer_at)


def _recorded(case: Case, entry: AuditEntry, new: Workflow) -> tuple[str, ...]:
    """The configuration a ``migrated`` entry records, if it is one of ``new``'s."""
    if not new.staged:
        return (entry.to_state,)
    tree = new.tree
    paths = entry.details.get("configuration", "").split()
    leaves = tuple(p.rpartition("/")[2] for p in paths)
    fits = (
        leaves
        and all(new.has_state(s) and tree.path(s) == p for s, p in zip(leaves, paths, strict=True))
        and tree.completed_entry(leaves) == (leaves, [])
        and tree.state_of(leaves) == entry.to_state
    )
    if not fits:
        raise ReplayError(
            case.id, entry.seq, f"a migration to no configuration of v{new.version} ({paths})"
        )
    return leaves


def _staged(case: Case, entry: AuditEntry, new: Workflow, calendar: Calendar) -> Case:
    """`migrated` into (or out of) a version with stages.

    Every state the case is in on the new version counts from when the case entered
    the state it was mapped from (for a stage: the earliest of those), timers already
    fired stay fired where their state is still active, and the one deadline clock
    starts again from when its state was entered.
    """
    leaves = _recorded(case, entry, new)
    tree = new.tree
    active = tree.active(leaves) if new.staged else frozenset(leaves)
    since = case.entered_at
    entered = dict.fromkeys(active, case.state_entered_at)
    for s in case.entered:
        if s in active:
            entered[s] = since(s)
    out = attrs.evolve(
        case,
        version=new.version,
        state=entry.to_state,
        configuration=leaves,
        entered=entered if new.staged else {},
        history={},
        state_entered_at=entered[entry.to_state],
        revision=case.revision + 1,
    )
    deadline = None
    for s in tree.ordered(active) if new.staged else leaves:
        spec = new.state(s).deadline
        if spec is not None:
            start = entered[s]
            due = _add(calendar, start, spec.within, working=spec.working)
            deadline = DeadlineClock(s, start, timedelta(0), start, due)
            break
    names = {t.name for s in active for t in new.state(s).timers}
    fired = tuple(n for n in case.fired if n in names)
    timer, timer_at = next_active_timer(new, calendar, out, frozenset(active), fired)
    return attrs.evolve(out, deadline=deadline, timer=timer, timer_at=timer_at, fired=fired)
