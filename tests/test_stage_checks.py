"""The static checks of stages and tracks, each shown on a workflow with the flaw planted."""

from __future__ import annotations

import attrs

from casework_flow import State, Transition, Workflow
from casework_flow.checks import check_workflow
from casework_flow.guards import in_state

from .stages import intake_workflow

S = State


def _codes(wf: Workflow) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in check_workflow(wf):
        if f.code != "missing-label":
            out.setdefault(f.code, []).append(f"{f.path}: {f.message}")
    return out


def _tracks(a_guard=None, b_guard=None, *, a_exit: bool = True) -> Workflow:  # type: ignore[no-untyped-def]
    tracks = S(
        "checks",
        parallel=True,
        on_done="checks_done",
        states=[
            S("a", initial="a1", states=[S("a1"), S("a_done", final=True)]),
            S("b", initial="b1", states=[S("b1"), S("b_done", final=True)]),
        ],
    )
    transitions = [
        Transition("start", "intake", "checks"),
        Transition("checks_done", "checks", "closed"),
        Transition("finish_b", "b1", "b_done", **({"guard": b_guard} if b_guard else {})),
    ]
    if a_exit:
        transitions.append(
            Transition("finish_a", "a1", "a_done", **({"guard": a_guard} if a_guard else {}))
        )
    return Workflow(
        "tracks", 1, "intake", states=[S("intake"), tracks, S("closed", terminal=True)],
        transitions=transitions,
    )  # fmt: skip


def test_a_sound_staged_workflow_has_no_finding():
    assert _codes(intake_workflow()) == {}
    assert _codes(_tracks()) == {}


def test_an_inner_state_no_path_reaches_is_unreachable():
    base = intake_workflow()
    wf = attrs.evolve(base, transitions=[t for t in base.transitions if t.event != "visit_home"])
    found = _codes(wf)
    assert (
        "states[1].states[1]: no path leads from first_approach to home_visit"
        in found["unreachable-state"]
    )


def test_a_track_that_never_reaches_its_final_state():
    found = _codes(_tracks(a_exit=False))
    assert found["track-never-done"] == [
        (
            "states[1].states[0]: track a of checks never reaches a final state, so checks"
            " is never done"
        )
    ]
    assert found["trap-state"][0].startswith("states[1]: a case in (checks/a/a1, checks/b/b1)")
    assert "stage-never-done" not in found
    assert "tracks-deadlock" not in found


def test_a_stage_whose_completion_can_never_happen():
    base = intake_workflow()
    wf = attrs.evolve(base, transitions=[t for t in base.transitions if t.event != "conclude"])
    found = _codes(wf)
    assert found["stage-never-done"] == [
        (
            "states[1]: stage assessment is never done: no case reaches its final state,"
            " so assessment_done never follows"
        )
    ]


def test_tracks_whose_guards_wait_on_each_other_are_a_deadlock():
    found = _codes(_tracks(in_state("b_done"), in_state("a_done")))
    (message,) = found["tracks-deadlock"]
    assert message.startswith("states[1]: in (checks/a/a1, checks/b/b1) the tracks wait")
    assert "trap-state" not in found
    assert len(found["track-never-done"]) == 2


def test_one_track_waiting_on_the_other_is_no_deadlock():
    assert _codes(_tracks(in_state("b_done"), None)) == {}


def test_a_transition_whose_in_state_guard_never_holds_where_it_leaves_is_dead():
    wf = _tracks(None, in_state("intake"))
    found = _codes(wf)
    assert any(
        m.startswith("transitions[2].source: finish_b can never fire")
        for m in found["dead-transition"]
    )
