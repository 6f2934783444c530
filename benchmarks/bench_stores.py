"""Durable stores: committed fires per second, and a million cases in SQLite.

1. Committed fires per second (the seed story's steps through ``Engine.fire``) on SQLite
   (``synchronous=FULL`` and ``NORMAL``) and on PostgreSQL, in one process and in four,
   each beside the raw floor on the same database and settings: one row inserted and
   committed per transaction, as many rows as fires, in turns (median of three).
2. ``Engine.open_many`` of 100,000 cases in batches of 1,000 on SQLite (FULL, NORMAL).
3. Loading 1,000,000 cases into SQLite through ``Engine.open`` (``synchronous=NORMAL``),
   marking 1% of them due, then timing a page of due cases, a page of cases in a state,
   and counts by state; peak resident memory of the run.

Run: ``python benchmarks/bench_stores.py [--cases N] [--pg DSN]``. PostgreSQL figures use
a fresh schema in the given database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import attrs

from casework_flow import (
    AuditEntry,
    Case,
    Engine,
    InMemoryStore,
    ManualClock,
    NewCase,
    PostgresStore,
    SQLiteStore,
    seed,
)
from casework_flow.stores import Query, Store
from casework_flow.stores._protocol import Change
from casework_flow.time import DeadlineClock


def due_by(case: Case, due: datetime) -> Case:
    """The case with a running deadline that falls due at ``due``."""
    clock = DeadlineClock(case.state, case.opened_at, timedelta(0), case.opened_at, due)
    return attrs.evolve(case, deadline=clock)


ROOT = Path(__file__).resolve().parent.parent
START = datetime(2024, 3, 4, tzinfo=UTC)


def open_store(spec: str) -> Store:
    """Open ``sqlite-full:PATH``, ``sqlite-normal:PATH`` or ``postgres:DSN``."""
    kind, _, where = spec.partition(":")
    if kind == "sqlite-full":
        return SQLiteStore(where, synchronous="FULL")
    if kind == "sqlite-normal":
        return SQLiteStore(where, synchronous="NORMAL")
    return PostgresStore(where)


def play_cases(spec: str, prefix: str, cases: int) -> tuple[int, float]:
    """Open ``cases`` cases and play the story on each; return (fires, seconds)."""
    store = open_store(spec)
    clock = ManualClock(START)
    engine = Engine([seed.build_workflow()], store=store, clock=clock)
    fires = 0
    start = time.perf_counter()
    for n in range(cases):
        case_id = f"{prefix}-{n:06d}"
        engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
        for step in seed.HAPPY_PATH:
            clock.advance(timedelta(days=step[-1]))
            seed.take(engine, case_id, step)
            fires += 1
    seconds = time.perf_counter() - start
    store.close()  # type: ignore[attr-defined]
    return fires, seconds


RAW_BODY = "x" * 900
"""About the size of one stored entry."""


def raw_commits(spec: str, prefix: str, cases: int) -> tuple[int, float]:
    """The floor: one row inserted and committed per step, on the same database and settings.

    As many rows as `play_cases` commits fires, into a table of (id, body) rows.
    """
    rows = cases * len(seed.HAPPY_PATH)
    kind, _, where = spec.partition(":")
    if kind.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        conn = sqlite3.connect(where, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if kind == 'sqlite-full' else 'NORMAL'}")
        conn.execute("CREATE TABLE IF NOT EXISTS raw_bench (id TEXT PRIMARY KEY, body TEXT)")
        start = time.perf_counter()
        for n in range(rows):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO raw_bench VALUES (?, ?)", (f"{prefix}-{n}", RAW_BODY))
            conn.execute("COMMIT")
        seconds = time.perf_counter() - start
        conn.close()
        return rows, seconds
    import psycopg  # noqa: PLC0415

    with psycopg.connect(where, autocommit=True) as pg:
        pg.execute("CREATE TABLE IF NOT EXISTS raw_bench (id TEXT PRIMARY KEY, body TEXT)")
    with psycopg.connect(where) as pg:
        start = time.perf_counter()
        for n in range(rows):
            pg.execute("INSERT INTO raw_bench VALUES (%s, %s)", (f"{prefix}-{n}", RAW_BODY))
            pg.commit()
        seconds = time.perf_counter() - start
    return rows, seconds


class _Recording(InMemoryStore):
    """An in-memory store that keeps every commit it is given, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[Case, tuple[AuditEntry, ...], int]] = []

    def commit_many(self, changes: Sequence[Change]) -> None:
        super().commit_many(changes)
        self.steps.extend((case, tuple(entries), expected) for case, entries, expected in changes)

    def commit(self, case: Case, entries: Sequence[AuditEntry], *, expected_revision: int) -> None:
        self.commit_many([(case, entries, expected_revision)])


