"""Exhaustive bounded exploration: time and situations visited, by depth.

Explores two workflows with rules that hold (so the walk is never cut short by a
counterexample):

1. the seed workflow (19 states), depths 8, 12 and 16;
2. a generated 30-state workflow in the shape of a long case process: intake, three
   assessment stages with a data threshold, a contact loop counted by guards, document
   and consent checks, a supervisor's decision with separation of duties, a deadline
   read through time in state, five parallel service tracks, reviews and six closures;
   depths 8, 12 and 14.

3. the seed workflow at depth 12, plain and with the seed's rules over time
   (`seed_properties`, six of them), best of three runs each, and the ratio;
4. `check_trails` with those six over N stored cases (default 100,000; the seed's
   happy path, 24 entries each, opened over a year) on SQLite and on PostgreSQL (a
   fresh schema, dropped afterwards): entries checked per second, beside the store's
   own read of the same trails (`stored_trails`) alone.

Run: ``python benchmarks/bench_explore.py [--cases N] [--pg DSN]`` (``--cases 0``
skips part 4, ``--pg ''`` PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import attrs
from bench_oversight import START, TEMPLATES, WORKFLOW, load_whole_sqlite, pg_loaded

from casework_flow import State, Transition, Workflow
from casework_flow.audit import stored_trails
from casework_flow.guards import consent, count, evidence, fact, not_actor_of, time_in_state
from casework_flow.seed import build_workflow
from casework_flow.stores import PostgresStore, SQLiteStore, Store
from casework_flow.testing import (
    always_before,
    check_trails,
    eventually_terminal,
    explore,
    never,
    reach,
    seed_properties,
)

SW, SPV = "social_worker", "supervisor"


def thirty_states() -> Workflow:
    """A 30-state process with guards of every kind the explorer abstracts."""
    tracks = ["shelter", "health", "training", "family", "legal"]
    states = [
        State(s)
        for s in [
            "intake", "screening", "assessment_1", "assessment_2", "assessment_3",
            "contact", "planning", "decision", "approved",
            *[f"{t}_service" for t in tracks],
            *[f"{t}_review" for t in tracks],
            "waitlist", "monitoring", "suspended", "termination", "follow_up",
        ]
    ]  # fmt: skip
    closures = ["reunified", "independent", "transferred", "declined", "left", "died"]
    states += [State(f"closed_{c}", terminal=True) for c in closures]
    t = Transition
    transitions = [
        t("screen", source="intake", dest="screening", roles={SW}, requires=("alias",)),
        t("assess", source="screening", dest="assessment_1", roles={SW}),
        t("deepen", source="assessment_1", dest="assessment_2", roles={SW},
          guard=fact("risk") >= 2),
        t("deepen", source="assessment_2", dest="assessment_3", roles={SW},
          guard=fact("risk") >= 3),
        t("assessed", source=("assessment_1", "assessment_2", "assessment_3"),
          dest="contact", roles={SW}, guard=evidence("assessment_form")),
        t("record_contact", source="contact", dest=None, roles={SW}),
        t("plan", source="contact", dest="planning", roles={SW},
          guard=count("record_contact") >= 3),
        t("escalate", source="contact", dest="planning", roles={SPV},
          guard=time_in_state() >= timedelta(days=14)),
        t("propose", source="planning", dest="decision", roles={SW},
          guard=consent("service_plan")),
        t("approve", source="decision", dest="approved", roles={SPV},
          guard=not_actor_of("propose")),
        t("send_back", source="decision", dest="planning", roles={SPV}, reason_required=True),
        *[t(f"start_{k}", source="approved", dest=f"{k}_service", roles={SW}) for k in tracks],
        *[t("review", source=f"{k}_service", dest=f"{k}_review", roles={SW, SPV})
          for k in tracks],
        *[t("continue", source=f"{k}_review", dest=f"{k}_service", roles={SW},
            guard=fact("progress") < 3) for k in tracks],
        *[t("done", source=f"{k}_review", dest="monitoring", roles={SPV},
            guard=fact("progress") >= 3) for k in tracks],
        t("wait", source="approved", dest="waitlist", roles={SPV}),
        t("place", source="waitlist", dest="approved", roles={SPV}),
        t("suspend", source="monitoring", dest="suspended", roles={SPV}, reason_required=True),
        t("resume", source="suspended", dest="monitoring", roles={SPV}),
        t("terminate", source="monitoring", dest="termination", roles={SPV},
          guard=evidence("termination_review")),
        t("follow", source="termination", dest="follow_up", roles={SW}),
        *[t(f"close_{c}", source=("termination", "follow_up"), dest=f"closed_{c}",
            roles={SPV}, reason_required=True) for c in closures],
        t("client_left", source=("screening", "contact", "planning", "monitoring"),
          dest="closed_left", roles={SW}, reason_codes=("ABSCONDED", "MOVED")),
    ]  # fmt: skip
    return Workflow(
        name="thirty-state-process", version=1, initial="intake",
        states=states, transitions=transitions,
    )  # fmt: skip


def run(workflow: Workflow, depths: list[int]) -> None:
    """Explore at each depth and print time, situations and steps."""
    if workflow.name == "thirty-state-process":
        rules = [
            never(reach("decision"), unless=consent("service_plan")),
            always_before("propose", "approve"),
            always_before("assessed", "plan"),
            eventually_terminal(),
        ]  # fmt: skip
    else:
        rules = [
            never(reach("referral_pending"), unless=count("record_contact_attempt") >= 3),
            eventually_terminal(),
        ]
    print(f"\n{workflow.name}: {len(workflow.states)} states")
    print(f"{'depth':>5} {'seconds':>8} {'situations':>11} {'steps':>9} {'states':>7}  result")
    for depth in depths:
        start = time.perf_counter()
        result = explore(workflow, *rules, depth=depth)
        took = time.perf_counter() - start
        verdict = "holds" if result.ok else "BROKEN"
        print(
            f"{depth:>5} {took:>8.2f} {result.visited:>11,} {result.steps:>9,}"
            f" {len(result.reached):>7}  {verdict}"
        )


def best(call: Callable[[], object], runs: int = 3) -> float:
    """The fastest of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return min(times)


