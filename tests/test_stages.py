"""Stages, parallel tracks, completion and history: the statechart rules of the core.

Where a rule is W3C SCXML's (https://www.w3.org/TR/scxml/), the test names the section.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Deadline,
    Engine,
    EntryKind,
    HandoverRule,
    ManualClock,
    State,
    Timer,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from casework_flow._catalog import Catalog
from casework_flow._evolve import evolve, fold
from casework_flow.checks import to_dot, to_mermaid
from casework_flow.exceptions import ReplayError, WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.guards import count, fact, in_state
from casework_flow.testing import RuleViolated, check_rules, never, reach

from .stages import intake_workflow, staged_workflows
from .test_checks_diagrams_cli import _validate

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SW = Actor("sw-017", {"social_worker"})


def _engine(wf: Workflow) -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    return Engine([wf], clock=clock), clock


def _opened(wf: Workflow | None = None, *events: str) -> Engine:
    engine, _ = _engine(wf or intake_workflow())
    engine.open("staged-intake", "MDN-1", actor=SW)
    for event in events:
        engine.fire("MDN-1", event, actor=SW)
    return engine


def test_entering_a_stage_enters_its_initial_state_scxml_3_3():
    """SCXML 3.3: a compound state is entered in its initial child."""
    case = _opened(None, "engage").get("MDN-1")
    assert case.state == "interview"
    assert case.configuration == ("interview",)


def test_a_stage_transition_leaves_from_any_state_inside_scxml_3_13():
    """SCXML 3.13: a transition of a compound state is enabled in every state inside it."""
    engine = _opened(None, "engage", "visit_home")
    case = engine.fire("MDN-1", "withdraw", actor=SW)
    assert case.state == "closed"
    entry = engine.trail("MDN-1")[-1]
    assert (entry.from_state, entry.to_state) == ("home_visit", "closed")


def test_an_inner_transition_preempts_its_stages_on_the_same_event_scxml_3_13():
    """SCXML 3.13: transitions are looked for in the atomic state first, then outwards."""
    base = intake_workflow()
    inner_first = attrs.evolve(
        base,
        transitions=(
            *base.transitions,
            Transition("visit_home", "assessment", "paused"),
        ),
    )
    case = _opened(inner_first, "engage", "visit_home").get("MDN-1")
    assert case.state == "home_visit"
    case = _opened(inner_first, "engage", "visit_home", "visit_home").get("MDN-1")
    assert case.state == "paused"


def test_entering_a_parallel_stage_enters_every_track_scxml_3_4():
    """SCXML 3.4: all children of a parallel state are entered together."""
    case = _opened(None, "engage", "visit_home", "conclude").get("MDN-1")
    assert case.state == "intervention"
    assert case.configuration == ("tracing", "ktp_requested", "screening")


def test_reaching_a_final_state_raises_the_stages_done_event_scxml_3_7():
    """SCXML 3.7.1: entering a final child raises done.state of the stage; here the
    stage's on_done event, fired by the system actor in the same step."""
    engine = _opened(None, "engage", "visit_home")
    case = engine.fire("MDN-1", "conclude", actor=SW)
    assert case.configuration == ("tracing", "ktp_requested", "screening")
    last_two = engine.trail("MDN-1")[-2:]
    assert [e.event for e in last_two] == ["conclude", "assessment_done"]
    assert last_two[1].actor_id == "system"
    assert last_two[1].details["completion"] == "assessment"


def test_a_parallel_stage_is_done_when_every_track_is_scxml_3_4():
    """SCXML 3.4: done.state of a parallel state once every child is in a final state."""
    engine = _opened(None, "engage", "visit_home", "conclude", "family_found", "issue_ktp")
    assert engine.get("MDN-1").state == "intervention"
    case = engine.fire("MDN-1", "clear_health", actor=SW)
    assert case.state == "resocialization"
    assert engine.trail("MDN-1")[-1].event == "intervention_done"


