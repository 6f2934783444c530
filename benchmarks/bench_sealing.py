"""Sealing personal fields: committed fires per second with a key store beside without.

The story's path (the seed workflow, whose personal fields are the client's alias, the
place found, the family's contact and the home region) played through ``Engine.fire``
on many cases, once with no key store and once with ``InMemoryKeyStore``, in the same
run and on the same kind of store: in memory (the cost of sealing alone) and on SQLite
with ``synchronous=NORMAL``. Reports fires per second and the ratio (median of three).

Run: ``python benchmarks/bench_sealing.py [--cases N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casework_flow import Engine, InMemoryStore, SQLiteStore, seed
from casework_flow.keys import InMemoryKeyStore
from casework_flow.stores import Store


def _rate(make_store: Callable[[], Store], cases: int, *, sealed: bool) -> float:
    """Steps per second through the story's path, one case after the other."""
    workflow = seed.build_workflow()
    base = datetime(2024, 3, 4, tzinfo=UTC)
    now = [base]
    keys = InMemoryKeyStore(os.urandom(32)) if sealed else None
    engine = Engine([workflow], store=make_store(), clock=lambda: now[0], keys=keys)
    ids = [f"MDN-2024-{i:06d}" for i in range(cases)]
    intake = {"client_alias": "Budi", "found_at": "Jl. Gatot Subroto"}
    for case_id in ids:
        engine.open(workflow.name, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id,
                    unit=seed.MEDAN, data=intake)  # fmt: skip
    times, at = [], base
    for step in seed.HAPPY_PATH:
        at += timedelta(days=step[-1], hours=1)
        times.append(at)
    started = time.perf_counter()
    for case_id in ids:
        for when, step in zip(times, seed.HAPPY_PATH, strict=True):
            now[0] = when
            seed.take(engine, case_id, step)
    elapsed = time.perf_counter() - started
    assert engine.get(ids[-1]).state.startswith("closed_")
    return cases * len(seed.HAPPY_PATH) / elapsed


def main() -> None:
    """Print fires per second, plain and sealed, per kind of store."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(1_000_000))
        kinds: dict[str, Callable[[], Store]] = {
            "memory": InMemoryStore,
            "sqlite NORMAL": lambda: SQLiteStore(
                Path(tmp) / f"b{next(runs)}.sqlite3", synchronous="NORMAL"
            ),
        }
        print(f"{'store':<16}{'plain fires/s':>15}{'sealed fires/s':>16}{'ratio':>8}")
        for name, make in kinds.items():
            plain = statistics.median(_rate(make, args.cases, sealed=False) for _ in range(3))
            sealed = statistics.median(_rate(make, args.cases, sealed=True) for _ in range(3))
            print(f"{name:<16}{plain:>15,.0f}{sealed:>16,.0f}{sealed / plain:>8.2f}")


if __name__ == "__main__":
    main()
