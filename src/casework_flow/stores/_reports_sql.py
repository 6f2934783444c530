"""The report's five tables as SQL over the stored trails (see `casework_flow._reports`).

One statement for all five: the entries' JSON read once with the dialect's functions
(a materialised CTE), joined with the case rows for workflow, version and unit. Window
functions order each case's steps; the percentiles are taken at their nearest rank with
integer arithmetic, so SQLite and PostgreSQL give the figures the Python reference gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from .._reports import DeadlineCount, PeriodCount, Rates, Report, Stages, StateTime, Terminal
from . import _waiting
from ._sql import micros

__all__ = ["Dialect", "report"]

Dialect = tuple[str, str]
"""(the entries' fields as a SELECT over ``casework_entries``, the template of a time
in exact integer microseconds since the epoch)."""

SQLITE: Final[Dialect] = (
    (
        "SELECT case_id, seq, json_extract(body, '$.kind') AS kind,"
        " json_extract(body, '$.from') AS from_state, json_extract(body, '$.to') AS to_state,"
        " json_extract(body, '$.at') AS at,"
        " json_extract(body, '$.details.overridden_by') AS overridden,"
        " json_extract(body, '$.details.deadline') AS deadline,"
        " json_extract(body, '$.details.deadline_met') AS deadline_met FROM casework_entries"
    ),
    (
        "(CAST(strftime('%s', {x}) AS INTEGER) * 1000000 + CASE WHEN substr({x}, 20, 1) = '.'"
        " THEN CAST(substr({x}, 21, 6) AS INTEGER) ELSE 0 END)"
    ),
)
POSTGRES: Final[Dialect] = (
    (
        "SELECT case_id, seq, j->>'kind' AS kind, j->>'from' AS from_state,"
        " j->>'to' AS to_state, j->>'at' AS at, j->'details'->>'overridden_by' AS overridden,"
        " j->'details'->>'deadline' AS deadline, j->'details'->>'deadline_met' AS deadline_met"
        " FROM (SELECT case_id, seq, body::jsonb AS j FROM casework_entries OFFSET 0) AS raw"
    ),
    "(EXTRACT(EPOCH FROM ({x})::timestamptz) * 1000000)::bigint",
)


def _values(
    name: str, columns: str, rows: list[tuple[Any, ...]], mark: str
) -> tuple[str, list[Any]]:
    """A CTE of literal rows (given as parameters), empty when there are none."""
    if not rows:
        empty = ", ".join(["'none'", "0", *["'none'"] * (len(columns.split(",")) - 2)])
        return f"{name} ({columns}) AS (SELECT {empty} WHERE 1 = 0)", []
    marks = "(" + ", ".join([mark] * len(rows[0])) + ")"
    return f"{name} ({columns}) AS (VALUES {', '.join([marks] * len(rows))})", [
        x for row in rows for x in row
    ]


def _base(
    dialect: Dialect,
    terminal: Terminal,
    stages: Stages,
    units: frozenset[str | None] | None,
    mark: str,
) -> tuple[str, list[Any]]:
    fields, epoch = dialect
    triples = [(w, v, s) for (w, v), states in sorted(terminal.items()) for s in sorted(states)]
    ends, params = _values("ends", "w, v, s", triples, mark)
    outer = [(w, v, s, g) for (w, v), m in sorted(stages.items()) for s, g in sorted(m.items())]
    grouped, more = _values("stages", "w, v, s, g", outer, mark)
    ends += ", " + grouped
    params += more
    where = ""
    if units is not None:
        term, values_ = _waiting.unit_filter(units, mark)
        where = f" WHERE {term.replace('unit', 'c.unit')}"
        params += values_
    sql = (
        f"WITH {ends}, e AS ({fields}),"  # noqa: S608 - fixed names; values are parameters
        " ec AS MATERIALIZED (SELECT e.*, c.workflow, c.version, c.unit,"
        f" {epoch.format(x='e.at')} AS t,"
        " COALESCE((SELECT g FROM stages WHERE w = c.workflow AND v = c.version"
        " AND s = e.to_state), e.to_state) AS stage,"
        " EXISTS (SELECT 1 FROM ends WHERE w = c.workflow AND v = c.version AND s = e.to_state)"
        " AS into_end,"
        " EXISTS (SELECT 1 FROM ends WHERE w = c.workflow AND v = c.version AND s = e.from_state)"
        " AS from_end"
        f" FROM e JOIN casework_cases c ON c.id = e.case_id{where})"
    )
    return sql, params


def _window(
    column: str, since: datetime | None, until: datetime | None, mark: str
) -> tuple[str, list[Any]]:
    """The terms that keep ``column`` in ``[since, until)``, each starting `` AND``."""
    terms, params = [], []
    if since is not None:
        terms.append(f"{column} >= {mark}")
        params.append(micros(since))
    if until is not None:
        terms.append(f"{column} < {mark}")
        params.append(micros(until))
    return "".join(f" AND {t}" for t in terms), params


def _times(tag: str, place: str, also: str) -> str:
    """The CTEs of one time-in table: each case's visits of ``place`` and their ranks."""
    return (
        f", s{tag} AS (SELECT case_id, seq, {place} AS place, t, workflow, version, unit,"  # noqa: S608 - fixed names
        f" LAG({place}) OVER (PARTITION BY case_id ORDER BY seq) AS before"
        " FROM ec WHERE kind <> 'refused'),"
        f" v{tag} AS (SELECT workflow, version, unit, place AS state, t,"
        " LEAD(t) OVER (PARTITION BY case_id ORDER BY seq) AS left_t"
        f" FROM s{tag} WHERE before IS NULL OR before <> place),"
        f" d{tag} AS (SELECT workflow, version, unit, state, left_t - t AS secs FROM v{tag}"
        f" WHERE left_t IS NOT NULL{also}),"
        f" r{tag} AS (SELECT workflow, version, unit, state, secs,"
        " ROW_NUMBER() OVER (PARTITION BY workflow, version, unit, state ORDER BY secs) AS rn,"
        f" COUNT(*) OVER (PARTITION BY workflow, version, unit, state) AS n FROM d{tag})"
    )