def test_a_guard_reads_another_tracks_state():
    engine = _opened(None, "engage", "visit_home", "conclude")
    with pytest.raises(TransitionRejected) as refused:
        engine.fire("MDN-1", "refer_to_shelter", actor=SW)
    assert "not in health_cleared" in str(refused.value)
    engine.fire("MDN-1", "clear_health", actor=SW)
    case = engine.fire("MDN-1", "refer_to_shelter", actor=SW)
    assert case.state == "shelter_referral"
    assert case.configuration == ("shelter_referral",)


def test_a_track_moves_alone_and_the_trail_records_every_tracks_path():
    engine = _opened(None, "engage", "visit_home", "conclude")
    case = engine.fire("MDN-1", "issue_ktp", actor=SW)
    assert case.configuration == ("tracing", "ktp_issued", "screening")
    entry = engine.trail("MDN-1")[-1]
    assert entry.to_state == "intervention"
    assert entry.details["configuration"] == (
        "intervention/family_tracing/tracing intervention/identity_documents/ktp_issued"
        " intervention/health_screening/screening"
    )


def test_a_stage_without_history_starts_again_from_its_initial_state():
    case = _opened(None, "engage", "visit_home", "pause", "resume").get("MDN-1")
    assert case.state == "interview"
    assert case.history == {}


def test_a_stage_with_history_resumes_where_it_was_left_scxml_3_10():
    """SCXML 3.10: shallow history re-enters the child that was active at exit."""
    engine = _opened(intake_workflow(history=True), "engage", "visit_home", "pause")
    assert engine.get("MDN-1").history == {"assessment": "home_visit"}
    case = engine.fire("MDN-1", "resume", actor=SW)
    assert case.state == "home_visit"


def test_a_stage_timer_runs_on_while_the_case_moves_inside_it():
    engine, clock = _engine(intake_workflow())
    engine.open("staged-intake", "MDN-1", actor=SW)
    engine.fire("MDN-1", "engage", actor=SW)
    clock.advance(days=6)
    case = engine.fire("MDN-1", "visit_home", actor=SW)
    assert case.timer == "assessment_overdue"
    assert case.timer_at == START + timedelta(days=10)
    assert case.entered_at("assessment") == START
    assert case.entered_at("home_visit") == START + timedelta(days=6)
    clock.advance(days=4)
    engine.run_due()
    assert engine.trail("MDN-1")[-1].event == "assessment_overdue"
    assert engine.get("MDN-1").fired == ("assessment_overdue",)


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        ("intervention/family_tracing/tracing", "no assessment_done from assessed"),
        (None, "no assessment_done from assessed"),
        (
            (
                "intervention/tracing intervention/identity_documents/ktp_requested"
                " intervention/health_screening/screening"
            ),
            "records configuration",
        ),
    ],
)
def test_evolve_refuses_an_entry_whose_configuration_is_not_the_steps(recorded, why):
    engine = _opened(None, "engage", "visit_home", "conclude")
    trail = engine.trail("MDN-1")
    catalog = Catalog([intake_workflow()])
    assert fold(None, trail, catalog=catalog) == engine.get("MDN-1")
    before = fold(None, trail[:-1], catalog=catalog)
    details = {k: v for k, v in trail[-1].details.items() if k != "configuration"}
    if recorded is not None:
        details["configuration"] = recorded
    forged = attrs.evolve(trail[-1], details=details)
    with pytest.raises(ReplayError, match=why):
        evolve(before, forged, catalog=catalog)


# --- definitions that cannot run -------------------------------------------------------


def _problems(states: list[State], transitions: list[Transition], initial: str = "a") -> str:
    with pytest.raises(WorkflowError) as error:
        Workflow("bad", 1, initial, states=states, transitions=transitions)
    return str(error.value)