def schema_floor(spec: str, prefix: str, cases: int) -> tuple[int, float]:
    """The statements a fire sends, with no library between: the schema's own floor.

    The story is played in memory first; then, timed, each step's SQL goes to the
    database as the store sends it: the case row read, then in one transaction the
    conditional UPDATE of the row (its JSON body and indexed columns) and the entry's
    INSERT. What is left between this and the engine's rate is the library's work.
    """
    store = open_store(spec)
    played = []
    for n in range(cases):
        recording = _Recording()
        clock = ManualClock(START)
        engine = Engine([seed.build_workflow()], store=recording, clock=clock)
        case_id = f"{prefix}-{n:06d}"
        opened = engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
        for step in seed.HAPPY_PATH:
            clock.advance(timedelta(days=step[-1]))
            seed.take(engine, case_id, step)
        store.create(opened, recording.trail(case_id)[:1])
        played += [(*store._update(c, e, x), e) for c, e, x in recording.steps]  # type: ignore[attr-defined]  # noqa: SLF001
    select = f"SELECT body, head_seq, head_hash FROM casework_cases WHERE id = {store._mark}"  # type: ignore[attr-defined]  # noqa: SLF001, S608
    start = time.perf_counter()
    for sql, params, _, entries in played:
        with store._read("read") as conn:  # type: ignore[attr-defined]  # noqa: SLF001
            conn.execute(select, (entries[0].case_id,)).fetchall()
        with store._write("write") as conn:  # type: ignore[attr-defined]  # noqa: SLF001
            conn.execute(sql, params)
            store._insert_entries(conn, entries)  # type: ignore[attr-defined]  # noqa: SLF001
    seconds = time.perf_counter() - start
    store.close()  # type: ignore[attr-defined]
    return len(played), seconds


WORKERS = {"--worker": play_cases, "--raw-worker": raw_commits, "--floor-worker": schema_floor}


