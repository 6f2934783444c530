"""Linked cases: a re-entry of the same client, membership of a family's case."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework_flow import (
    Actor,
    ConcurrentModification,
    Engine,
    EntryKind,
    ManualClock,
    PostgresStore,
    SQLiteStore,
    State,
    Transition,
    TransitionRejected,
    UnknownCase,
    Workflow,
    replay,
)
from casework_flow.exceptions import InvalidInput, WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.guards import linked
from casework_flow.links import LinkRule
from casework_flow.stores import Store

from .stores import KINDS, make_store, pg_schema, run_killed

START = datetime(2024, 1, 8, 1, 0, tzinfo=UTC)
SW = Actor("sw-017", {"social_worker"}, units={"medan"})
STRANGER = Actor("sw-900", {"social_worker"}, units={"deli-serdang"})


def workflow() -> Workflow:
    """A returning client's second re-entry within a year goes to a case conference."""
    return Workflow(
        "returns",
        1,
        "intake",
        states=[
            State("intake"),
            State("case_conference"),
            State("support"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition(
                "to_conference",
                "intake",
                "case_conference",
                guard=linked("re_entry", within=timedelta(days=365)) >= 2,
            ),
            Transition("start_support", ["intake", "case_conference"], "support"),
            Transition("close", ["intake", "case_conference", "support"], "closed"),
        ],
        links=[LinkRule("re_entry", "re_entry"), LinkRule("family", "member_of")],
    )


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def _engine(store: Store | None = None) -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    return Engine([workflow()], clock=clock, **({"store": store} if store else {})), clock


def _open(engine: Engine, clock: ManualClock, case_id: str, *, days: int = 0) -> None:
    clock.advance(days=days)
    engine.open("returns", case_id, actor=SW, unit="medan")


def test_a_re_entry_links_both_cases_with_an_entry_in_each_trail(store):
    engine, clock = _engine(store)
    _open(engine, clock, "MDN-1")
    engine.fire("MDN-1", "close", actor=SW)
    _open(engine, clock, "MDN-2", days=200)
    new = engine.link("MDN-2", "MDN-1", kind="re_entry", actor=SW, reason="Same client.")
    (link,) = new.links
    assert (link.kind, link.other, link.side, link.other_opened_at) == (
        "re_entry", "MDN-1", "to", START,
    )  # fmt: skip
    (back,) = engine.get("MDN-1").links
    assert (back.other, back.side) == ("MDN-2", "from")
    for case_id in ("MDN-1", "MDN-2"):
        trail = engine.trail(case_id)
        assert trail[-1].kind is EntryKind.LINKED
        assert engine.verify(case_id).ok
        assert replay(workflow(), trail) == engine.get(case_id)


def test_a_second_re_entry_within_a_year_goes_to_case_conference():
    engine, clock = _engine()
    _open(engine, clock, "MDN-1")
    _open(engine, clock, "MDN-2", days=500)
    _open(engine, clock, "MDN-3", days=100)
    _open(engine, clock, "MDN-4", days=100)
    engine.link("MDN-4", "MDN-1", kind="re_entry", actor=SW)
    engine.link("MDN-4", "MDN-2", kind="re_entry", actor=SW)
    with pytest.raises(TransitionRejected, match="1 re_entry case opened within 365 days"):
        engine.fire("MDN-4", "to_conference", actor=SW)
    engine.link("MDN-4", "MDN-3", kind="re_entry", actor=SW)
    assert engine.fire("MDN-4", "to_conference", actor=SW).state == "case_conference"


@pytest.mark.parametrize(
    ("case_id", "other", "kind", "actor", "why"),
    [
        ("MDN-2", "MDN-1", "sibling", SW, "declares no link of kind sibling"),
        ("MDN-2", "MDN-2", "re_entry", SW, "cannot be linked to itself"),
        ("MDN-1", "MDN-2", "re_entry", SW, "a re-entry links to an earlier case"),
        ("MDN-2", "MDN-1", "re_entry", STRANGER, "sw-900 is not of medan"),
        ("MDN-2", "MDN-3", "re_entry", SW, "sw-017 is not of deli-serdang"),
    ],
)
def test_a_link_that_cannot_be_is_refused_on_the_named_case_only(case_id, other, kind, actor, why):
    engine, clock = _engine()
    _open(engine, clock, "MDN-1")
    _open(engine, clock, "MDN-2", days=1)
    clock.advance(days=1)
    engine.open("returns", "MDN-3", actor=STRANGER, unit="deli-serdang")
    before = {c: len(engine.trail(c)) for c in ("MDN-1", "MDN-2", "MDN-3")}
    with pytest.raises(TransitionRejected) as refused:
        engine.link(case_id, other, kind=kind, actor=actor)
    assert why in str(refused.value)
    after = {c: len(engine.trail(c)) for c in ("MDN-1", "MDN-2", "MDN-3")}
    assert after == {**before, case_id: before[case_id] + 1}
    assert engine.trail(case_id)[-1].kind is EntryKind.REFUSED


def test_a_member_belongs_to_one_family_case_and_never_in_a_cycle():
    engine, clock = _engine()
    for case_id in ("FAM-1", "FAM-2", "CHILD-1"):
        _open(engine, clock, case_id)
    engine.link("CHILD-1", "FAM-1", kind="family", actor=SW)
    with pytest.raises(TransitionRejected, match="member of another family case already"):
        engine.link("CHILD-1", "FAM-2", kind="family", actor=SW)
    with pytest.raises(TransitionRejected, match="FAM-1 has members of its own"):
        engine.link("FAM-1", "CHILD-1", kind="family", actor=SW)
    with pytest.raises(TransitionRejected, match="linked to FAM-1 as family already"):
        engine.link("CHILD-1", "FAM-1", kind="family", actor=SW)
    assert [link.other for link in engine.get("FAM-1").links] == ["CHILD-1"]


def test_a_link_commits_both_cases_or_neither(store, monkeypatch):
    engine, clock = _engine(store)
    _open(engine, clock, "MDN-1")
    _open(engine, clock, "MDN-2", days=1)
    stale = engine._load("MDN-1")
    engine.fire("MDN-1", "start_support", actor=SW)
    loads = iter([engine._load("MDN-2"), stale])
    monkeypatch.setattr(engine, "_load", lambda _case_id: next(loads))
    with pytest.raises(ConcurrentModification):
        engine.link("MDN-2", "MDN-1", kind="re_entry", actor=SW)
    monkeypatch.undo()
    assert [e.kind for e in engine.trail("MDN-2")] == [EntryKind.OPENED]
    assert engine.get("MDN-1").links == ()
    assert engine.get("MDN-2").links == ()


def test_links_in_a_workflow_file_round_trip_and_a_bad_type_is_located():
    wf = workflow()
    text = dump_workflow(wf, "yaml")
    assert "type: member_of" in text
    assert loads_workflow(text, "yaml") == wf
    with pytest.raises(WorkflowError, match=r"w.yaml:\d+:\d+: links.family.type: type must be"):
        loads_workflow(text.replace("type: member_of", "type: sibling"), "yaml", source="w.yaml")


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from casework_flow import Actor, Engine, ManualClock, PostgresStore, SQLiteStore
    from casework_flow import State, Transition, Workflow
    from casework_flow.links import LinkRule
    where = sys.argv[1]
    store = PostgresStore(where) if where.startswith("postgresql") else SQLiteStore(where)
    wf = Workflow(
        "returns", 1, "intake", states=[State("intake"), State("closed", terminal=True)],
        transitions=[Transition("close", "intake", "closed")],
        links=[LinkRule("re_entry", "re_entry")],
    )
    engine = Engine([wf], store=store, clock=ManualClock(datetime(2024, 9, 2, tzinfo=UTC)))
    original = type(store)._commit_in
    def commit_then_die(self, conn, case, entries, expected):
        body = original(self, conn, case, entries, expected)
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        return body
    type(store)._commit_in = commit_then_die
    engine.link("MDN-2", "MDN-1", kind="re_entry", actor=Actor("sw-017", {"social_worker"}))
    """
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_killed_between_the_two_cases_writes_of_a_link_neither_changes(kind, tmp_path):
    small = Workflow(
        "returns", 1, "intake", states=[State("intake"), State("closed", terminal=True)],
        transitions=[Transition("close", "intake", "closed")],
        links=[LinkRule("re_entry", "re_entry")],
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        where = (
            str(tmp_path / "links.sqlite3")
            if kind == "sqlite"
            else stack.enter_context(pg_schema())
        )

        def opened() -> Store:
            return SQLiteStore(where) if kind == "sqlite" else PostgresStore(where)

        with opened() as store:
            clock = ManualClock(START)
            engine = Engine([small], store=store, clock=clock)
            engine.open("returns", "MDN-1", actor=SW)
            clock.advance(days=30)
            engine.open("returns", "MDN-2", actor=SW)
        run_killed(KILLED, where)
        with opened() as store:
            engine = Engine([small], store=store)
            for case_id in ("MDN-1", "MDN-2"):
                assert [e.kind for e in engine.trail(case_id)] == [EntryKind.OPENED]
                assert engine.get(case_id).links == ()
                assert engine.verify(case_id).ok


def test_a_case_keeps_its_links_through_later_steps(store):
    engine, clock = _engine(store)
    _open(engine, clock, "MDN-1")
    _open(engine, clock, "MDN-2", days=30)
    engine.link("MDN-2", "MDN-1", kind="re_entry", actor=SW)
    engine.fire("MDN-2", "start_support", actor=SW)
    engine.fire("MDN-1", "close", actor=SW)
    assert [link.other for link in engine.get("MDN-2").links] == ["MDN-1"]
    assert [link.other for link in engine.get("MDN-1").links] == ["MDN-2"]
    assert replay(workflow(), engine.trail("MDN-2")) == engine.get("MDN-2")


def test_relatives_lists_each_linked_case_of_a_kind_at_its_latest_revision(store):
    engine, clock = _engine(store)
    for n, case_id in enumerate(("FAM-1", "CH-1", "CH-2", "CH-3")):
        _open(engine, clock, case_id, days=n)
    engine.link("CH-2", "FAM-1", kind="family", actor=SW)
    engine.link("CH-1", "FAM-1", kind="family", actor=SW)
    engine.link("CH-3", "CH-1", kind="re_entry", actor=SW)
    engine.fire("CH-2", "close", actor=SW)
    family = engine.relatives("FAM-1")
    assert [(c.id, c.state) for c in family] == [("CH-2", "closed"), ("CH-1", "intake")]
    assert engine.relatives("FAM-1", kind="family") == family
    assert engine.relatives("FAM-1", kind="re_entry") == ()
    assert [c.id for c in engine.relatives("CH-1")] == ["FAM-1", "CH-3"]
    assert [c.id for c in engine.relatives("CH-1", kind="re_entry")] == ["CH-3"]
    with pytest.raises(UnknownCase):
        engine.relatives("NOPE")
    with pytest.raises(InvalidInput):
        engine.relatives("FAM-1", kind="  ")