def test_a_stage_without_an_initial_state_is_refused():
    text = _problems([State("a"), State("s", states=[State("x")])], [])
    assert "states[1].initial" in text
    assert "a stage needs an initial state" in text


def test_a_track_without_a_final_state_is_refused():
    tracks = State(
        "p",
        parallel=True,
        states=[
            State("t1", initial="x", states=[State("x"), State("x_done", final=True)]),
            State("t2", initial="y", states=[State("y")]),
        ],
    )
    text = _problems([State("a"), tracks], [Transition("go", "a", "p")])
    assert "states[1].states[1]" in text
    assert "track t2 of p has no final state" in text


def test_two_tracks_taking_one_event_are_refused():
    tracks = State(
        "p",
        parallel=True,
        states=[
            State("t1", initial="x", states=[State("x"), State("x_done", final=True)]),
            State("t2", initial="y", states=[State("y"), State("y_done", final=True)]),
        ],
    )
    text = _problems(
        [State("a"), tracks],
        [
            Transition("go", "a", "p"),
            Transition("done", "x", "x_done"),
            Transition("done", "y", "y_done"),
        ],
    )
    assert "transitions[2].event" in text
    assert "taken in two tracks that run at once" in text


def test_a_guard_naming_no_state_is_refused():
    text = _problems(
        [State("a"), State("b")], [Transition("go", "a", "b", guard=in_state("helth_cleared"))]
    )
    assert "transitions[0].guard" in text
    assert "'helth_cleared'" in text


# --- every reachable configuration, for random staged workflows -------------------------


def _parents(wf: Workflow) -> dict[str, str | None]:
    out: dict[str, str | None] = {}

    def walk(states: tuple[State, ...], parent: str | None) -> None:
        for s in states:
            out[s.id] = parent
            walk(s.states, s.id)

    walk(wf.states, None)
    return out


def _valid(wf: Workflow, configuration: tuple[str, ...]) -> None:
    """Each active track has exactly one active state; every active state's parent is
    active (computed here from the nested definition, not by the library's tree)."""
    parents = _parents(wf)
    by_id = {s.id: s for s in wf.all_states}
    active = set()
    for leaf in configuration:
        assert not by_id[leaf].states, f"{leaf} holds states; a configuration lists leaves"
        up: str | None = leaf
        while up is not None:
            active.add(up)
            up = parents[up]
    top = [s for s in wf.states if s.id in active]
    assert len(top) == 1
    for s in active:
        node = by_id[s]
        inside = [c.id for c in node.states if c.id in active]
        if node.parallel:
            assert inside == [c.id for c in node.states]
        elif node.states:
            assert len(inside) == 1, (s, inside)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(staged_workflows(), st.lists(st.integers(0, 40), max_size=30))
def test_every_reachable_configuration_is_valid_and_the_fold_is_the_case(wf, picks):
    engine, clock = _engine(wf)
    engine.open(wf.name, "R-1", actor=SW)
    for pick in picks:
        possible = [e for e in wf.events if wf.candidates_in(engine.get("R-1").configuration, e)]
        if not possible:
            break
        event = possible[pick % len(possible)]
        before = engine.get("R-1")
        try:
            engine.fire("R-1", event, actor=SW)
        except TransitionRejected:
            assert engine.get("R-1") == before
        clock.advance(hours=1)
        case = engine.get("R-1")
        _valid(wf, case.configuration)
        assert case.state == wf.tree.state_of(case.configuration)
        assert replay([wf], engine.trail("R-1")) == case
    kinds = {e.kind for e in engine.trail("R-1")}
    assert kinds <= {EntryKind.OPENED, EntryKind.TRANSITION, EntryKind.REFUSED}


# --- workflow files ---------------------------------------------------------------------

