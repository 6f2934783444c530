"""Staged workflows for the tests: a small one by hand, and random ones for hypothesis."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from casework_flow import State, Timer, Transition, Workflow
from casework_flow.guards import in_state

S = State


def intake_workflow(*, history: bool = False) -> Workflow:
    """Assessment as a stage, intervention as three tracks, a pause that resumes."""
    return Workflow(
        "staged-intake",
        1,
        "first_approach",
        states=[
            S("first_approach"),
            S(
                "assessment",
                initial="interview",
                history=history,
                timers=[Timer(timedelta(days=10), "assessment_overdue")],
                states=[S("interview"), S("home_visit"), S("assessed", final=True)],
                on_done="assessment_done",
            ),
            S("paused"),
            S(
                "intervention",
                parallel=True,
                on_done="intervention_done",
                states=[
                    S(
                        "family_tracing",
                        initial="tracing",
                        states=[S("tracing"), S("family_found", final=True)],
                    ),
                    S(
                        "identity_documents",
                        initial="ktp_requested",
                        states=[S("ktp_requested"), S("ktp_issued", final=True)],
                    ),
                    S(
                        "health_screening",
                        initial="screening",
                        states=[S("screening"), S("health_cleared", final=True)],
                    ),
                ],
            ),
            S("shelter_referral"),
            S("resocialization"),
            S("closed", terminal=True),
        ],
        transitions=[
            Transition("engage", "first_approach", "assessment"),
            Transition("visit_home", "interview", "home_visit"),
            Transition("conclude", "home_visit", "assessed"),
            Transition("pause", "assessment", "paused"),
            Transition("resume", "paused", "assessment"),
            Transition("assessment_overdue", "assessment", None),
            Transition("assessment_done", "assessment", "intervention"),
            Transition("family_found", "tracing", "family_found"),
            Transition("issue_ktp", "ktp_requested", "ktp_issued"),
            Transition("clear_health", "screening", "health_cleared"),
            Transition(
                "refer_to_shelter",
                "intervention",
                "shelter_referral",
                guard=in_state("health_cleared"),
            ),
            Transition("intervention_done", "intervention", "resocialization"),
            Transition("withdraw", ["assessment", "intervention"], "closed"),
            Transition("close", ["shelter_referral", "resocialization"], "closed"),
        ],
    )


def _leaf(name: str, *, final: bool = False) -> State:
    return S(name, final=final)


@st.composite
def staged_workflows(draw: st.DrawFn, guard_odds: float = 0.5) -> Workflow:
    """A random workflow with a stage, a parallel stage of two or three tracks, and
    random transitions (each on its own event, so no two tracks share one)."""
    names = iter(f"s{i}" for i in range(100))
    stage_leaves = [_leaf(next(names)) for _ in range(draw(st.integers(1, 3)))]
    stage_leaves.append(_leaf(next(names), final=True))
    stage = S(
        "stage",
        initial=stage_leaves[0].id,
        history=draw(st.booleans()),
        states=stage_leaves,
        on_done=draw(st.sampled_from([None, "stage_done"])),
    )
    tracks = []
    for t in range(draw(st.integers(2, 3))):
        leaves = [_leaf(next(names)) for _ in range(draw(st.integers(1, 3)))]
        leaves.append(_leaf(next(names), final=True))
        tracks.append(S(f"track{t}", initial=leaves[0].id, states=leaves))
    parallel = S("tracks", parallel=True, states=tracks, on_done="tracks_done")
    top = [S("start"), stage, parallel, S("end", terminal=True)]
    sources = ["start", "stage", "tracks"]
    sources += [s.id for s in stage_leaves if not s.final]
    sources += [s.id for t in tracks for s in t.states if not s.final]
    targets = ["start", "stage", "tracks", "end", *[s.id for s in stage_leaves]]
    targets += [s.id for t in tracks for s in t.states]
    transitions = [Transition("enter", "start", draw(st.sampled_from(["stage", "tracks"])))]
    for i in range(draw(st.integers(3, 14))):
        source = draw(st.sampled_from(sources))
        dest = draw(st.sampled_from([*targets, None]))
        guarded = draw(st.floats(0, 1)) < guard_odds
        guard = draw(st.sampled_from([s.id for t in tracks for s in t.states])) if guarded else None
        transitions.append(
            Transition(
                f"e{i}",
                source,
                dest,
                **({"guard": in_state(guard)} if guard is not None else {}),
            )
        )
    transitions.append(Transition("finish_stage", stage.initial, stage_leaves[-1].id))
    transitions += [Transition(f"finish_{t.id}", str(t.initial), t.states[-1].id) for t in tracks]
    transitions.append(Transition("stage_done", "stage", draw(st.sampled_from(targets))))
    transitions.append(Transition("tracks_done", "tracks", draw(st.sampled_from(targets))))
    return Workflow("random-staged", 1, "start", states=top, transitions=transitions)
