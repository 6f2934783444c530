"""Checkpoint and verify-against-checkpoint on a million stored cases, SQLite and PostgreSQL.

Cases are made by the pure core (open, then ``start`` and ``contact``: three entries
each) and written in bulk, so loading is not what is timed. Then, side by side in one
run on each database:

1. the raw read of every case's head (``SELECT id, head_seq, head_hash``): the floor of
   a checkpoint;
2. ``Engine.checkpoint``: that read, the Merkle tree over the heads, the signature;
3. writing the checkpoint file, and reading and checking it back;
4. the raw read of every entry's body, parsed and hashed with SHA-256: the floor of
   verifying;
5. ``Engine.verify_store(checkpoint=...)``: every trail read, each entry rebuilt and its
   hash recomputed, the chain walked, the case folded and compared with its row, and
   each case's head checked against the checkpoint.

Run: ``python benchmarks/bench_checkpoint.py [--cases N] [--only sqlite|postgres]``;
PostgreSQL through ``CASEWORK_BENCH_PG_DSN`` (default: the local test database).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casework_flow import Actor, Engine, PostgresStore, SQLiteStore, State, Transition, Workflow
from casework_flow._catalog import Catalog
from casework_flow._commands import Fire, Open
from casework_flow._decide import decide, open_case
from casework_flow._evolve import evolve
from casework_flow._snapshot import Snapshot
from casework_flow.checkpoints import read_checkpoint, write_checkpoint
from casework_flow.stores import _sql

WORKER = Actor("sw-017", {"social_worker"})
START = datetime(2024, 3, 4, tzinfo=UTC)
PG_DSN = os.environ.get("CASEWORK_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
WORKFLOW = Workflow(
    name="bench-process",
    version=1,
    initial="intake",
    states=[State("intake"), State("tracing"), State("closed", terminal=True)],
    transitions=[
        Transition("start", source="intake", dest="tracing", roles={"social_worker"}),
        Transition("contact", source="tracing", dest=None, roles={"social_worker"}),
        Transition("close", source="tracing", dest="closed", roles={"social_worker"}),
    ],
)
KEY = Ed25519PrivateKey.generate()


def made_cases(total: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[str, int, str]]]]:
    """Each case's row and its entries' rows, made by the pure core as the engine would."""
    catalog = Catalog([WORKFLOW])
    for i in range(total):
        now = START + timedelta(seconds=i)
        opened = open_case(
            catalog, Open(f"MDN-{i:07d}", WORKFLOW.name, 1, WORKER, assignee=WORKER.id), now
        )
        case = evolve(None, opened, catalog=catalog)
        entries = [opened]
        for event in ("start", "contact"):
            result = decide(catalog, Snapshot(case, entries[-1].head), Fire(event, WORKER), now)
            assert result.after is not None
            case = result.after
            entries.extend(result.entries)
        row = _sql.case_row(case, _sql.micros(now), entries[-1].head)
        yield row, [_sql.entry_row(e, 0)[:3] for e in entries]


def _batches(total: int, size: int = 20_000) -> Iterator[tuple[list[Any], list[Any]]]:
    cases: list[Any] = []
    entries: list[Any] = []
    for row, rows in made_cases(total):
        cases.append(row)
        entries.extend(rows)
        if len(cases) == size:
            yield cases, entries
            cases, entries = [], []
    if cases:
        yield cases, entries


def _insert(conn: Any, mark: str, total: int) -> None:  # noqa: ANN401 - a DB-API connection
    columns = _sql.CASE_COLUMNS
    marks = ", ".join([mark] * len(columns.split(",")))
    for cases, entries in _batches(total):
        cur = conn.cursor()
        cur.executemany(f"INSERT INTO casework_cases ({columns}) VALUES ({marks})", cases)  # noqa: S608
        insert = "INSERT INTO casework_entries (case_id, seq, body) VALUES ({m}, {m}, {m})"
        cur.executemany(insert.format(m=mark), entries)
        conn.commit()


@contextmanager
def sqlite_engine(total: int) -> Iterator[tuple[Engine, Callable[[str], list[Any]]]]:
    """An engine on an SQLite file holding ``total`` cases, and a raw query runner."""
    import sqlite3  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="cw-bench-cp-"))
    path = folder / "cases.sqlite3"
    SQLiteStore(path, synchronous="NORMAL").close()
    start = time.perf_counter()
    with sqlite3.connect(path) as conn:
        _insert(conn, "?", total)
    print(
        f"  loaded in {time.perf_counter() - start:.0f} s,"
        f" file {path.stat().st_size / 2**20:,.0f} MiB"
    )
    with SQLiteStore(path, synchronous="NORMAL") as store, sqlite3.connect(path) as raw:
        yield Engine([WORKFLOW], store=store), lambda sql: raw.execute(sql).fetchall()
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


@contextmanager
def postgres_engine(total: int) -> Iterator[tuple[Engine, Callable[[str], list[Any]]]]:
    """An engine on a fresh PostgreSQL schema holding ``total`` cases, and a raw runner."""
    import psycopg  # noqa: PLC0415

    schema = f"cw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    dsn = f"{PG_DSN}{'&' if '?' in PG_DSN else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        PostgresStore(dsn).close()
        start = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            _insert(conn, "%s", total)
            conn.execute("ANALYZE")
        print(f"  loaded in {time.perf_counter() - start:.0f} s")
        with PostgresStore(dsn) as store, psycopg.connect(dsn) as raw:
            yield Engine([WORKFLOW], store=store), lambda sql: raw.execute(sql).fetchall()
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _rss() -> str:
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB peak RSS"


def _timed(label: str, run: Callable[[], Any]) -> Any:  # noqa: ANN401 - what run returns
    start = time.perf_counter()
    out = run()
    print(f"  {label}: {time.perf_counter() - start:7.1f} s  ({_rss()})")
    return out


def _raw_entries(raw: Callable[[str], list[Any]]) -> int:
    n = 0
    for (body,) in raw("SELECT body FROM casework_entries ORDER BY case_id, seq"):
        raw_entry = json.loads(body)
        raw_entry.pop("hash")
        hashlib.sha256(json.dumps(raw_entry, sort_keys=True, separators=(",", ":")).encode())
        n += 1
    return n


def bench(name: str, opened: Callable[[int], Any], total: int) -> None:
    """Every measurement on one database, side by side."""
    print(f"{name}, {total:,} cases, 3 entries each:")
    with opened(total) as (engine, raw):
        _timed(
            "raw read of every head (floor)",
            lambda: raw("SELECT id, head_seq, head_hash FROM casework_cases"),
        )
        checkpoint = _timed(
            "Engine.checkpoint (read, Merkle tree, sign)", lambda: engine.checkpoint(KEY)
        )
        folder = Path(tempfile.mkdtemp(prefix="cw-cp-"))
        path = _timed(
            "write the checkpoint file", lambda: write_checkpoint(checkpoint, folder / "cp.jsonl")
        )
        print(f"    file {path.stat().st_size / 2**20:,.0f} MiB")
        _timed(
            "read and check the checkpoint file", lambda: read_checkpoint(path, KEY.public_key())
        )
        proof = _timed("one inclusion proof", lambda: checkpoint.prove("MDN-0000042"))
        print(f"    {len(proof.path)} hashes, proves: {proof.proves(checkpoint.root)}")
        count = _timed(
            "raw read of every entry, parsed and hashed (floor)", lambda: _raw_entries(raw)
        )
        print(f"    {count:,} entries")
        result = _timed(
            "Engine.verify_store against the checkpoint",
            lambda: engine.verify_store(checkpoint=checkpoint),
        )
        print(f"    ok={result.ok}, {result.checked:,} cases checked")
        path.unlink()
        folder.rmdir()


def main() -> None:
    """Run both databases (or one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.only != "postgres":
        bench("SQLite", sqlite_engine, args.cases)
    if args.only != "sqlite":
        bench("PostgreSQL", postgres_engine, args.cases)


if __name__ == "__main__":
    main()