STAGED_YAML = """\
name: staged-file
version: 1
initial: intake
states:
  - id: intake
  - id: intervention
    parallel: true
    on_done: intervention_done
    states:
      - id: family_tracing
        initial: tracing
        states:
          - id: tracing
          - {id: family_found, final: true}
      - id: health_screening
        initial: screening
        history: true
        states:
          - id: screening
          - {id: health_cleared, final: true}
  - {id: closed, terminal: true}
transitions:
  - {event: start, source: intake, dest: intervention}
  - {event: found, source: tracing, dest: family_found}
  - {event: clear, source: screening, dest: health_cleared}
  - {event: intervention_done, source: intervention, dest: closed}
  - event: refer
    source: intervention
    dest: closed
    guard: {in_state: health_cleared}
"""


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_a_staged_workflow_file_round_trips_in_every_format(fmt):
    wf = loads_workflow(STAGED_YAML, "yaml")
    assert wf.staged
    assert [s.id for s in wf.all_states][:4] == [
        "intake",
        "intervention",
        "family_tracing",
        "tracing",
    ]
    again = loads_workflow(dump_workflow(wf, fmt), fmt)
    assert again == wf
    assert again.state("health_screening").history


@pytest.mark.parametrize(
    ("old", "new", "line", "why"),
    [
        ("        initial: tracing\n", "", 10, "a stage needs an initial state"),
        ("          - {id: family_found, final: true}\n", "          - id: family_found\n", 10,
         "track family_tracing of intervention has no final state"),
        ("{in_state: health_cleared}", "{in_state: health_clear}", 30,
         "did you mean 'health_cleared'"),
        ("        history: true\n", "        histroy: true\n", 17, "unknown key 'histroy'"),
    ],
)  # fmt: skip
def test_a_broken_staged_file_names_the_line_and_the_key(old, new, line, why):
    assert old in STAGED_YAML
    with pytest.raises(WorkflowError) as error:
        loads_workflow(STAGED_YAML.replace(old, new), "yaml", source="staged.yaml")
    text = str(error.value)
    assert f"staged.yaml:{line}" in text, text
    assert why in text


# --- diagrams ---------------------------------------------------------------------------


def test_staged_diagrams_nest_stages_and_split_tracks_and_the_real_parsers_accept_them(tmp_path):
    wf = intake_workflow()
    mermaid = to_mermaid(wf)
    assert "    state intervention {" in mermaid
    assert mermaid.count("\n        --\n") == 2
    assert "        [*] --> interview\n" in mermaid
    assert "            tracing --> family_found : family_found\n" in mermaid
    assert (
        "    intervention --> shelter_referral : refer_to_shelter · if in health_cleared" in mermaid
    )
    dot = to_dot(wf)
    assert 'subgraph "cluster_intervention" {' in dot
    assert 'style="dashed"' in dot
    assert (
        '"assessment" -> "intervention" [label="assessment_done", ltail="cluster_assessment",'
        in dot
    )
    out = _validate("mermaid", {"staged.mmd": mermaid}, tmp_path)
    out += _validate("dot", {"staged.dot": dot}, tmp_path)
    assert out.count("ok ") == 2


def test_a_stages_on_done_event_is_refused_until_the_stage_is_done():
    engine = _opened(None, "engage", "visit_home", "conclude", "family_found")
    with pytest.raises(TransitionRejected) as refused:
        engine.fire("MDN-1", "intervention_done", actor=SW)
    assert "intervention is not done: intervention_done follows once it is" in str(refused.value)


def test_available_events_lists_every_tracks_events_and_the_stages():
    engine = _opened(None, "engage", "visit_home", "conclude")
    events = engine.available_events("MDN-1", SW)
    assert {"family_found", "issue_ktp", "clear_health", "withdraw"} <= set(events)
    assert "refer_to_shelter" not in events  # the health track is not cleared yet
    assert "intervention_done" not in events
    engine.fire("MDN-1", "clear_health", actor=SW)
    assert "refer_to_shelter" in engine.available_events("MDN-1", SW)


