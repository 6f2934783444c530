"""The same small process with a count guard, five ways, in one run: fires per second.

The process: ``intake -> tracing``, three ``contact`` steps that stay in ``tracing``,
``refer`` guarded on at least three contacts, then ``close``: six fires per case.

1. bare `transitions`: one Machine, one model reset per case, the guard a model method;
2. python-statemachine 3: one `StateMachine` instance per case, made before timing;
3. this engine in memory (guards with their sentences, audit entries, SHA-256);
4. this engine on SQLite (WAL, ``synchronous=FULL``), every fire a durable commit;
5. raw sqlite3, the same settings, one row inserted and committed per fire: the floor.

Each is measured in turns, best of three, so a busy moment of the machine hits all of
them; the ratios are printed after the rates. Only the fires are timed: cases are opened
(and instances made) before.

Run: ``python benchmarks/bench_peers.py [--cases N] [--durable N]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from statemachine import State as PState
from statemachine import StateMachine
from transitions import Machine

from casework_flow import Actor, Engine, ManualClock, SQLiteStore, State, Transition, Workflow
from casework_flow.guards import count
from casework_flow.stores import Store

PATH = ("start", "contact", "contact", "contact", "refer", "close")
WORKER = Actor("sw-017", {"social_worker"})
START = datetime(2024, 3, 4, tzinfo=UTC)

WORKFLOW = Workflow(
    name="peer-process",
    version=1,
    initial="intake",
    states=[State("intake"), State("tracing"), State("referred"), State("closed", terminal=True)],
    transitions=[
        Transition("start", source="intake", dest="tracing", roles={"social_worker"}),
        Transition("contact", source="tracing", dest=None, roles={"social_worker"}),
        Transition(
            "refer", source="tracing", dest="referred", roles={"social_worker"},
            guard=count("contact") >= 3,
        ),
        Transition("close", source="referred", dest="closed", roles={"social_worker"}),
    ],
)  # fmt: skip


def bare(cases: int) -> float:
    """Bare transitions: one model reset per case, the count kept on the model."""

    class Model:
        state = "intake"
        contacts = 0

        def enough(self) -> bool:
            return self.contacts >= 3

        def counted(self) -> None:
            self.contacts += 1

    model = Model()
    machine = Machine(
        model=model,
        states=["intake", "tracing", "referred", "closed"],
        initial="intake",
        auto_transitions=False,
    )
    machine.add_transition("start", "intake", "tracing")
    machine.add_transition("contact", "tracing", None, after="counted")
    machine.add_transition("refer", "tracing", "referred", conditions="enough")
    machine.add_transition("close", "referred", "closed")
    start = time.perf_counter()
    for _ in range(cases):
        model.state, model.contacts = "intake", 0
        for event in PATH:
            model.trigger(event)
    assert model.state == "closed"
    return cases * len(PATH) / (time.perf_counter() - start)


class Peer(StateMachine):
    """The process in python-statemachine."""

    intake = PState(initial=True)
    tracing = PState()
    referred = PState()
    closed = PState(final=True)

    start = intake.to(tracing)
    contact = tracing.to.itself(on="counted")
    refer = tracing.to(referred, cond="enough")
    close = referred.to(closed)

    def __init__(self) -> None:
        self.contacts = 0
        super().__init__()

    def counted(self) -> None:
        """Count a contact."""
        self.contacts += 1

    def enough(self) -> bool:
        """The count guard."""
        return self.contacts >= 3


def peer(cases: int) -> float:
    """python-statemachine: one instance per case, made before timing."""
    machines = [Peer() for _ in range(cases)]
    start = time.perf_counter()
    for m in machines:
        for event in PATH:
            m.send(event)
    assert all(m.closed.is_active for m in machines[-1:])
    return cases * len(PATH) / (time.perf_counter() - start)


def engine(cases: int, store: Callable[[], Store] | None = None) -> float:
    """This engine: open every case first, then take each through the path."""
    made = store() if store is not None else None
    eng = Engine([WORKFLOW], clock=ManualClock(START), store=made)
    ids = [f"C-{i:06d}" for i in range(cases)]
    for case_id in ids:
        eng.open(WORKFLOW.name, case_id, actor=WORKER)
    fire = eng.fire
    start = time.perf_counter()
    for case_id in ids:
        for event in PATH:
            fire(case_id, event, actor=WORKER)
    elapsed = time.perf_counter() - start
    assert eng.get(ids[-1]).state == "closed"
    close = getattr(made, "close", None)
    if close is not None:
        close()
    return cases * len(PATH) / elapsed


def raw_sqlite(path: Path, cases: int) -> float:
    """The floor: one row inserted and committed per fire, WAL and synchronous=FULL."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS steps (case_id TEXT, seq INTEGER, body TEXT)")
    body = '{"event":"contact","to":"tracing"}'
    start = time.perf_counter()
    for i in range(cases):
        for seq in range(len(PATH)):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO steps VALUES (?, ?, ?)", (f"C-{i}", seq, body))
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return cases * len(PATH) / elapsed


def main(argv: list[str] | None = None) -> None:
    """Measure the five in turns and print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases in memory")
    parser.add_argument("--durable", type=int, default=300, help="cases on SQLite")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    runs: dict[str, Callable[[int], float]] = {
        "bare transitions": bare,
        "python-statemachine": peer,
        "engine, in memory": engine,
        "engine, SQLite": lambda n: engine(
            n, lambda: SQLiteStore(tmp / f"e{time.perf_counter_ns()}.sqlite3")
        ),
        "raw sqlite3 loop": lambda n: raw_sqlite(tmp / f"r{time.perf_counter_ns()}.sqlite3", n),
    }
    durable = {"engine, SQLite", "raw sqlite3 loop"}
    best: dict[str, float] = dict.fromkeys(runs, 0.0)
    for _ in range(3):
        for name, run in runs.items():
            best[name] = max(best[name], run(args.durable if name in durable else args.cases))
    for name, rate in best.items():
        print(f"{name:<22} {rate:>12,.0f} fires/s")
    pairs = [
        ("engine, in memory", "python-statemachine"),
        ("engine, in memory", "bare transitions"),
        ("python-statemachine", "bare transitions"),
        ("engine, SQLite", "raw sqlite3 loop"),
    ]
    ratios = [(f"{a} / {b}", best[a] / best[b]) for a, b in pairs]
    print()
    for name, ratio in ratios:
        print(f"{name:<42} {ratio:6.2f}")


if __name__ == "__main__":
    main()