def _ranked(tag: str) -> str:
    return (
        f" SELECT '{tag}', workflow, version, unit, state, MAX(n),"  # noqa: S608 - fixed names
        " MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN secs END),"
        " MAX(CASE WHEN rn = (90 * n + 99) / 100 THEN secs END), CAST(NULL AS BIGINT),"
        " CAST(NULL AS BIGINT)"
        f" FROM r{tag} GROUP BY workflow, version, unit, state"
    )


_PERIODS: Final = (
    " SELECT 'period', workflow, version, unit, substr(at, 1, 7),"
    " SUM(CASE WHEN kind = 'opened' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN kind = 'transition' AND into_end AND NOT from_end THEN 1 ELSE 0 END),"
    " CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)"
    " FROM ec WHERE 1 = 1{window} GROUP BY substr(at, 1, 7), workflow, version, unit"
)
_RATES: Final = (
    " SELECT 'rates', workflow, version, unit, CAST(NULL AS TEXT),"
    " SUM(CASE WHEN kind = 'transition' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN kind = 'refused' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN kind = 'transition' AND overridden IS NOT NULL THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN kind = 'transition' AND into_end AND NOT from_end THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN kind = 'transition' AND from_end AND NOT into_end THEN 1 ELSE 0 END)"
    " FROM ec WHERE 1 = 1{window} GROUP BY workflow, version, unit"
)
_DEADLINES: Final = (
    " SELECT 'deadline', workflow, version, unit, deadline,"
    " SUM(CASE WHEN deadline_met = 'yes' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN deadline_met = 'yes' THEN 0 ELSE 1 END),"
    " CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)"
    " FROM ec WHERE deadline IS NOT NULL{window} GROUP BY workflow, version, unit, deadline"
)


def report(
    rows: Callable[[str, Sequence[Any]], list[Any]],
    dialect: Dialect,
    terminal: Terminal,
    *,
    mark: str,
    since: datetime | None = None,
    until: datetime | None = None,
    units: frozenset[str | None] | None = None,
    stages: Stages | None = None,
) -> Report:
    """The report in one statement through ``rows`` (which runs it and fetches all).

    The entries are read once (``ec`` is materialised) for all five tables, which come
    back as one result, each row tagged with its table.
    """
    base, params = _base(dialect, terminal, stages or {}, units, mark)
    window, bounds = _window("t", since, until, mark)
    sql = (
        base
        + _times("state", "to_state", window)
        + _times("stage", "stage", window)
        + " "
        + " UNION ALL ".join(
            [_ranked("state"), _ranked("stage"), _PERIODS.format(window=window),
             _RATES.format(window=window), _DEADLINES.format(window=window)]
        )
    )  # fmt: skip
    tables: dict[str, list[Any]] = {
        t: [] for t in ("state", "stage", "period", "rates", "deadline")
    }
    for tag, w, v, u, key, *numbers in rows(sql, [*params, *bounds * 5]):
        tables[tag].append((w, int(v), u, key, numbers))
    times = {
        tag: [
            StateTime(w, v, u, key, int(n), timedelta(microseconds=int(m)),
                      timedelta(microseconds=int(p)))
            for w, v, u, key, (n, m, p, _, _) in tables[tag]
        ]
        for tag in ("state", "stage")
    }  # fmt: skip
    periods = [
        PeriodCount(key, w, v, u, int(o), int(c))
        for w, v, u, key, (o, c, *_) in tables["period"]
        if int(o) or int(c)
    ]
    rates = [Rates(w, v, u, *(int(x) for x in numbers)) for w, v, u, _, numbers in tables["rates"]]
    deadlines = [
        DeadlineCount(w, v, u, key, int(met), int(missed))
        for w, v, u, key, (met, missed, *_) in tables["deadline"]
    ]
    by_place = lambda x: (x.workflow, x.version, x.unit or "", x.state)  # noqa: E731 - a key
    return Report(
        tuple(sorted(times["state"], key=by_place)),
        tuple(sorted(times["stage"], key=by_place)),
        tuple(sorted(periods, key=lambda x: (x.period, x.workflow, x.version, x.unit or ""))),
        tuple(sorted(rates, key=lambda x: (x.workflow, x.version, x.unit or ""))),
        tuple(sorted(deadlines, key=by_place)),
    )
