"""Workflow definitions: validation at build time and evaluation order."""

from __future__ import annotations

import pytest

from casework_flow import Actor, Engine, State, Transition, Workflow
from casework_flow.exceptions import WorkflowError
from casework_flow.guards import fact


def make(**overrides: object) -> Workflow:
    spec: dict[str, object] = {
        "name": "elderly-neglect",
        "version": 1,
        "initial": "reported",
        "states": [
            State("reported", labels={"en": "Reported", "id": "Dilaporkan"}),
            State("home_visit", labels={"en": "Home visit", "id": "Kunjungan rumah"}),
            State("closed", terminal=True),
        ],
        "transitions": [
            Transition("visit", source="reported", dest="home_visit", roles={"social_worker"}),
            Transition("close", source=("reported", "home_visit"), dest="closed"),
        ],
    }
    spec.update(overrides)
    return Workflow(**spec)  # type: ignore[arg-type]


def problems(**overrides: object) -> tuple[str, ...]:
    with pytest.raises(WorkflowError) as info:
        make(**overrides)
    assert info.value.workflow == overrides.get("name", "elderly-neglect")
    return info.value.problems


def test_a_valid_definition_builds_and_exposes_its_parts():
    wf = make()
    assert wf.key == ("elderly-neglect", 1)
    assert wf.events == ("visit", "close")
    assert wf.state("home_visit").label("id") == "Kunjungan rumah"
    assert wf.state("closed").label("id") == "closed"
    assert [t.event for t in wf.candidates("home_visit", "close")] == ["close"]
    assert wf.candidates("closed", "visit") == ()
    assert repr(wf) == "<Workflow elderly-neglect v1 states=3>"


def test_unknown_states_are_named_with_a_suggestion():
    found = problems(
        transitions=[Transition("visit", source="reportd", dest="home_vist")],
    )
    assert (
        "transitions[0].source: visit: unknown source state 'reportd' (did you mean 'reported'?)"
        in found
    )
    assert any("unknown destination state 'home_vist'" in p and "'home_visit'" in p for p in found)


def test_duplicate_states_are_refused():
    found = problems(
        states=[State("reported"), State("reported"), State("closed", terminal=True)],
        transitions=[],
    )
    assert found == ("states[1].id: state 'reported' is defined twice",)


def test_a_missing_or_unknown_initial_state_is_refused():
    assert problems(initial="") == ("initial: no initial state is set",)
    assert "initial state 'intake' is not one of its states" in problems(initial="intake")[0]


def test_a_terminal_state_with_a_way_out_is_refused():
    found = problems(
        transitions=[Transition("reopen", source="closed", dest="reported")],
    )
    assert found == (
        (
            "transitions[0].source: reopen leaves terminal state 'closed';"
            " terminal states have no way out"
        ),
    )


def test_an_event_leading_two_ways_without_order_is_refused():
    found = problems(
        transitions=[
            Transition("visit", source="reported", dest="home_visit"),
            Transition("visit", source="reported", dest="closed"),
        ]
    )
    assert len(found) == 1
    assert "event 'visit' leads 2 ways from state 'reported'" in found[0]
    assert "priority" in found[0]


def test_equal_priorities_are_no_order_either():
    found = problems(
        transitions=[
            Transition("visit", source="reported", dest="home_visit", priority=1),
            Transition("visit", source="reported", dest="closed", priority=1),
        ]
    )
    assert "no order between them" in found[0]


def test_every_problem_is_reported_at_once():
    found = problems(
        name="bad name!",
        version=0,
        initial="nowhere",
        states=[State("a b"), State("closed", terminal=True)],
        transitions=[Transition("go-on", source="closed", dest="missing")],
    )
    assert found == (
        "name: name 'bad name!' must start with a letter and use letters, digits, '_', '-', '.'",
        "version: version 0 must be a positive integer",
        "states[0].id: id 'a b' must start with a letter and use only letters, digits and '_'",
        "initial: initial state 'nowhere' is not one of its states",
        "transitions[0].event: event name 'go-on' must be an identifier",
        (
            "transitions[0].source: go-on leaves terminal state 'closed';"
            " terminal states have no way out"
        ),
        "transitions[0].dest: go-on: unknown destination state 'missing'",
    )
    assert str(WorkflowError("x", found)).startswith("workflow 'x' has 7 problems:\n  - name")


def test_wrong_types_are_reported_not_raised_from_deep_inside():
    found = problems(states=["reported"], transitions=[object()])
    assert "states[0]: is str, not a State" in found
    assert "transitions[0]: is object, not a Transition" in found


def test_candidates_are_tried_in_ascending_priority_not_declaration_order():
    wf = make(
        transitions=[
            Transition("close", source="reported", dest="closed", priority=2),
            Transition(
                "close",
                source="reported",
                dest="home_visit",
                priority=1,
                guard=fact("urgent").one_of(True),
            ),
        ]
    )
    assert [t.dest for t in wf.candidates("reported", "close")] == ["home_visit", "closed"]
    engine = Engine([wf])
    actor = Actor("sw-1", {"social_worker"})
    engine.open("elderly-neglect", "A", actor=actor, data={"urgent": True})
    engine.open("elderly-neglect", "B", actor=actor, data={"urgent": False})
    assert engine.fire("A", "close", actor=actor).state == "home_visit"
    assert engine.fire("B", "close", actor=actor).state == "closed"


def test_definitions_are_frozen_values():
    wf = make()
    assert wf == make()
    with pytest.raises(AttributeError):
        wf.version = 2  # type: ignore[misc]
    assert wf.transitions[1].source == ("reported", "home_visit")
    assert wf.transitions[0].roles == frozenset({"social_worker"})
    assert repr(wf.transitions[1]) == "<Transition close: reported|home_visit -> closed>"
