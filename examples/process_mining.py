"""Process mining of the demo's cases: export XES and OCEL 2.0, discover the process with pm4py.

    python examples/process_mining.py OUT_DIR                 the logs, and what pm4py found
    python examples/process_mining.py OUT_DIR --pictures DIR  ... and two pictures (Graphviz)

Sixty street-beggar cases are played on a new SQLite database (``OUT_DIR/cases.db``),
each stopping somewhere on the seed's happy path (as live cases do: some still in
assessment, some referred, a few closed). Both logs are written from the store, personal
fields masked; pm4py (a separate install, under the AGPL: ``pip install pm4py``) reads
them, and its inductive miner discovers the process as run, which is compared with the
declared workflow.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casework_flow import Engine, ManualClock, SQLiteStore, seed
from casework_flow.audit import export_ocel, export_xes, stored_trails
from casework_flow.checks import to_dot

START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)
WORKFLOW = seed.build_workflow()


def play(db: Path, cases: int = 60, rng_seed: int = 2024) -> SQLiteStore:
    """A store of ``cases`` cases, each taken some way along the seed's happy path."""
    rng = random.Random(rng_seed)  # noqa: S311 - a workload, not a secret
    clock = ManualClock(START)
    store = SQLiteStore(db)
    engine = Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR)
    for i in range(cases):
        case_id = f"MDN-2024-{i + 1:04}"
        clock.advance(timedelta(hours=rng.randrange(1, 30)))
        engine.open(WORKFLOW.name, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id,
                    unit=seed.MEDAN, version=1)  # fmt: skip
        for step in seed.HAPPY_PATH[: rng.randrange(len(seed.HAPPY_PATH) + 1)]:
            clock.advance(timedelta(days=step[-1], hours=1))
            seed.take(engine, case_id, step)
    return store


def export(store: SQLiteStore, out: Path) -> tuple[Path, Path]:
    """Write ``cases.xes`` and ``cases.jsonocel`` into ``out``; return their paths."""
    xes, ocel = out / "cases.xes", out / "cases.jsonocel"
    with xes.open("w", encoding="utf-8") as f:
        export_xes(stored_trails(store), f, workflows=[WORKFLOW])
    with ocel.open("w", encoding="utf-8") as f:
        export_ocel(stored_trails(store), f, workflows=[WORKFLOW])
    return xes, ocel


def discover(xes: Path) -> tuple[object, object, object]:
    """The Petri net (with its initial and final markings) pm4py's inductive miner finds."""
    import pm4py  # noqa: PLC0415 - a separate install, needed only here

    log = pm4py.read_xes(str(xes))
    net, initial, final = pm4py.discover_petri_net_inductive(log)
    return net, initial, final


def activities(net: object) -> set[str]:
    """The visible transitions (activities) of a discovered net."""
    return {t.label for t in net.transitions if t.label is not None}  # type: ignore[attr-defined]


def pictures(xes: Path, folder: Path) -> tuple[Path, Path]:
    """Draw the discovered net and the declared workflow as SVG (needs Graphviz's dot)."""
    import pm4py  # noqa: PLC0415 - a separate install, needed only here

    discovered, declared = folder / "discovered-process.svg", folder / "declared-workflow.svg"
    net, initial, final = discover(xes)
    pm4py.save_vis_petri_net(net, initial, final, str(discovered), rankdir="TB")
    subprocess.run(  # noqa: S603 - Graphviz on the DOT text we made
        ["dot", "-Tsvg", "-Grankdir=TB", "-o", str(declared)],  # noqa: S607 - dot from PATH, as pm4py finds it
        input=to_dot(WORKFLOW),
        text=True,
        check=True,
    )
    return discovered, declared


def main(argv: list[str] | None = None) -> None:
    """Play, export, discover and compare; draw the pictures when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a folder for the database and the logs")
    parser.add_argument("--pictures", type=Path, metavar="DIR", help="draw the SVGs here")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    db = args.out / "cases.db"
    for old in (db, db.with_name("cases.db-wal"), db.with_name("cases.db-shm")):
        old.unlink(missing_ok=True)
    with play(db) as store:
        xes, ocel = export(store, args.out)
    net, _, _ = discover(xes)
    found = activities(net)
    print(f"wrote {xes} and {ocel}")
    print(f"pm4py discovered {len(found)} activities; not in the workflow: "
          f"{sorted(found - set(WORKFLOW.events)) or 'none'}")  # fmt: skip
    print(f"declared but never run: {', '.join(sorted(set(WORKFLOW.events) - found))}")
    if args.pictures:
        for path in pictures(xes, args.pictures):
            print(f"drew {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
