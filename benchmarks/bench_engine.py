"""Engine speed and memory, in one run, against a bare `transitions` Machine.

1. Fires per second: the seed story's steps (guards, audit entries, SHA-256, the
   in-memory store), each case played through them in turn and, for comparison, the
   same steps interleaved across many cases, against a bare Machine with the same
   states and transitions firing the same events on one model. The three are measured
   in turns, best of three each, so a busy moment of the machine hits all of them.
2. Opening 1,000,000 cases in the in-memory store: seconds (per 100,000, to show the time
   is linear) and bytes per case, with the share held by the opening audit entries.

Rates are the best of three runs, to damp noise from the machine.

Run: ``make bench`` or ``python benchmarks/bench_engine.py [--cases N]``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from transitions import Machine

from casework_flow import Engine, InMemoryStore, ManualClock, Workflow, seed

ROOT = Path(__file__).resolve().parent.parent


PATH = seed.HAPPY_PATH


def bare_machine(workflow: Workflow) -> tuple[Any, list[str]]:
    """A bare Machine on one model with the workflow's states and transitions; the events.

    The events are the path's, in order, without the approval (not an event).
    """

    class Model:
        state = workflow.initial

    model = Model()
    machine = Machine(
        model=model,
        states=[s.id for s in workflow.states],
        initial=workflow.initial,
        auto_transitions=False,
    )
    for t in workflow.transitions:
        machine.add_transition(t.event, list(t.source), t.dest)
    return model, [p[0] for p in PATH if p[0] != seed.APPROVE]


def bare_rate(workflow: Workflow, rounds: int) -> float:
    """Fires per second of a bare Machine on one model, same states, transitions, events."""
    model, events = bare_machine(workflow)
    start = time.perf_counter()
    for _ in range(rounds):
        model.state = workflow.initial
        for event in events:
            getattr(model, event)()
    return rounds * len(events) / (time.perf_counter() - start)


def engine_rate(workflow: Workflow, cases: int) -> float:
    """Fires per second of Engine.fire, each case played through the path in turn.

    The counterpart of the bare Machine's one model: one case at a time, its steps one
    after the other, as a worker takes a case through a day's steps. Only the fires are
    timed; the clock is set to each step's time before it.
    """
    base = datetime(2024, 3, 4, tzinfo=UTC)
    times, at = [], base
    for step in PATH:
        at += timedelta(days=step[-1])
        times.append(at)
    now = [base]
    engine = Engine([workflow], clock=lambda: now[0])
    ids = [f"MDN-2024-{i:06d}" for i in range(cases)]
    for case_id in ids:
        engine.open(workflow.name, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
    steps = list(zip(times, PATH, strict=True))
    take = seed.take
    start = time.perf_counter()
    for case_id in ids:
        for at, step in steps:
            now[0] = at
            take(engine, case_id, step)
    elapsed = time.perf_counter() - start
    assert engine.get(ids[-1]).state == "closed_independent"
    return cases * len(PATH) / elapsed


def interleaved_rate(workflow: Workflow, cases: int) -> float:
    """Fires per second when each step is taken on every case before the next step.

    Every fire touches another case (less of it is in the processor's caches) but repeats
    the event before it (the same guards, the same encoded strings).
    """
    clock = ManualClock(datetime(2024, 3, 4, tzinfo=UTC))
    engine = Engine([workflow], clock=clock)
    ids = [f"MDN-2024-{i:06d}" for i in range(cases)]
    for case_id in ids:
        engine.open(workflow.name, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
    elapsed = 0.0
    for step in PATH:
        clock.advance(timedelta(days=step[-1]))
        start = time.perf_counter()
        for case_id in ids:
            seed.take(engine, case_id, step)
        elapsed += time.perf_counter() - start
    assert engine.get(ids[-1]).state == "closed_independent"
    return cases * len(PATH) / elapsed


def rss_bytes() -> int:
    """Resident memory of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def open_many(workflow: Workflow, total: int) -> None:
    """Open ``total`` cases; report time per 100,000 and resident bytes per case."""
    store = InMemoryStore()
    clock = ManualClock(datetime(2024, 3, 4, tzinfo=UTC))
    engine = Engine([workflow], store=store, clock=clock)
    data = {"found_at": "Simpang Pos", "referral_source": "street_outreach"}
    gc.collect()
    base = rss_bytes()
    step = max(total // 10, 1)
    start = time.perf_counter()
    marks = []
    for i in range(total):
        engine.open(
            workflow.name, f"MDN-{i:07d}", actor=seed.OUTREACH, data=data, assignee="sw-017"
        )
        if (i + 1) % step == 0:
            marks.append(time.perf_counter() - start)
    seconds = time.perf_counter() - start
    gc.collect()
    per_case = (rss_bytes() - base) / total
    chunks = [b - a for a, b in zip([0.0, *marks], marks, strict=False)]
    print(f"open {total:,} cases: {seconds:.1f} s ({total / seconds:,.0f} per second)")
    print(
        f"  seconds per {step:,} cases, first to last chunk: "
        + " ".join(f"{c:.2f}" for c in chunks)
    )
    print(f"  resident memory: {per_case:,.0f} bytes per case, opening entry included")


def breakdown(workflow: Workflow, n: int) -> None:
    """Bytes per case with and without its trail, by tracemalloc on ``n`` cases."""
    store = InMemoryStore()
    engine = Engine([workflow], store=store, clock=ManualClock(datetime(2024, 3, 4, tzinfo=UTC)))
    data = {"found_at": "Simpang Pos", "referral_source": "street_outreach"}
    gc.collect()
    tracemalloc.start()
    for i in range(n):
        engine.open(
            workflow.name, f"MDN-{i:07d}", actor=seed.OUTREACH, data=data, assignee="sw-017"
        )
    gc.collect()
    with_trail = tracemalloc.get_traced_memory()[0]
    store._trails.clear()  # noqa: SLF001 - measuring what the trails held
    gc.collect()
    without = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"  tracemalloc on {n:,} cases: {without / n:,.0f} bytes per case before its trail,"
        f" {(with_trail - without) / n:,.0f} more for the opening entry"
    )


def add_model_cost(workflow: Workflow, n: int) -> None:
    """For comparison: transitions' own add_model, n models."""
    machine = Machine(
        model=None,
        states=[s.id for s in workflow.states],
        initial=workflow.initial,
        auto_transitions=False,
    )
    for t in workflow.transitions:
        machine.add_transition(t.event, list(t.source), t.dest)
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    for _ in range(n):
        machine.add_model(type("M", (), {})())
    seconds = time.perf_counter() - start
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"transitions add_model, {n:,} models: {seconds:.1f} s, {used / n:,.0f} bytes per model")


