"""Oversight at a province's scale: supervisors' work queues over a million cases, and export.

1. Loads N cases (default 1,000,000) into SQLite and into PostgreSQL (a fresh schema,
   dropped afterwards): rows made from real cases the engine played on the seed
   workflow, spread over 30 units and 600 workers: 70% closed, 1% waiting for a
   supervisor's approval, 6% with a running deadline (half of them overdue), the rest
   open in other states. On SQLite each case carries its opening entry; on PostgreSQL
   its whole trail (about 19 entries a case on average; ``--opening-only`` for one). The
   rows go in through the stores' own row codecs, in bulk, since loading is not what is
   measured.
2. For one unit's supervisor: each queue's first page (50 cases) and its count, the
   median of five warm runs, in milliseconds, with the database's plan for the page
   (``ANALYZE`` run after the load; PostgreSQL's plan as it would really run).
3. M cases (default 100,000) with whole trails (the seed's happy path, 24 entries each,
   opened over a year), on SQLite and PostgreSQL: the whole report and one month's, in
   SQL beside a fold of the same trails in Python (the ratio); then their export as XES
   and as OCEL 2.0, from SQLite: time, and the peak resident memory of a process that
   exports beside one that does nothing, and the file's size.

Run: ``python benchmarks/bench_oversight.py [--cases N] [--export M] [--pg DSN]
[--opening-only]`` (``--pg ''`` skips PostgreSQL, ``--cases 0`` the queues).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from casework_flow import Actor, AuditEntry, Case, Engine, InMemoryStore, ManualClock, seed
from casework_flow._reports import figures
from casework_flow.audit import export_ocel, export_xes, stored_trails
from casework_flow.stores import PostgresStore, Query, SQLiteStore, _sql, _waiting
from casework_flow.time import DeadlineClock

if TYPE_CHECKING:
    import psycopg

START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
UNITS = [f"kab-{n:02}" for n in range(30)]
WORKFLOW = seed.build_workflow()
SUPERVISOR = Actor("spv-kab-07", {"supervisor"}, units={"kab-07"})
_MARKS = ", ".join(["{m}"] * 14)
CASE_INSERT = f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS}) VALUES ({_MARKS})"  # noqa: S608


def played(steps: int) -> tuple[Case, tuple[AuditEntry, ...]]:
    """A case of the seed taken ``steps`` steps along its happy path, and its trail."""
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], store=InMemoryStore(), clock=clock, calendar=seed.CALENDAR)
    engine.open(WORKFLOW.name, "T", actor=seed.OUTREACH, assignee=seed.WORKER.id,
                unit=seed.MEDAN, version=1)  # fmt: skip
    for step in seed.HAPPY_PATH[:steps]:
        clock.advance(timedelta(days=step[-1], hours=1))
        seed.take(engine, "T", step)
    return engine.get("T"), tuple(engine.trail("T"))


TEMPLATES = {
    "closed": played(len(seed.HAPPY_PATH)),
    "waiting": played(10),
    "sheltered": played(2),
    "assessment": played(3),
    "tracing": played(5),
    "engaged": played(1),
    "placed": played(13),
}


def shape(i: int) -> str:
    """Which template case ``i`` is made from: 70% closed, 1% waiting, 6% with a deadline."""
    r = i % 100
    if r < 70:
        return "closed"
    if r == 70:
        return "waiting"
    if r < 74:
        return "sheltered"
    if r < 77:
        return "assessment"
    return ("tracing", "engaged", "placed")[r % 3]


def made(i: int) -> tuple[Case, tuple[AuditEntry, ...], int]:
    """Case ``i``: its row's case, its trail, and when it last changed (µs)."""
    kind = shape(i)
    case, trail = TEMPLATES[kind]
    case_id = f"C{i:07}"
    opened = NOW - timedelta(days=30 + i % 1000, minutes=i % 1440)
    changed = NOW - timedelta(days=i % 90, minutes=i % 1440)
    updates: dict[str, Any] = {
        "id": case_id,
        "unit": UNITS[(i // 7) % 30],
        "assignee": f"sw-{(i // 3) % 600:03}",
        "opened_at": opened,
    }
    if case.deadline is not None:
        due = NOW + timedelta(hours=(i % 240) - 120)
        updates["deadline"] = DeadlineClock(case.state, opened, timedelta(0), opened, due)
    if case.approvals:
        updates["approvals"] = {
            k: attrs.evolve(p, requested_at=changed) for k, p in case.approvals.items()
        }
    row_case = attrs.evolve(case, **updates)
    moved = tuple(attrs.evolve(e, case_id=case_id, at=opened + (e.at - START)) for e in trail)
    return row_case, moved, _sql.micros(changed)


def rows(
    n: int, *, whole: bool = False, batch: int = 20_000
) -> Iterator[tuple[list[tuple[Any, ...]], list[Any], list[Any]]]:
    """Batches of (case rows, entry rows, waiting rows): whole trails or openings only."""
    position = 0
    for start in range(0, n, batch):
        cases, entries, waiting = [], [], []
        for i in range(start, min(n, start + batch)):
            case, trail, changed = made(i)
            cases.append(_sql.case_row(case, changed, TEMPLATES[shape(i)][1][-1].head))
            for entry in trail if whole else trail[:1]:
                position += 1
                entries.append(_sql.entry_row(entry, position))
            waiting += _waiting.rows(case)
        yield cases, entries, waiting


def load_sqlite(path: Path, n: int) -> None:
    """Load ``n`` cases into a new SQLite file, in one transaction."""
    SQLiteStore(path).close()
    import sqlite3  # noqa: PLC0415 - the raw loader

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        for cases, entries, waiting in rows(n):
            conn.executemany(CASE_INSERT.format(m="?"), cases)
            conn.executemany(_sql.ENTRY_INSERT.format(m="?"), entries)
            conn.executemany(_waiting.INSERT.format(m="?"), waiting)
        conn.execute(
            "UPDATE casework_feed SET position = (SELECT MAX(position) FROM casework_entries)"
        )
    conn.execute("ANALYZE")
    conn.close()


_ENTRY_COLUMNS = "casework_entries (case_id, seq, body, position)"
_WAITING_COLUMNS = "casework_waiting (case_id, kind, role, requested_by, requested_at, unit)"


def _copy(cur: psycopg.Cursor[Any], table: str, rows: Sequence[Sequence[Any]]) -> None:
    """COPY ``rows`` into ``table`` (its name and columns)."""
    with cur.copy(f"COPY {table} FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


@contextlib.contextmanager
def fresh_schema(pg: str) -> Iterator[str]:
    """A new PostgreSQL schema, dropped afterwards; a DSN whose search path is it."""
    import psycopg  # noqa: PLC0415

    name, dsn = pg_schema(pg)
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield dsn
    finally:
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


def load_pg(dsn: str, n: int, *, whole: bool = True) -> int:
    """Load ``n`` cases into a new PostgreSQL schema with COPY; how many entries."""
    import psycopg  # noqa: PLC0415 - the raw loader

    PostgresStore(dsn).close()
    columns = _sql.CASE_COLUMNS
    loaded = 0
    with psycopg.connect(dsn) as conn:
        for cases, entries, waiting in rows(n, whole=whole):
            loaded += len(entries)
            with conn.cursor() as cur:
                _copy(cur, f"casework_cases ({columns})", cases)
                _copy(cur, _ENTRY_COLUMNS, entries)
                _copy(cur, _WAITING_COLUMNS, waiting)
        conn.execute("UPDATE casework_feed SET position = %s", (loaded,))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return loaded


def timed(call: Callable[[], object], runs: int = 5) -> float:
    """The median of ``runs`` warm calls, in milliseconds."""
    call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def queues(
    engine: Engine,
) -> list[tuple[str, Query | None, Callable[[], object], Callable[[], object]]]:
    """(name, the store query of the page, first page, count) for one unit's supervisor."""
    store = engine.store
    soon_end = engine.catalog.calendar.add(NOW, timedelta(days=3))
    scoped = Query().for_actor(SUPERVISOR)
    due = Query(due=(NOW, soon_end)).for_actor(SUPERVISOR)
    over = Query(due_before=NOW).for_actor(SUPERVISOR)
    open_states = {s.id for s in WORKFLOW.all_states if not s.terminal}
    idle = Query(idle_since=NOW - timedelta(days=30), states=open_states).for_actor(SUPERVISOR)
    mine = Query(assignee="sw-007")
    waiting = Query(awaiting_roles={"supervisor"}, not_requested_by=SUPERVISOR.id,
                    units={"kab-07", None})  # fmt: skip
    return [
        ("awaiting my decision", waiting, lambda: engine.awaiting_decision(SUPERVISOR),
         lambda: engine.count_awaiting(SUPERVISOR)),
        ("overdue", over, lambda: engine.overdue_cases(SUPERVISOR, now=NOW),
         lambda: sum(store.count_by(over, by="state").values())),
        ("due within 3 working days", due, lambda: engine.due_soon(SUPERVISOR, now=NOW),
         lambda: sum(store.count_by(due, by="state").values())),
        ("idle 30 days", idle, lambda: engine.idle(SUPERVISOR, now=NOW),
         lambda: sum(store.count_by(idle, by="state").values())),
        ("a worker's cases", mine, lambda: store.find(mine, limit=50),
         lambda: engine.caseload(mine, by="state")),
        ("the unit's caseload by assignee", scoped, lambda: store.find(scoped, limit=50),
         lambda: engine.caseload(by="assignee", actor=SUPERVISOR)),
        ("the unit's caseload by stage", None, lambda: None,
         lambda: engine.caseload(by="stage", actor=SUPERVISOR)),
    ]  # fmt: skip


def plan(kind: str, target: str, query: Query) -> str:
    """The database's plan for the first page of ``query``."""
    mark = "?" if kind == "sqlite" else "%s"
    sql, params = _sql.select_cases(query, limit=50, after=None, mark=mark)
    if kind == "sqlite":
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(target) as conn:
            found = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "; ".join(r[-1] for r in found)
    import psycopg  # noqa: PLC0415

    with psycopg.connect(target) as conn:
        found = conn.execute("EXPLAIN " + sql, params).fetchall()
    return "; ".join(r[0].strip() for r in found if "Index" in r[0] or "Scan" in r[0])


def report(kind: str, target: str, store: SQLiteStore | PostgresStore) -> None:
    """Print each queue's times and plan."""
    engine = Engine([WORKFLOW], store=store, clock=ManualClock(NOW), calendar=seed.CALENDAR)
    print(f"\n{kind}: {len(store):,} cases")
    print(f"  {'queue':34} {'first page':>11} {'count':>9}  found")
    for name, query, page, count in queues(engine):
        first = timed(page) if query is not None else float("nan")
        counted = timed(count)
        found = count()
        size = found if isinstance(found, int) else sum(found.values())  # type: ignore[attr-defined]
        print(f"  {name:34} {first:9.1f}ms {counted:7.1f}ms  {size:,}")
        if query is not None:
            print(f"    plan: {plan(kind, target, query)}")


def whole_trails(m: int) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Batches of (case rows, entry rows): ``m`` closed cases, opened over a year."""
    closed, trail = TEMPLATES["closed"]
    position = 0
    for start in range(0, m, 5_000):
        cases, entries = [], []
        for i in range(start, min(m, start + 5_000)):
            case_id, shift = f"X{i:07}", timedelta(days=i % 365, minutes=i % 1440)
            cases.append(_sql.case_row(attrs.evolve(closed, id=case_id, unit=UNITS[i % 30]),
                                       0, trail[-1].head))  # fmt: skip
            for e in trail:
                position += 1
                moved = attrs.evolve(e, case_id=case_id, at=e.at + shift)
                entries.append(_sql.entry_row(moved, position))
        yield cases, entries


TERMINAL = {(WORKFLOW.name, WORKFLOW.version): frozenset(
    s.id for s in WORKFLOW.all_states if s.terminal)}  # fmt: skip


def report_bench(kind: str, store: SQLiteStore | PostgresStore, m: int) -> None:
    """The whole report and one month's, in SQL and folded in Python over the same trails."""
    month = (START + timedelta(days=120)).replace(day=1)
    windows = {"whole": {}, "one month": {"since": month, "until": month + timedelta(days=31)}}
    print(f"\nreport over {m:,} cases ({m * len(TEMPLATES['closed'][1]):,} entries) on {kind}:")
    for name, window in windows.items():
        t0 = time.perf_counter()
        in_sql = store.report(TERMINAL, **window)  # type: ignore[arg-type]
        sql_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        pairs = ((UNITS[int(t[0].case_id[1:]) % 30], t) for t in stored_trails(store))
        folded = figures(pairs, TERMINAL, **window)  # type: ignore[arg-type]
        fold_seconds = time.perf_counter() - t0
        same = "the same figures" if folded == in_sql else "DIFFERENT figures"
        print(f"  {name:9}: {sql_seconds:6.1f} s in SQL, {fold_seconds:6.1f} s folding the trails"
              f" in Python ({fold_seconds / sql_seconds:.1f}x), {same}")  # fmt: skip


def load_whole_sqlite(path: Path, m: int) -> None:
    """A new SQLite store at ``path`` holding ``m`` whole trails, loaded in bulk."""
    import sqlite3  # noqa: PLC0415

    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        for cases, entries in whole_trails(m):
            conn.executemany(CASE_INSERT.format(m="?"), cases)
            conn.executemany(_sql.ENTRY_INSERT.format(m="?"), entries)
    conn.execute("ANALYZE")
    conn.close()


def export_bench(m: int, pg: str) -> None:
    """Load ``m`` whole trails; report on SQLite (and PostgreSQL); time both exports."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.sqlite3"
        load_whole_sqlite(path, m)
        with SQLiteStore(path) as store:
            report_bench("SQLite", store, m)
        if pg:
            with pg_loaded(pg, m) as dsn, PostgresStore(dsn) as store:
                report_bench("PostgreSQL", store, m)
        trail = TEMPLATES["closed"][1]
        print(f"\nexport of {m:,} cases ({m * len(trail):,} entries) from SQLite")
        context = multiprocessing.get_context("fork")
        with context.Pool(1) as pool:
            base = pool.apply(_rss)
        for name in ("XES", "OCEL 2.0"):
            with context.Pool(1) as pool:
                events, seconds, rss, size = pool.apply(_export, (name, path, Path(folder)))
            print(f"  {name:9} {events:,} events in {seconds:6.1f} s"
                  f" ({events / seconds:,.0f} events/s), peak RSS +{(rss - base) / 1024:5.1f} MiB"
                  f" over an idle process, file {size / 2**20:,.0f} MiB")  # fmt: skip


@contextlib.contextmanager
def pg_loaded(pg: str, m: int) -> Iterator[str]:
    """A fresh schema holding ``m`` whole trails (dropped afterwards); its DSN."""
    import psycopg  # noqa: PLC0415

    with fresh_schema(pg) as dsn:
        PostgresStore(dsn).close()
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            for cases, entries in whole_trails(m):
                _copy(cur, f"casework_cases ({_sql.CASE_COLUMNS})", cases)
                _copy(cur, _ENTRY_COLUMNS, entries)
            conn.commit()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        yield dsn


def _rss() -> int:
    """This process's peak resident memory in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _export(name: str, path: Path, folder: Path) -> tuple[int, float, int, int]:
    """Export the store at ``path`` in a child process: events, seconds, peak RSS, bytes."""
    out_path = folder / f"log.{name[:3].lower()}"
    export = export_xes if name == "XES" else export_ocel
    with SQLiteStore(path) as store, out_path.open("w", encoding="utf-8") as out:
        t0 = time.perf_counter()
        events = export(stored_trails(store), out, workflows=[WORKFLOW])
        seconds = time.perf_counter() - t0
    return events, seconds, _rss(), out_path.stat().st_size


def pg_schema(dsn: str) -> tuple[str, str]:
    """A new schema's name and a DSN whose search path is that schema."""
    name = f"cw_bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in dsn else "?"
    return name, f"{dsn}{sep}options={quote(f'-csearch_path={name}')}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the three parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--opening-only", action="store_true")
    default_pg = os.environ.get("CASEWORK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg", default=default_pg)
    args = parser.parse_args(argv)
    if args.cases:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "oversight.sqlite3"
            t0 = time.perf_counter()
            load_sqlite(path, args.cases)
            print(f"loaded {args.cases:,} cases into SQLite in {time.perf_counter() - t0:.0f} s")
            with SQLiteStore(path) as store:
                report("sqlite", str(path), store)
    if args.cases and args.pg:
        with fresh_schema(args.pg) as dsn:
            t0 = time.perf_counter()
            entries = load_pg(dsn, args.cases, whole=not args.opening_only)
            print(f"\nloaded {args.cases:,} cases ({entries:,} entries) into PostgreSQL"
                  f" in {time.perf_counter() - t0:.0f} s")  # fmt: skip
            with PostgresStore(dsn) as store:
                report("postgres", dsn, store)
    if args.export:
        export_bench(args.export, args.pg)


if __name__ == "__main__":
    main(sys.argv[1:])
