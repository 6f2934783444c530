"""Property monitors kept per trail beginning, and the check of stored trails.

The tools check every rule after every step of trails that share their beginnings, so
`monitored` keeps each property's monitor by the hash of the last entry it has read
(which covers every entry before it) and folds only the entries past the longest
beginning it knows. `check_trails` reads a store's cases as they are today.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from attrs import frozen

from .._audit import AuditEntry
from .._calendar import DEFAULT_CALENDAR, Calendar
from .._catalog import Catalog
from .._clock import to_utc
from .._definition import Workflow
from ..exceptions import InvalidInput
from ..stores import Store
from ..stores._protocol import every_stored
from ._folds import _KEPT
from ._propositions import Moment
from ._temporal import Property, Standing, State

__all__ = ["TrailFinding", "check_trails", "monitored"]

_STATES_KEPT = 50_000
_MONITORS: dict[tuple[int, int], tuple[Property, Workflow, dict[str, State]]] = {}


def monitored(prop: Property, workflow: Workflow, trail: Sequence[AuditEntry]) -> State:
    """``prop``'s monitor after ``trail``, folding only what no earlier check folded."""
    key = (id(prop), id(workflow))
    known = _MONITORS.get(key)
    if known is None or known[0] is not prop or known[1] is not workflow:
        if len(_MONITORS) > _KEPT:
            _MONITORS.clear()
        known = _MONITORS[key] = (prop, workflow, {})
    states = known[2]
    start, state = 0, prop.start()
    for i in range(len(trail) - 1, -1, -1):
        found = states.get(trail[i].hash)
        if found is not None:
            start, state = i + 1, found
            break
    for i in range(start, len(trail)):
        state = prop.step(state, Moment(workflow, trail, i))
        if len(states) > _STATES_KEPT:
            states.clear()
        states[trail[i].hash] = state
    return state


@frozen
class TrailFinding:
    """A stored case that breaks a property today, or still owes what it asks.

    Attributes:
        case_id: The case.
        rule: The property's words.
        verdict: `Standing.BROKEN`, or `Standing.PENDING` when pending ones are asked for.
        why: Where and how, in a sentence (the entry it broke at, or the deadline).
        seq: The entry where it broke (None when a deadline passed with no entry).
        requirements: The property's requirement ids.
    """

    case_id: str
    rule: str
    verdict: Standing
    why: str
    seq: int | None
    requirements: tuple[str, ...]


def check_trails(
    store: Store,
    properties: Iterable[Property],
    *,
    workflows: Iterable[Workflow] | Catalog,
    now: datetime,
    calendar: Calendar | None = None,
    pending: bool = False,
) -> Iterator[TrailFinding]:
    """Check every stored case's trail against ``properties`` as of ``now``.

    Yields a finding for each case and property it breaks (a response whose deadline
    passed by ``now`` included), and with ``pending`` also each obligation still open.
    A case in a terminal state is finished: what it still owes is broken. Cases are
    read a page at a time, so a store of any size is checked in constant memory.

    Raises:
        InvalidInput: if ``now`` has no time zone or a property is not a `Property`.
    """
    props = tuple(properties)
    for p in props:
        if not isinstance(p, Property):
            raise InvalidInput("properties", f"{p!r} is not a rule over time (a Property)")
    at = to_utc(now, "now")
    catalog = workflows if isinstance(workflows, Catalog) else Catalog(workflows)
    cal = calendar or (catalog.calendar if isinstance(workflows, Catalog) else DEFAULT_CALENDAR)
    for stored in every_stored(store):
        if stored.case is None or not stored.trail:
            continue
        case, trail = stored.case, stored.trail
        wf = catalog.workflow(case.workflow, case.version)
        finished = wf.state(case.state).terminal
        for prop in props:
            if not prop.applies(trail):
                continue
            state = prop.monitor(wf, trail, cal)
            verdict, why = prop.verdict(wf, state, now=at, finished=finished, calendar=cal)
            if verdict is Standing.HOLDS or (verdict is Standing.PENDING and not pending):
                continue
            seq = state.broken[0] if state.broken is not None else None
            yield TrailFinding(case.id, prop.text, verdict, why or "", seq, prop.requirements)
