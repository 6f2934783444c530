"""What a model test costs beside the host it drives, on the seed workflow.

`model_test` sends every command to the host and to the engine in memory (the model),
and compares their answers and what each shows. Side by side in one run:

1. the walk (depth 6) and 50 random runs on a host that keeps its cases with an engine
   of its own (in memory), timed whole;
2. the very same commands, captured on the way, played on that host alone, each run
   on a fresh host: the floor, what the host itself costs;
3. the same walk on the FastAPI example over httpx (``model_host.ServiceHost``, SQLite
   files), and its commands played on it alone.

The difference between a model test and its floor is the model's own work (the engine
in memory deciding the same step, the walk's planning, the comparison).

Run: ``python benchmarks/bench_model_test.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from casework_flow import Engine, seed
from casework_flow.exceptions import CaseworkError
from casework_flow.testing import (
    HostCommand,
    PassTime,
    Reply,
    Seen,
    model_test,
)
from casework_flow.testing._host_model import on_engine, reply_to, seen_on
from casework_flow.time import ManualClock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "fastapi_host"))

PEOPLE = [seed.OUTREACH, seed.WORKER, seed.SUPERVISOR, seed.SHELTER_HEAD_BINJAI,
          seed.SHELTER_WORKER_BINJAI]  # fmt: skip
WORKFLOW = seed.build_workflow()


class EngineHost:
    """A host on an engine of its own, in memory."""

    def start(self, at: datetime) -> None:
        """A fresh engine, its clock at ``at``."""
        self.clock = ManualClock(at)
        self.engine = Engine([WORKFLOW], clock=self.clock, calendar=seed.CALENDAR)

    def stop(self) -> None:
        """Nothing to release."""

    def apply(self, c: HostCommand) -> Reply:
        """The engine's answer to ``c``."""
        try:
            if isinstance(c, PassTime):
                self.clock.set(max(c.to, self.clock()))
                self.engine.run_due()
            else:
                on_engine(self.engine, WORKFLOW.name, c)
        except CaseworkError as e:
            return reply_to(e)
        return Reply("allowed")

    def look(self, case_id: str) -> Seen | None:
        """The case's state, revision and data."""
        return seen_on(self.engine, case_id)


class Recording:
    """Passes everything to ``host`` and keeps each run's commands."""

    def __init__(self, host: Any) -> None:  # noqa: ANN401 - any Host
        self.host = host
        self.runs: list[tuple[datetime, list[HostCommand]]] = []

    def start(self, at: datetime) -> None:
        """A new run begins."""
        self.runs.append((at, []))
        self.host.start(at)

    def stop(self) -> None:
        """The run ends."""
        self.host.stop()

    def apply(self, c: HostCommand) -> Reply:
        """Keep ``c`` and pass it on."""
        self.runs[-1][1].append(c)
        reply: Reply = self.host.apply(c)
        return reply

    def look(self, case_id: str) -> Seen | None:
        """Pass it on."""
        seen: Seen | None = self.host.look(case_id)
        return seen


def floor(host: Any, runs: list[tuple[datetime, list[HostCommand]]]) -> float:  # noqa: ANN401
    """Seconds to play the captured runs on ``host`` alone (each on a fresh host, looked at)."""
    t0 = time.perf_counter()
    for at, commands in runs:
        host.start(at)
        for c in commands:
            host.apply(c)
            host.look("CASE-1")
        host.stop()
    return time.perf_counter() - t0


def side_by_side(name: str, make: Any, depth: int, examples: int) -> None:  # noqa: ANN401
    """A model test on a host made by ``make``, beside its commands played on the host alone."""
    recording = Recording(make())
    t0 = time.perf_counter()
    report = model_test(WORKFLOW, recording, people=PEOPLE, depth=depth, examples=examples,
                        calendar=seed.CALENDAR)  # fmt: skip
    whole = time.perf_counter() - t0
    alone = floor(make(), recording.runs)
    sent = sum(len(c) for _, c in recording.runs)
    print(f"\n{name}: depth {depth}, {examples} random runs: {report.situations:,} situations,"
          f" {len(recording.runs):,} runs, {sent:,} commands")  # fmt: skip
    print(f"  model test {whole:7.2f} s  ({sent / whole:8,.0f} commands/s)")
    ratio = whole / alone
    print(f"  host alone {alone:7.2f} s  ({sent / alone:8,.0f} commands/s)   model x{ratio:.2f}")


def main() -> None:
    """The engine host, then the FastAPI example."""
    side_by_side("engine host (memory)", EngineHost, depth=6, examples=50)
    from app import create_app  # noqa: PLC0415 - the example, beside this file's path
    from model_host import ServiceHost  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="bench-model-"))
    side_by_side("FastAPI example over httpx (SQLite)",
                 lambda: ServiceHost(create_app, folder), depth=4, examples=0)  # fmt: skip


if __name__ == "__main__":
    main()