def test_the_random_tools_take_steps_inside_tracks():
    with pytest.raises(RuleViolated) as caught:
        check_rules(intake_workflow(), never(reach("ktp_issued")), max_examples=200)
    assert caught.value.trail[-1].event == "issue_ktp"


def test_a_stage_and_a_state_inside_it_count_as_active_at_once():
    inner = State("s", initial="x", states=[State("x"), State("y")])
    text = _problems([State("a"), inner], [Transition("go", ["s", "x"], "a")])
    assert "sources s and x can be active at once" in text
    days = timedelta(days=3)
    dated = State(
        "s", initial="x", deadline=Deadline(days),
        states=[State("x", deadline=Deadline(days)), State("y")],
    )  # fmt: skip
    text = _problems([State("a"), dated], [Transition("go", "a", "s")])
    assert "x: its deadline and that of s would run at once" in text
    timed = State(
        "s", initial="x", timers=[Timer(days, "go")],
        states=[State("x", timers=[Timer(days, "go")]), State("y")],
    )  # fmt: skip
    text = _problems([State("a"), timed], [Transition("go", "s", "a")])
    assert "timer 'go' is also a timer of s" in text


# --- completion, in detail -------------------------------------------------------------


def _chained(on_close: str = "cancel") -> Workflow:
    """A stage inside a track whose completion finishes the track, and so the tracks."""
    transfer = HandoverRule("transfer", send={"supervisor"}, on_close=on_close)
    return Workflow(
        "chained", 1, "intake",
        states=[
            State("intake"),
            State("tracks", parallel=True, on_done="tracks_done", states=[
                State("t1", initial="a", states=[State("a"), State("a_done", final=True)]),
                State("t2", initial="sub", states=[
                    State("sub", initial="b", on_done="sub_done",
                          states=[State("b"), State("b_done", final=True)]),
                    State("t2_done", final=True),
                ]),
            ]),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("start", "intake", "tracks"),
            Transition("finish_a", "a", "a_done"),
            Transition("finish_b", "b", "b_done"),
            Transition("sub_done", "sub", "t2_done"),
            Transition("note", "tracks", None),
            Transition(
                "tracks_done", "tracks", "closed",
                guard=(count("note") >= 1) & (fact("ready") == True),  # noqa: E712 - a guard
            ),
        ],
        handovers=[transfer],
    )  # fmt: skip


SPV = Actor("spv-002", {"supervisor"})


def _started(wf: Workflow) -> Engine:
    engine, _ = _engine(wf)
    engine.open("chained", "C-1", actor=SW)
    engine.fire("C-1", "start", actor=SW)
    return engine


def test_completions_chain_innermost_first_each_by_the_system_with_its_verdicts():
    engine = _started(_chained())
    engine.fire("C-1", "finish_a", actor=SW)
    engine.fire("C-1", "note", actor=SW, data={"ready": True})
    case = engine.fire("C-1", "finish_b", actor=SW)
    assert case.state == "closed"
    last = engine.trail("C-1")[-3:]
    assert [(e.event, e.actor_id) for e in last] == [
        ("finish_b", SW.id), ("sub_done", "system"), ("tracks_done", "system"),
    ]  # fmt: skip
    assert [e.details["completion"] for e in last[1:]] == ["sub", "tracks"]
    assert {v.check for v in last[2].verdicts} == {"count(note) >= 1", "ready == True"}
    assert all(v.passed for v in last[2].verdicts)


def test_a_completion_whose_guard_fails_leaves_the_stage_done_and_waiting():
    engine = _started(_chained())
    engine.fire("C-1", "finish_a", actor=SW)
    case = engine.fire("C-1", "finish_b", actor=SW)
    assert case.configuration == ("a_done", "t2_done")
    assert engine.trail("C-1")[-1].event == "sub_done"