def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to open")
    parser.add_argument("--fire-cases", type=int, default=5_000, help="cases for the fire rate")
    parser.add_argument("--add-models", type=int, default=10_000, help="0 to skip")
    args = parser.parse_args()
    workflow = seed.build_workflow()
    print(f"Python {sys.version.split()[0]}, workflow {workflow.name} v{workflow.version}")
    rounds = max(args.fire_cases, 1000)
    bare = ours = mixed = 0.0
    for _ in range(3):
        bare = max(bare, bare_rate(workflow, rounds))
        ours = max(ours, engine_rate(workflow, args.fire_cases))
        mixed = max(mixed, interleaved_rate(workflow, args.fire_cases))
    print(f"bare transitions Machine, one model: {bare:,.0f} fires per second")
    print(
        "Engine.fire (guards, audit, SHA-256, in-memory store), case by case:"
        f" {ours:,.0f} fires per second = {ours / bare:.2f} of bare"
    )
    print(
        f"  the same steps interleaved across {args.fire_cases:,} cases:"
        f" {mixed:,.0f} fires per second = {mixed / bare:.2f} of bare"
    )
    open_many(workflow, args.cases)
    breakdown(workflow, min(args.cases, 200_000))
    if args.add_models:
        add_model_cost(workflow, args.add_models)


if __name__ == "__main__":
    main()
