"""Who acts in which unit: roles held per unit, cross-unit roles, refusals recorded.

Lina is a supervisor at the city office (Dinas Sosial Medan) and a social worker at the
shelter unit in Binjai; an auditor of the inspectorate reads cases of every unit. Run
on every store: a command across units is refused and the refusal is in the trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Approval,
    Engine,
    EntryKind,
    ManualClock,
    NewCase,
    State,
    Transition,
    TransitionRejected,
    Workflow,
)
from casework_flow._ids import ULID_ALPHABET, new_case_id
from casework_flow.exceptions import CaseExists, WorkflowError
from casework_flow.files import workflow_from_dict, workflow_to_dict
from casework_flow.stores import Query, Store

from .conftest import START
from .stores import KINDS, make_store

MEDAN, BINJAI = "dinsos-medan", "upt-binjai"
LINA = Actor("lina", unit_roles={MEDAN: {"supervisor"}, BINJAI: {"social_worker"}})
SW_MEDAN = Actor("sw-017", {"social_worker"}, units={MEDAN})
SW_BINJAI = Actor("sw-201", {"social_worker"}, units={BINJAI})
AUDITOR = Actor("aud-3", {"auditor"}, units={"inspektorat"})

WORKFLOW = Workflow(
    name="elderly-neglect",
    version=1,
    initial="reported",
    roles={"social_worker", "supervisor", "auditor"},
    personal={"client_name"},
    personal_roles={"social_worker", "supervisor", "auditor"},
    cross_unit_roles={"auditor"},
    states=[State("reported"), State("home_visit"), State("closed", terminal=True)],
    transitions=[
        Transition("visit", source="reported", dest="home_visit", roles={"social_worker"}),
        Transition(
            "close",
            source="home_visit",
            dest="closed",
            roles={"social_worker"},
            approval=Approval({"supervisor"}),
        ),
    ],
)


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    store: Store
    with make_store(request.param, tmp_path) as store:
        eng = Engine([WORKFLOW], store=store, clock=ManualClock(START))
        eng.open(WORKFLOW.name, "M-1", actor=SW_MEDAN, assignee=SW_MEDAN.id, unit=MEDAN,
                 data={"client_name": "Pak Darmo"})  # fmt: skip
        eng.open(WORKFLOW.name, "B-1", actor=SW_BINJAI, assignee=SW_BINJAI.id, unit=BINJAI,
                 data={"client_name": "Bu Sari"})  # fmt: skip
        yield eng


def test_an_actor_holds_the_roles_of_each_unit_on_that_units_cases(engine):
    engine.fire("B-1", "visit", actor=LINA)
    assert engine.trail("B-1")[-1].actor_roles == ("social_worker",)
    with pytest.raises(TransitionRejected) as refused:
        engine.fire("M-1", "visit", actor=LINA)
    assert [r.check for r in refused.value.reasons] == ["role"]
    engine.fire("M-1", "visit", actor=SW_MEDAN)
    engine.fire("M-1", "close", actor=SW_MEDAN)
    case = engine.approve("M-1", actor=LINA)
    assert case.state == "closed"
    assert engine.trail("M-1")[-1].actor_roles == ("supervisor",)


def test_a_supervisor_of_one_unit_cannot_approve_in_another(engine):
    engine.fire("B-1", "visit", actor=SW_BINJAI)
    engine.fire("B-1", "close", actor=SW_BINJAI)
    with pytest.raises(TransitionRejected):
        engine.approve("B-1", actor=LINA)
    assert engine.get("B-1").state == "home_visit"


def test_a_command_across_units_is_refused_and_recorded(engine):
    with pytest.raises(TransitionRejected) as refused:
        engine.fire("M-1", "visit", actor=SW_BINJAI)
    assert "sw-201 is not of dinsos-medan" in str(refused.value)
    last = engine.trail("M-1")[-1]
    assert last.kind is EntryKind.REFUSED
    assert last.actor_id == "sw-201"
    with pytest.raises(TransitionRejected):
        engine.read("M-1", actor=SW_BINJAI)
    assert engine.get("M-1").state == "reported"


def test_a_cross_unit_role_reads_every_units_cases(engine):
    for case_id, name in (("M-1", "Pak Darmo"), ("B-1", "Bu Sari")):
        view = engine.read(case_id, actor=AUDITOR)
        assert view.case.data["client_name"] == name
        assert view.shown == ("client_name",)
    opening = engine.read_trail("B-1", actor=AUDITOR)[0]
    assert "masked" not in opening
    assert opening["changes"][0]["after"] == "Bu Sari"
    with pytest.raises(TransitionRejected):
        engine.fire("M-1", "visit", actor=AUDITOR)


def test_a_query_scoped_to_an_actor_lists_the_cases_of_their_units(engine):
    def ids(query: Query) -> list[str]:
        return [c.id for c in engine.store.find(query).cases]

    assert ids(Query().for_actor(SW_BINJAI)) == ["B-1"]
    assert ids(Query().for_actor(SW_MEDAN)) == ["M-1"]
    assert ids(Query().for_actor(LINA)) == ["B-1", "M-1"]
    assert ids(Query(units={MEDAN}).for_actor(LINA)) == ["M-1"]
    assert ids(Query(units={MEDAN}).for_actor(SW_BINJAI)) == []
    assert ids(Query().for_actor(Actor("host", {"social_worker"}))) == ["B-1", "M-1"]


def test_cross_unit_roles_round_trip_through_a_file_and_must_be_declared():
    assert workflow_from_dict(workflow_to_dict(WORKFLOW)).cross_unit_roles == {"auditor"}
    with pytest.raises(WorkflowError, match="cross_unit_roles: role 'auditr'"):
        Workflow(
            name="x",
            version=1,
            initial="a",
            roles={"auditor"},
            cross_unit_roles={"auditr"},
            states=[State("a"), State("b", terminal=True)],
            transitions=[Transition("go", source="a", dest="b")],
        )


def test_unit_roles_name_their_units():
    assert LINA.units == {MEDAN, BINJAI}
    assert LINA.in_units({BINJAI, None}).roles == {"social_worker"}
    assert LINA.in_units({"elsewhere"}) is LINA


# --- case ids the engine makes ---------------------------------------------------------

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_a_case_opened_with_no_id_gets_a_time_ordered_unguessable_one():
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock)
    made = []
    for _ in range(50):
        made.append(engine.open(WORKFLOW.name, actor=SW_MEDAN, unit=MEDAN).id)
        clock.advance(milliseconds=1)
    assert all(ULID.match(i) for i in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    same_moment = {new_case_id(START) for _ in range(200)}
    assert len(same_moment) == 200
    assert {i[:10] for i in same_moment} == {made[0][:10]}


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(9999, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_a_made_id_starts_with_the_millisecond_it_was_made(now):
    made = new_case_id(now)
    value = 0
    for ch in made:
        value = value * 32 + ULID_ALPHABET.index(ch)
    assert value >> 80 == int(now.timestamp() * 1000)


def test_open_many_makes_the_ids_it_is_not_given():
    engine = Engine([WORKFLOW], clock=ManualClock(START))
    opened = engine.open_many(
        WORKFLOW.name, [NewCase(None, unit=MEDAN), NewCase("M-9", unit=MEDAN)], actor=SW_MEDAN
    )
    assert opened == 2
    ids = [c.id for c in engine.store.find(Query()).cases]
    assert "M-9" in ids
    assert any(ULID.match(i) for i in ids)


def test_an_id_taken_in_another_unit_reveals_nothing_of_that_case(engine):
    with pytest.raises(CaseExists) as taken:
        engine.open(WORKFLOW.name, "M-1", actor=SW_BINJAI, unit=BINJAI)
    said = str(taken.value)
    assert said == "the case id 'M-1' is taken; leave the id out to have one made"
    for secret in (MEDAN, "reported", "sw-017", "Pak Darmo"):
        assert secret not in said