def _ready_with_a_transfer(on_close: str) -> Engine:
    engine = _started(_chained(on_close))
    engine.transfer("C-1", "binjai", actor=SPV, reason="The family moved to Binjai.")
    engine.fire("C-1", "finish_a", actor=SW)
    engine.fire("C-1", "note", actor=SW, data={"ready": True})
    return engine


def test_a_completion_that_would_close_past_an_open_handover_is_not_taken():
    engine = _ready_with_a_transfer("refuse")
    case = engine.fire("C-1", "finish_b", actor=SW)
    assert case.configuration == ("a_done", "t2_done")
    assert engine.trail("C-1")[-1].event == "sub_done"


def test_a_completion_that_closes_the_case_cancels_its_open_handovers_as_the_system():
    engine = _ready_with_a_transfer("cancel")
    case = engine.fire("C-1", "finish_b", actor=SW)
    assert case.state == "closed"
    cancelled = engine.trail("C-1")[-1]
    assert (cancelled.kind, cancelled.actor_id) == (EntryKind.HANDOVER_ANSWERED, "system")
    assert cancelled.reason == "tracks_done moved the case"
    assert case.open_handovers == ()


def test_a_stage_left_done_and_waiting_does_not_complete_on_a_later_step():
    engine = _started(_chained())
    engine.fire("C-1", "finish_a", actor=SW)
    engine.fire("C-1", "finish_b", actor=SW)
    case = engine.fire("C-1", "note", actor=SW, data={"ready": True})
    assert case.configuration == ("a_done", "t2_done")
    assert engine.trail("C-1")[-1].event == "note"
    assert engine.fire("C-1", "tracks_done", actor=SW).state == "closed"


def test_stages_done_in_one_step_complete_innermost_first_each_once():
    tracks = State(
        "tracks", parallel=True, on_done="tracks_done",
        states=[
            State("t1", initial="a", on_done="t1_reviewed",
                  states=[State("a"), State("a_done", final=True)]),
            State("t2", initial="b", states=[State("b"), State("b_done", final=True)]),
        ],
    )  # fmt: skip
    wf = Workflow(
        "together", 1, "intake",
        states=[State("intake"), tracks, State("closed", terminal=True)],
        transitions=[
            Transition("start", "intake", "tracks"),
            Transition("finish_a", "a", "a_done"),
            Transition("finish_b", "b", "b_done"),
            Transition("t1_reviewed", "t1", None),
            Transition("tracks_done", "tracks", "closed"),
        ],
    )  # fmt: skip
    engine, _ = _engine(wf)
    engine.open("together", "T-1", actor=SW)
    engine.fire("T-1", "start", actor=SW)
    engine.fire("T-1", "finish_b", actor=SW)
    case = engine.fire("T-1", "finish_a", actor=SW)
    assert case.state == "closed"
    events = [(e.event, e.details.get("completion")) for e in engine.trail("T-1")[-3:]]
    assert events == [("finish_a", None), ("t1_reviewed", "t1"), ("tracks_done", "tracks")]


def test_a_transition_into_a_track_enters_the_other_tracks_at_their_start():
    base = intake_workflow()
    wf = attrs.evolve(
        base,
        transitions=(
            *base.transitions,
            Transition("screen_now", "first_approach", "health_screening"),
        ),
    )
    case = _opened(wf, "screen_now").get("MDN-1")
    assert case.configuration == ("tracing", "ktp_requested", "screening")


def test_a_transition_deep_into_a_track_enters_what_holds_its_target_and_nothing_else():
    base = _chained()
    wf = attrs.evolve(base, transitions=(*base.transitions, Transition("jump", "intake", "b_done")))
    engine, _ = _engine(wf)
    engine.open("chained", "C-1", actor=SW)
    engine.fire("C-1", "jump", actor=SW)
    jumped, completed = engine.trail("C-1")[-2:]
    assert jumped.details["configuration"] == "tracks/t1/a tracks/t2/sub/b_done"
    assert (completed.event, completed.details["completion"]) == ("sub_done", "sub")
