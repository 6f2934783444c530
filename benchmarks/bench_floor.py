"""What a fire must cost at least, part by part, against the bare `transitions` Machine.

Every committed step of the engine does what the bare Machine does (the `transitions`
trigger, with the same candidates in the same order) and, besides, builds one audit
entry (its canonical JSON, its SHA-256) and one new case, both frozen attrs values.
This script times those parts alone on the seed story's entries, in a hot loop, next to
the whole `Engine.fire`; what is left is loading, input checks, guards and their
sentences, the decision, deadlines and timers, and the store's commit.

The best ratio any engine doing this work could reach is bare / (bare + parts); the
ratio actually reached is bare / fire.

Run: ``python benchmarks/bench_floor.py``.
"""

from __future__ import annotations

import hashlib
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from casework_flow import Engine, ManualClock, Workflow, seed
from casework_flow._audit import AuditEntry
from casework_flow._canonical import canonical
from casework_flow._case import Case

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import bare_machine, engine_rate


def per_call(fn: Callable[[], object], calls: int, loops: int = 300) -> float:
    """Microseconds per call of what ``fn`` does ``calls`` times: best of five."""
    return min(timeit.repeat(fn, number=loops, repeat=5)) / (loops * calls) * 1e6


def story() -> tuple[Workflow, tuple[AuditEntry, ...], Case]:
    """The seed story played once: its workflow, its entries after the opening, its case."""
    workflow = seed.build_workflow()
    clock = ManualClock(datetime(2024, 3, 4, tzinfo=UTC))
    engine = Engine([workflow], clock=clock)
    engine.open(workflow.name, "MDN-2024-0001", actor=seed.OUTREACH, assignee="sw-017")
    for step in seed.HAPPY_PATH:
        clock.advance(timedelta(days=step[-1]))
        seed.take(engine, "MDN-2024-0001", step)
    return workflow, tuple(engine.trail("MDN-2024-0001")[1:]), engine.get("MDN-2024-0001")


def bare_trigger(workflow: Workflow) -> float:
    """Microseconds per event of a bare Machine firing the story's events on one model."""
    model, events = bare_machine(workflow)

    def bare() -> None:
        model.state = workflow.initial
        for event in events:
            getattr(model, event)()

    return per_call(bare, len(events))


def parts(entries: tuple[AuditEntry, ...], case: Case) -> dict[str, float]:
    """Microseconds per step of each part every committed step has to make."""

    def encode() -> None:
        for e in entries:
            canonical(e.body())

    def digest() -> None:
        for e in entries:
            hashlib.sha256(canonical(e.body())).hexdigest()

    def entry_values() -> None:
        for e in entries:
            attrs.evolve(e, hash=e.hash)

    def case_values() -> None:
        c = case
        for _ in entries:
            attrs.evolve(c, revision=c.revision + 1)

    n = len(entries)
    json_us = per_call(encode, n)
    return {
        "canonical JSON of the entry": json_us,
        "SHA-256 of it": per_call(digest, n) - json_us,
        "the AuditEntry value": per_call(entry_values, n),
        "the new Case value": per_call(case_values, n),
    }


def main() -> None:
    """Time each part and print the floor next to the real figure."""
    workflow, entries, case = story()
    trigger, fire, cost = float("inf"), float("inf"), dict.fromkeys(parts(entries, case), 1e9)
    for _ in range(3):  # in turns, keeping each part's best, so a busy moment hits all
        trigger = min(trigger, bare_trigger(workflow))
        cost = {k: min(v, cost[k]) for k, v in parts(entries, case).items()}
        fire = min(fire, 1e6 / engine_rate(workflow, 1000))
    fixed = sum(cost.values())
    print(f"Python {sys.version.split()[0]}, the seed story's {len(entries)} entries after opening")
    print(f"{'bare Machine trigger':40s} {trigger:6.2f} us")
    for name, us in cost.items():
        print(f"{name:40s} {us:6.2f} us")
    print(f"{'Engine.fire, whole':40s} {fire:6.2f} us")
    rest = fire - trigger - fixed
    print(f"  the rest (load, checks, guards, decision, timing, commit): {rest:.2f} us")
    print(f"best reachable ratio, bare / (bare + parts): {trigger / (trigger + fixed):.2f}")
    print(f"ratio reached, bare / fire:                  {trigger / fire:.2f}")
    print(f"for 0.3 of bare the rest must fit in {trigger / 0.3 - trigger - fixed:.2f} us")


if __name__ == "__main__":
    main()
