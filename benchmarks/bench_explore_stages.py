"""`explore` on workflows with parallel tracks, with and without the partial-order reduction.

Explores, side by side in one run (so the figures compare on this machine):

1. the seed workflow's version 2 (seven stages, three tracks in the intervention), to
   depth 16. Its tracks are read from outside (the shelter referral asks for the health
   track, the end of the intervention for the family track; the family track counts its
   contact attempts), so the reduction may not defer any of them: both walks are the
   same search, and the figure is the cost of the full one;
2. a workflow of four independent tracks (identity documents, health screening, school
   enrolment, skills training; five states each), which the reduction can move one at a
   time: 5^4 = 625 mixes of positions without it;
3. the flat seed (version 1) at depth 16, for scale.

Run: ``python benchmarks/bench_explore_stages.py``.
"""

from __future__ import annotations

import time
from itertools import pairwise

from casework_flow import State, Transition, Workflow
from casework_flow.seed import build_staged_workflow, build_workflow
from casework_flow.testing import always_before, explore


def four_tracks() -> Workflow:
    """Intake, four independent tracks of five states each, an exit and a closure."""
    names = ["identity", "health", "school", "skills"]
    tracks = [
        State(
            f"{n}_track",
            initial=f"{n}_1",
            states=[State(f"{n}_{i}") for i in range(1, 5)] + [State(f"{n}_done", final=True)],
        )
        for n in names
    ]
    transitions = [
        Transition("admit", "intake", "services"),
        Transition("services_done", "services", "closed"),
        Transition("withdraw", "services", "closed", reason_required=True),
    ]
    for n in names:
        steps = [f"{n}_{i}" for i in range(1, 5)] + [f"{n}_done"]
        transitions += [
            Transition(f"{n}_step_{i}", a, b) for i, (a, b) in enumerate(pairwise(steps))
        ]
    return Workflow(
        "four-tracks",
        1,
        "intake",
        states=[
            State("intake"),
            State("services", parallel=True, on_done="services_done", states=tracks),
            State("closed", terminal=True),
        ],
        transitions=transitions,
    )


def _run(label: str, workflow: Workflow, depth: int, *rules: object) -> None:
    for reduce in (False, True):
        start = time.perf_counter()
        result = explore(workflow, *rules, depth=depth, reduce=reduce)  # type: ignore[arg-type]
        took = time.perf_counter() - start
        print(
            f"{label:<34} depth {depth:>2}  reduce={reduce!s:<5} {result.visited:>7,} situations"
            f" {result.steps:>8,} steps {took:>7.2f} s  ok={result.ok}",
            flush=True,
        )


def main() -> None:
    """Print situations visited, steps taken and time, without and with the reduction."""
    staged = build_staged_workflow()
    holds = always_before("admit_to_shelter", "refer_to_shelter_unit")
    _run("seed v2 (7 stages, 3 tracks)", staged, 16, holds)
    tracks = four_tracks()
    rules = (always_before("admit", "services_done"),)
    for depth in (8, 12, 16, 22):
        _run("four independent tracks", tracks, depth, *rules)
    _run("seed v1 (flat, 19 states)", build_workflow(), 16, holds)


if __name__ == "__main__":
    main()
