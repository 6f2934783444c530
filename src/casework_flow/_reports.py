"""Managers' and auditors' figures: where cases wait, what comes in and goes out, how often.

Five tables, each by workflow, version and the unit that owns the case:

- time in each state, and in each (outermost) stage: how many visits ended, and the
  median and 90th percentile of how long they lasted (nearest rank: the value at rank
  ⌈p·n⌉ of the sorted durations);
- per calendar month (UTC): cases opened, and cases closed (moved into a terminal
  state from an open one);
- rates: refusals among attempted steps, consent overrides among transitions, reopenings
  among closings;
- deadlines: for each state with a deadline, how many of its clocks ended met and how
  many ended late (each step that ends a clock records it; see `ended_deadline`).

The SQL stores compute them in the database, over the stored trails; `figures` here is
the same arithmetic over trails in Python, for the in-memory store and as the reference
the SQL is tested against. No personal value is read or written: states, units, counts.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, Any, Final

from attrs import frozen

from ._audit import AuditEntry, EntryKind

__all__ = [
    "DeadlineCount",
    "PeriodCount",
    "Rates",
    "Report",
    "Stages",
    "StateTime",
    "figures",
    "rank",
]

Key = tuple[str, int, str | None]
"""(workflow, version, unit)."""

Terminal = Mapping[tuple[str, int], frozenset[str]]
"""The terminal states of each (workflow, version)."""

Stages = Mapping[tuple[str, int], Mapping[str, str]]
"""The outermost stage of each state of each (workflow, version)."""

_Window = tuple[datetime | None, datetime | None]


def rank(n: int, percent: int) -> int:
    """The nearest rank (1-based) of the ``percent``-th percentile of ``n`` values."""
    return (percent * n + 99) // 100


@frozen
class StateTime:
    """How long cases stayed in one state (visits that ended only)."""

    workflow: str
    version: int
    unit: str | None
    state: str
    visits: int
    median: timedelta
    p90: timedelta


@frozen
class PeriodCount:
    """Cases opened and closed in one calendar month (UTC), ``period`` as ``2024-03``."""

    period: str
    workflow: str
    version: int
    unit: str | None
    opened: int
    closed: int


@frozen
class Rates:
    """How often steps were refused, consent overridden and closed cases reopened."""

    workflow: str
    version: int
    unit: str | None
    transitions: int
    refusals: int
    overrides: int
    closings: int
    reopenings: int

    @property
    def refusal_rate(self) -> float | None:
        """Refusals among attempted steps (refused or committed transitions)."""
        attempts = self.transitions + self.refusals
        return self.refusals / attempts if attempts else None

    @property
    def override_rate(self) -> float | None:
        """Transitions that needed a consent override, among transitions."""
        return self.overrides / self.transitions if self.transitions else None

    @property
    def reopen_rate(self) -> float | None:
        """Reopenings among closings."""
        return self.reopenings / self.closings if self.closings else None


@frozen
class DeadlineCount:
    """How the deadlines of one state ended: left in time (``met``) or late (``missed``).

    A deadline counts once its clock ends (the case leaves the state, or the stage it
    pauses in, for somewhere the deadline does not run); one still running is not
    counted here (`Engine.overdue_cases` lists those).
    """

    workflow: str
    version: int
    unit: str | None
    state: str
    met: int
    missed: int

    @property
    def compliance(self) -> float | None:
        """The share of ended deadlines that were met."""
        ended = self.met + self.missed
        return self.met / ended if ended else None


_TABLES: Final = ("time_in_state", "time_in_stage", "periods", "rates", "deadlines")


@frozen
class Report:
    """The five tables, each sorted by its key.

    ``time_in_stage`` is ``time_in_state`` with each state counted as the outermost
    stage it lies in (a visit lasts while the case stays anywhere inside the stage);
    in a workflow without stages the two are the same. Its rows' ``state`` is the stage.
    """

    time_in_state: tuple[StateTime, ...]
    time_in_stage: tuple[StateTime, ...]
    periods: tuple[PeriodCount, ...]
    rates: tuple[Rates, ...]
    deadlines: tuple[DeadlineCount, ...] = ()

    def rows(self, table: str) -> list[dict[str, Any]]:
        """One table as rows of plain values (durations in seconds, rates as fractions).

        Raises:
            KeyError: if ``table`` is not one of the five.
        """
        if table in {"time_in_state", "time_in_stage"}:
            place = "state" if table == "time_in_state" else "stage"
            return [
                {"workflow": t.workflow, "version": t.version, "unit": t.unit,
                 place: t.state, "visits": t.visits,
                 "median_seconds": t.median.total_seconds(),
                 "p90_seconds": t.p90.total_seconds()}
                for t in getattr(self, table)
            ]  # fmt: skip
        if table == "periods":
            return [
                {"period": p.period, "workflow": p.workflow, "version": p.version,
                 "unit": p.unit, "opened": p.opened, "closed": p.closed}
                for p in self.periods
            ]  # fmt: skip
        if table == "rates":
            return [
                {"workflow": r.workflow, "version": r.version, "unit": r.unit,
                 "transitions": r.transitions, "refusals": r.refusals,
                 "overrides": r.overrides, "closings": r.closings,
                 "reopenings": r.reopenings, "refusal_rate": r.refusal_rate,
                 "override_rate": r.override_rate, "reopen_rate": r.reopen_rate}
                for r in self.rates
            ]  # fmt: skip
        if table == "deadlines":
            return [
                {"workflow": d.workflow, "version": d.version, "unit": d.unit,
                 "state": d.state, "met": d.met, "missed": d.missed,
                 "compliance": d.compliance}
                for d in self.deadlines
            ]  # fmt: skip
        raise KeyError(table)

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """The report as JSON-ready tables."""
        return {table: self.rows(table) for table in _TABLES}

    def write_csv(self, out: IO[str]) -> None:
        """Write the five tables as CSV, each headed by a ``# table`` line and its header."""
        for table in _TABLES:
            rows = self.rows(table)
            out.write(f"# {table}\n")
            if rows:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            out.write("\n")


