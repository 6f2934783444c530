"""Exhaustive bounded exploration: time and situations visited, by depth.

Explores two workflows with rules that hold (so the walk is never cut short by a
counterexample):

1. the seed workflow (19 states), depths 8, 12 and 16;
2. a generated 30-state workflow in the shape of a long case process: intake, three
   assessment stages with a data threshold, a contact loop counted by guards, document
   and consent checks, a supervisor's decision with separation of duties, a deadline
   read through time in state, five parallel service tracks, reviews and six closures;
   depths 8, 12 and 14.

Run: ``python benchmarks/bench_explore.py``.
"""

from __future__ import annotations

import time
from datetime import timedelta

from casework_flow.demo import build_workflow

from casework_flow import State, Transition, Workflow
from casework_flow.guards import consent, count, evidence, fact, not_actor_of, time_in_state
from casework_flow.testing import always_before, eventually_terminal, explore, never, reach

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


def main() -> None:
    """Run both workflows."""
    run(build_workflow(), [8, 12, 16])
    run(thirty_states(), [8, 12, 14])


if __name__ == "__main__":
    main()