def with_properties(depth: int = 12) -> None:
    """The seed at ``depth``: plain explore beside explore with the seed's six properties."""
    workflow, rules = build_workflow(), seed_properties()
    bare = attrs.evolve(workflow, properties=())
    plain = best(lambda: explore(bare, depth=depth))
    checked = explore(bare, *rules, depth=depth)
    timed = best(lambda: explore(bare, *rules, depth=depth))
    declared = best(lambda: explore(workflow, depth=depth))
    print(f"\nseed at depth {depth}, best of 3: plain {plain:.2f} s; with the seed's"
          f" {len(rules)} properties {timed:.2f} s ({timed / plain:.2f}x),"
          f" {checked.visited:,} situations, {'all hold' if checked.ok else 'NOT ok'};"
          f" the same six declared in the file {declared:.2f} s")  # fmt: skip


def trails_bench(kind: str, store: Store, m: int) -> None:
    """``check_trails`` over the store beside reading the same trails alone."""
    entries = m * len(TEMPLATES["closed"][1])
    now = START + timedelta(days=800)
    read = best(lambda: sum(1 for _ in stored_trails(store)), runs=1)
    t0 = time.perf_counter()
    found = list(check_trails(store, seed_properties(), workflows=[WORKFLOW], now=now))
    took = time.perf_counter() - t0
    print(f"  {kind:10}: {entries / took:9,.0f} entries/s ({took:5.1f} s, {len(found):,}"
          f" findings); reading the trails alone {read:5.1f} s")  # fmt: skip


def check_trails_bench(m: int, pg: str) -> None:
    """Load ``m`` whole trails into SQLite (and PostgreSQL) and check them."""
    print(f"\ncheck_trails, six properties, over {m:,} cases"
          f" ({m * len(TEMPLATES['closed'][1]):,} entries):")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trails.sqlite3"
        load_whole_sqlite(path, m)
        with SQLiteStore(path) as store:
            trails_bench("SQLite", store, m)
    if pg:
        with pg_loaded(pg, m) as dsn, PostgresStore(dsn) as store:
            trails_bench("PostgreSQL", store, m)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the four parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    default_pg = os.environ.get("CASEWORK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg", default=default_pg)
    args = parser.parse_args(argv)
    run(attrs.evolve(build_workflow(), properties=()), [8, 12, 16])
    run(thirty_states(), [8, 12, 14])
    with_properties()
    if args.cases:
        check_trails_bench(args.cases, args.pg)


if __name__ == "__main__":
    main(sys.argv[1:])