def fire_rate(spec: str, processes: int, cases: int, *, raw: str = "") -> float:
    """Committed fires (or raw rows: ``raw`` is "rows" or "schema") per second."""
    run = {"": play_cases, "rows": raw_commits, "schema": schema_floor}[raw]
    turn = uuid.uuid4().hex[:6]
    if processes == 1:
        fires, seconds = run(spec, f"solo{turn}", cases)
        return fires / seconds
    flag = {"": "--worker", "rows": "--raw-worker", "schema": "--floor-worker"}[raw]
    workers = [
        subprocess.Popen(  # noqa: S603 - this very script, with the current interpreter
            [sys.executable, __file__, flag, spec, f"p{processes}w{i}{turn}", str(cases)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    outputs = [w.communicate()[0].split() for w in workers]
    assert all(w.returncode == 0 for w in workers)
    # Each worker times its own loop (not its start-up or preparation); they overlap.
    return sum(int(out[0]) for out in outputs) / max(float(out[1]) for out in outputs)


class _Kept(InMemoryStore):
    """An in-memory store that keeps the batches `Engine.open_many` creates."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[tuple[Case, list[AuditEntry]]]] = []

    def create_many(self, cases: Sequence[tuple[Case, Sequence[AuditEntry]]]) -> None:
        super().create_many(cases)
        self.batches.append([(c, list(e)) for c, e in cases])


def bulk_open(folder: Path, total: int) -> None:
    """``Engine.open_many`` in batches of 1,000: cases opened per second, and its floors.

    Beside the engine on SQLite: the same in memory (the core's own work), the store's
    ``create_many`` given the cases already made (the store's share: encoding and SQL),
    and the rows, encoded beforehand, sent by a bare ``executemany`` (the schema's floor).
    """
    rows = [
        NewCase(f"LEG-{i:07d}", data={"found_at": "Simpang Pos"}, assignee=f"sw-{i % 40:03d}")
        for i in range(total)
    ]
    kept = _Kept()
    engine = Engine([seed.build_workflow()], store=kept, clock=ManualClock(START))
    start = time.perf_counter()
    engine.open_many(seed.WORKFLOW, rows, actor=seed.OUTREACH, batch_size=1000)
    seconds = time.perf_counter() - start
    print(f"open_many, in memory: {total / seconds:,.0f} cases per second")
    for synchronous in ("FULL", "NORMAL"):
        with SQLiteStore(folder / f"bulk-{synchronous}.sqlite3", synchronous=synchronous) as store:
            engine = Engine([seed.build_workflow()], store=store, clock=ManualClock(START))
            start = time.perf_counter()
            engine.open_many(seed.WORKFLOW, rows, actor=seed.OUTREACH, batch_size=1000)
            seconds = time.perf_counter() - start
        with SQLiteStore(folder / f"made-{synchronous}.sqlite3", synchronous=synchronous) as store:
            start = time.perf_counter()
            for batch in kept.batches:
                store.create_many(batch)
            made = time.perf_counter() - start
        print(
            f"open_many, SQLite {synchronous}: {total:,} cases in {seconds:.1f} s,"
            f" {total / seconds:,.0f} cases per second; the store alone (cases made"
            f" beforehand) {total / made:,.0f}; {_bare_inserts(folder, synchronous, kept)}"
        )


def _bare_inserts(folder: Path, synchronous: str, kept: _Kept) -> str:
    """The rows of every batch, encoded beforehand, through a bare executemany each."""
    import sqlite3  # noqa: PLC0415

    from casework_flow.stores import _sql, _waiting  # noqa: PLC0415

    path = folder / f"bare-{synchronous}.sqlite3"
    SQLiteStore(path).close()
    batches = []
    for n, batch in enumerate(kept.batches):
        cases = [_sql.case_row(c, _sql.changed_at(e, 0), e[-1].head) for c, e in batch]
        entries = [_sql.entry_row(e[0], n * 1000 + i + 1) for i, (_, e) in enumerate(batch)]
        waiting = [r for c, _ in batch for r in _waiting.rows(c)]
        batches.append((cases, entries, waiting))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    insert_case = f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS}) VALUES ({', '.join('?' * 14)})"  # noqa: S608
    total = sum(len(b[0]) for b in batches)
    start = time.perf_counter()
    for cases, entries, waiting in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert_case, cases)
        conn.executemany(_sql.ENTRY_INSERT.format(m="?"), entries)
        if waiting:
            conn.executemany(_waiting.INSERT.format(m="?"), waiting)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return f"the same rows with no library {total / seconds:,.0f}"


def million(path: Path, total: int) -> None:
    """Load ``total`` cases into SQLite and time the queries a case system makes."""
    store = SQLiteStore(path, synchronous="NORMAL")
    clock = ManualClock(START)
    engine = Engine([seed.build_workflow()], store=store, clock=clock)
    data = {"found_at": "Simpang Pos", "referral_source": "street_outreach"}
    start = time.perf_counter()
    for i in range(total):
        engine.open(
            seed.WORKFLOW,
            f"MDN-{i:07d}",
            actor=seed.OUTREACH,
            data=data,
            assignee=f"sw-{i % 40:03d}",
        )
        if i % 1000 == 999:
            clock.advance(minutes=1)
    load = time.perf_counter() - start
    print(
        f"load {total:,} cases into SQLite via Engine.open: {load:.0f} s"
        f" ({total / load:,.0f} per second), file {path.stat().st_size / 2**20:,.0f} MiB"
    )
    start = time.perf_counter()
    for i in range(0, total, 100):
        snap = store.load(f"MDN-{i:07d}")
        due = START + timedelta(days=1 + (i // 100) % 30)
        store.commit(due_by(snap.case, due), [], expected_revision=snap.case.revision)
    print(f"  marked {total // 100:,} cases due in {time.perf_counter() - start:.1f} s")
    when = START + timedelta(days=10)
    timings = {
        "first page (100) of due cases": lambda: store.find(Query(due_before=when), limit=100),
        "first page (50) of cases in a state": lambda: store.find(
            Query(state="reported"), limit=50
        ),
        "page 50 of one worker's cases": lambda: store.find(Query(assignee="sw-007"), limit=50),
        "due query when none are due": lambda: store.find(Query(due_before=START), limit=100),
        "counts by state for one workflow version": lambda: store.count_by_state(
            Query(workflow=seed.WORKFLOW, version=1)
        ),
    }
    for label, run in timings.items():
        run()
        start = time.perf_counter()
        for _ in range(20):
            run()
        print(f"  {label}: {(time.perf_counter() - start) / 20 * 1000:.2f} ms")
    start = time.perf_counter()
    due_count, cursor = 0, None
    while True:
        page = store.find(Query(due_before=when), limit=1000, after=cursor)
        due_count += len(page.cases)
        if page.cursor is None:
            break
        cursor = page.cursor
    print(f"  all {due_count:,} due cases, paged by 1,000: {time.perf_counter() - start:.2f} s")
    store.close()


def pg_schema_dsn(dsn: str) -> tuple[str, str]:
    """Make a fresh schema; return (its name, a DSN that uses it)."""
    import psycopg  # noqa: PLC0415 - only when PostgreSQL is measured

    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in dsn else "?"
    return name, f"{dsn}{sep}options={quote(f'-csearch_path={name}')}"


def main() -> None:
    """Run every measurement and print the figures."""
    if len(sys.argv) > 1 and sys.argv[1] in WORKERS:
        fires, seconds = WORKERS[sys.argv[1]](sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.stdout.write(f"{fires} {seconds}\n")
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases for the load test")
    parser.add_argument("--fire-cases", type=int, default=100, help="story cases per process")
    parser.add_argument("--bulk-cases", type=int, default=100_000, help="cases for open_many")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    specs = {
        "SQLite FULL": lambda n: f"sqlite-full:{folder / f'full{n}.sqlite3'}",
        "SQLite NORMAL": lambda n: f"sqlite-normal:{folder / f'normal{n}.sqlite3'}",
    }
    schema = None
    if args.pg:
        schema, dsn = pg_schema_dsn(args.pg)
        specs["PostgreSQL"] = lambda _n: f"postgres:{dsn}"
    try:
        for label, make in specs.items():
            for processes in (1, 4):
                rates = []
                for _ in range(3):
                    engine = fire_rate(make(processes), processes, args.fire_cases)
                    raw = fire_rate(make(processes), processes, args.fire_cases, raw="rows")
                    floor = fire_rate(make(processes), processes, args.fire_cases, raw="schema")
                    rates.append((engine / raw, engine, raw, floor))
                ratio, engine, raw, floor = sorted(rates)[1]
                print(
                    f"{label}, {processes} process{'es' if processes > 1 else ''}:"
                    f" {engine:,.0f} committed fires per second, raw {raw:,.0f} rows per"
                    f" second: {ratio:.2f}x; the fire's own statements with no library:"
                    f" {floor:,.0f} per second, {engine / floor:.2f}x (median of 3 turns)"
                )
    finally:
        if schema is not None:
            import psycopg  # noqa: PLC0415 - only when PostgreSQL is measured

            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    bulk_open(folder, args.bulk_cases)
    if args.cases:
        million(folder / "million.sqlite3", args.cases)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