class _Tally:
    """The counts and durations of one (workflow, version, unit)."""

    def __init__(self) -> None:
        self.durations: defaultdict[str, list[timedelta]] = defaultdict(list)
        self.stage_durations: defaultdict[str, list[timedelta]] = defaultdict(list)
        self.opened: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.met: Counter[str] = Counter()
        self.missed: Counter[str] = Counter()
        self.seen = False


def _within(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


def _visits(
    durations: defaultdict[str, list[timedelta]],
    places: Sequence[tuple[str, datetime]],
    window: _Window,
) -> None:
    changes = [p for i, p in enumerate(places) if i == 0 or places[i - 1][0] != p[0]]
    for (place, entered), (_, left) in itertools.pairwise(changes):
        if _within(entered, *window):
            durations[place].append(left - entered)


def _counts(
    tally: _Tally, trail: Sequence[AuditEntry], ends: frozenset[str], window: _Window
) -> None:
    for e in trail:
        if not _within(e.at, *window):
            continue
        tally.seen = True
        month = e.at.strftime("%Y-%m")
        if "deadline" in e.details:
            late = e.details.get("deadline_met") != "yes"
            (tally.missed if late else tally.met)[e.details["deadline"]] += 1
        if e.kind is EntryKind.OPENED:
            tally.opened[month] += 1
        elif e.kind is EntryKind.REFUSED:
            tally.counts["refusals"] += 1
        elif e.kind is EntryKind.TRANSITION:
            tally.counts["transitions"] += 1
            tally.counts["overrides"] += "overridden_by" in e.details
            was, now = e.from_state in ends, e.to_state in ends
            if now and not was:
                tally.closed[month] += 1
                tally.counts["closings"] += 1
            tally.counts["reopenings"] += was and not now


def figures(
    trails: Iterable[tuple[str | None, Sequence[AuditEntry]]],
    terminal: Terminal,
    *,
    stages: Stages | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Report:
    """The report over ``(unit, trail)`` pairs, in Python (for any store; the reference).

    Only what happened in ``[since, until)`` counts: entries in it, and visits that
    began in it. A state ``stages`` does not map is its own stage.
    """
    tallies: defaultdict[Key, _Tally] = defaultdict(_Tally)
    for unit, trail in trails:
        if not trail:
            continue
        key = (trail[0].workflow, trail[-1].workflow_version, unit)
        ends = terminal.get((key[0], key[1]), frozenset())
        outer = (stages or {}).get((key[0], key[1]), {})
        steps = [(e.to_state, e.at) for e in trail if e.kind is not EntryKind.REFUSED]
        _visits(tallies[key].durations, steps, (since, until))
        at_stage = [(outer.get(state, state), at) for state, at in steps]
        _visits(tallies[key].stage_durations, at_stage, (since, until))
        _counts(tallies[key], trail, ends, (since, until))
    return _report(tallies)


def _report(tallies: Mapping[Key, _Tally]) -> Report:
    times: list[StateTime] = []
    in_stages: list[StateTime] = []
    periods: list[PeriodCount] = []
    rates: list[Rates] = []
    deadlines: list[DeadlineCount] = []
    for (wf, version, unit), t in tallies.items():
        for out, durations in ((times, t.durations), (in_stages, t.stage_durations)):
            for state, found in durations.items():
                ordered = sorted(found)
                n = len(ordered)
                out.append(StateTime(wf, version, unit, state, n, ordered[rank(n, 50) - 1],
                                     ordered[rank(n, 90) - 1]))  # fmt: skip
        periods.extend(
            PeriodCount(month, wf, version, unit, t.opened[month], t.closed[month])
            for month in sorted(set(t.opened) | set(t.closed))
        )
        deadlines.extend(
            DeadlineCount(wf, version, unit, state, t.met[state], t.missed[state])
            for state in set(t.met) | set(t.missed)
        )
        if not t.seen:
            continue
        c = t.counts
        rates.append(Rates(wf, version, unit, c["transitions"], c["refusals"], c["overrides"],
                           c["closings"], c["reopenings"]))  # fmt: skip
    by_place = lambda x: (x.workflow, x.version, x.unit or "", x.state)  # noqa: E731 - a key
    return Report(
        tuple(sorted(times, key=by_place)),
        tuple(sorted(in_stages, key=by_place)),
        tuple(sorted(periods, key=lambda x: (x.period, x.workflow, x.version, x.unit or ""))),
        tuple(sorted(rates, key=lambda x: (x.workflow, x.version, x.unit or ""))),
        tuple(sorted(deadlines, key=by_place)),
    )
