"""Timers at scale: `run_due` among 1,000,000 stored cases on SQLite, and `due` when idle.

1. Builds an SQLite store of N cases (1,000,000 by default) on a family-tracing workflow
   whose state has a 14-day timer. The cases and their opening entries are made by a real
   `Engine` (in memory, in chunks) and written to SQLite in large transactions, the way an
   import would, so the load does not take the hour that N separate commits would.
   ``--due`` of them (10,000 by default) were opened 15 days before "now", the rest
   within the last 13 days, so their timers are not due yet.
2. Times `Engine.due(now)` when no timer is due (best of 20), and when the 10,000 are.
3. Times `Engine.run_due(now)`: finding, leasing and firing every due timer, each commit
   its own transaction (``synchronous=NORMAL`` and ``FULL``, on fresh copies of the file).
4. Times a second `run_due(now)`, which must find nothing to do.

Run: ``python benchmarks/bench_time.py [--cases N] [--due D] [--db PATH]``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casework_flow import Actor, Engine, SQLiteStore, State, Timer, Transition, Workflow
from casework_flow.guards import count, time_in_state
from casework_flow.stores import _sql

NOW = datetime(2024, 6, 3, 3, 0, tzinfo=UTC)
WORKER = Actor("sw-017", {"social_worker"})
CHUNK = 20_000


def workflow() -> Workflow:
    """Family tracing with the 14-day no-response timer of the seed workflow."""
    return Workflow(
        name="family-tracing",
        version=1,
        initial="tracing",
        states=[
            State(
                "tracing",
                timers=[
                    Timer(
                        timedelta(days=14),
                        "unresponsive",
                        reason="No response for 14 days.",
                        reason_code="FAMILY_UNRESPONSIVE",
                    )
                ],
            ),
            State("conference"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("contact", source="tracing", dest=None, roles={"social_worker"}),
            Transition(
                "unresponsive",
                source="tracing",
                dest="conference",
                roles={"social_worker", "system"},
                guard=(count("contact") >= 3) | (time_in_state() >= timedelta(days=14)),
                reason_codes=("FAMILY_UNRESPONSIVE",),
            ),
            Transition("close", source="conference", dest="closed", roles={"supervisor"}),
        ],
    )


def build(path: Path, total: int, due: int) -> None:
    """Write ``total`` cases, ``due`` of them with a due timer, in large transactions."""
    wf = workflow()
    SQLiteStore(path).close()  # creates the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    marks = ", ".join(["?"] * 14)
    start = time.perf_counter()
    moment = [NOW]
    for first in range(0, total, CHUNK):
        engine = Engine([wf], clock=lambda: moment[0])
        rows, entries = [], []
        for n in range(first, min(first + CHUNK, total)):
            if n < due:
                opened = NOW - timedelta(days=15, minutes=n % 600)
            else:
                opened = NOW - timedelta(days=13) + timedelta(seconds=(n * 7) % (12 * 86_400))
            moment[0] = opened
            case = engine.open(wf.name, f"MDN-{n:07d}", actor=WORKER, assignee=f"sw-{n % 40:03d}")
            trail = engine.trail(case.id)
            rows.append(_sql.case_row(case, _sql.micros(opened), trail[-1].head))
            entries += [_sql.entry_row(e, 0)[:3] for e in trail]
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS}) VALUES ({marks})",  # noqa: S608 - fixed names
            rows,
        )
        conn.executemany(
            "INSERT INTO casework_entries (case_id, seq, body) VALUES (?, ?, ?)", entries
        )
        conn.execute("COMMIT")
    conn.close()
    took = time.perf_counter() - start
    size = path.stat().st_size / 2**20
    print(f"built {total:,} cases ({due:,} with a due timer) in {took:.0f} s, {size:,.0f} MiB")


def best(run: object, times: int = 20) -> float:
    """Best wall time of ``times`` calls, in milliseconds."""
    fastest = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        fastest = min(fastest, time.perf_counter() - start)
    return fastest * 1000


def measure(path: Path, synchronous: str, due: int) -> None:
    """Time due and run_due on one copy of the database."""
    with SQLiteStore(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        engine = Engine([workflow()], store=store, clock=lambda: NOW)
        idle = NOW - timedelta(days=2)
        assert not engine.due(idle)
        print(f"  due(now) when none are due: {best(lambda: engine.due(idle)):.2f} ms")
        listed = best(lambda: engine.due(NOW), times=3)
        assert len(engine.due(NOW).timers) == due
        print(f"  due(now) listing the {due:,} due timers: {listed:.0f} ms")
        start = time.perf_counter()
        report = engine.run_due(NOW)
        took = time.perf_counter() - start
        assert len(report.fired) == due, report
        print(
            f"  run_due(now) found and fired {len(report.fired):,} timers in {took:.1f} s"
            f" ({due / took:,.0f} per second)"
        )
        start = time.perf_counter()
        again = engine.run_due(NOW)
        assert not again.runs
        print(f"  run_due(now) again: nothing to do, {(time.perf_counter() - start) * 1000:.2f} ms")
        sample = store.trail("MDN-0000000")[-1]
        assert (sample.actor_id, sample.timer) == ("system", "unresponsive")


def main() -> None:
    """Build once, then measure on fresh copies for each synchronous setting."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--db", type=Path, help="where to build (a temporary folder by default)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="casework-bench-time-"))
    base = args.db or folder / "base.sqlite3"
    build(base, args.cases, args.due)
    for synchronous in ("NORMAL", "FULL"):
        copy = folder / f"{synchronous.lower()}.sqlite3"
        shutil.copy(base, copy)
        print(f"SQLite synchronous={synchronous}:")
        measure(copy, synchronous, args.due)
        copy.unlink()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
