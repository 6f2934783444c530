"""A separate process that fires events at a shared store, for the multi-process tests.

    python tests/worker.py race SPEC CASES ATTEMPTS   -> prints JSON: wins per case, losses
    python tests/worker.py stream SPEC PREFIX LOG     -> plays the story on new cases
                                                         until killed, logging each commit

SPEC is ``sqlite:PATH`` or ``postgres:DSN``.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta

from casework_flow import (
    ConcurrentModification,
    Engine,
    ManualClock,
    PostgresStore,
    SQLiteStore,
    seed,
)
from casework_flow.stores import Store


def open_store(spec: str) -> Store:
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        return SQLiteStore(where)
    return PostgresStore(where)


def race(spec: str, cases: list[str], attempts: int) -> None:
    engine = Engine([seed.build_workflow()], store=open_store(spec))
    wins = dict.fromkeys(cases, 0)
    losses = 0
    for i in range(attempts):
        case_id = cases[i % len(cases)]
        try:
            engine.fire(
                case_id,
                "record_contact_attempt",
                actor=seed.WORKER,
                data={"contact_method": "phone", "contact_outcome": f"{os.getpid()}-{i}"},
            )
            wins[case_id] += 1
        except ConcurrentModification:
            losses += 1
    sys.stdout.write(json.dumps({"wins": wins, "losses": losses}) + "\n")


def stream(spec: str, prefix: str, log_path: str) -> None:
    clock = ManualClock(datetime(2024, 3, 4, tzinfo=UTC))
    engine = Engine([seed.build_workflow()], store=open_store(spec), clock=clock)
    with open(log_path, "a", encoding="utf-8") as log:  # noqa: PTH123 - plain append log

        def committed(case_id: str, revision: int) -> None:
            log.write(f"{case_id} {revision}\n")
            log.flush()
            os.fsync(log.fileno())

        n = 0
        while True:
            case_id = f"{prefix}-{n:05d}"
            n += 1
            committed(
                case_id,
                engine.open(
                    seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id
                ).revision,
            )
            for step in seed.HAPPY_PATH:
                clock.advance(timedelta(days=step[-1]))
                committed(case_id, seed.take(engine, case_id, step).revision)


if __name__ == "__main__":
    mode, spec = sys.argv[1], sys.argv[2]
    if mode == "race":
        race(spec, sys.argv[3].split(","), int(sys.argv[4]))
    else:
        stream(spec, sys.argv[3], sys.argv[4])
