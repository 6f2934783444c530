"""Closing a family's case: what its kind says happens to its open members.

A membership's kind declares ``on_close``: ``leave`` (members go on alone), ``refuse``
(the family's case stays open while a member is) or ``close`` (each open member takes
the kind's ``close_event`` in the same commit, or the family's case is not closed).
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Approval,
    ConcurrentModification,
    Engine,
    EntryKind,
    ManualClock,
    PostgresStore,
    SQLiteStore,
    State,
    Timer,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from casework_flow.checks import check_workflow as check
from casework_flow.exceptions import WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.links import Closing, LinkRule
from casework_flow.stores import Store

from .stores import KINDS, make_store, pg_schema, run_killed

START = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
SW = Actor("sw-017", {"social_worker"}, units={"medan"})
SUPERVISOR = Actor("spv-002", {"supervisor"}, units={"medan"})


def family() -> Workflow:
    """A family's case: closed by its worker, or with a supervisor's approval."""
    return Workflow(
        "family",
        1,
        "open",
        states=[State("open"), State("closed", terminal=True)],
        transitions=[
            Transition("close", "open", "closed"),
            Transition("close_approved", "open", "closed", approval=Approval({"supervisor"})),
        ],
    )


def child(on_close: Closing = Closing.CLOSE, roles: frozenset[str] = frozenset()) -> Workflow:
    """A child's case: ``family_closed`` closes it from support, parks it from review."""
    event = "family_closed" if on_close is Closing.CLOSE else None
    return Workflow(
        "child",
        1,
        "support",
        states=[
            State("support"),
            State("review"),
            State("held"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("to_review", "support", "review"),
            Transition("hold", "support", "held"),
            Transition("family_closed", "support", "closed", roles=roles),
            Transition("family_closed", "review", "review"),
            Transition("close", ["support", "review", "held"], "closed"),
        ],
        links=[LinkRule("family", "member_of", on_close=on_close, close_event=event)],
    )


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def _family(
    on_close: Closing, children: int = 2, store: Store | None = None
) -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    kw = {"store": store} if store is not None else {}
    engine = Engine([family(), child(on_close)], clock=clock, **kw)
    engine.open("family", "FAM-1", actor=SW, unit="medan")
    for n in range(1, children + 1):
        engine.open("child", f"CH-{n}", actor=SW, unit="medan")
        engine.link(f"CH-{n}", "FAM-1", kind="family", actor=SW)
    return engine, clock


def test_leave_closes_the_family_case_alone():
    engine, _ = _family(Closing.LEAVE)
    engine.fire("FAM-1", "close", actor=SW)
    assert engine.get("FAM-1").state == "closed"
    assert {engine.get(c).state for c in ("CH-1", "CH-2")} == {"support"}


def test_refuse_keeps_the_family_case_open_while_a_member_is(store):
    engine, _ = _family(Closing.REFUSE, store=store)
    engine.fire("CH-1", "close", actor=SW)
    with pytest.raises(TransitionRejected) as refused:
        engine.fire("FAM-1", "close", actor=SW)
    assert "member case CH-2 (family) is open" in str(refused.value)
    assert "CH-1" not in str(refused.value)
    assert engine.trail("FAM-1")[-1].kind is EntryKind.REFUSED
    assert engine.get("FAM-1").state == "open"
    assert not engine.can_fire("FAM-1", "close", actor=SW).allowed
    engine.fire("CH-2", "close", actor=SW)
    assert engine.fire("FAM-1", "close", actor=SW).state == "closed"


@pytest.mark.parametrize("on_close", [Closing.REFUSE, Closing.CLOSE])
def test_a_step_that_does_not_close_the_family_case_leaves_its_members_alone(on_close):
    conference = Workflow(
        "family",
        1,
        "open",
        states=[State("open"), State("conference"), State("closed", terminal=True)],
        transitions=[
            Transition("to_conference", "open", "conference"),
            Transition("close", ["open", "conference"], "closed"),
        ],
    )
    engine = Engine([conference, child(on_close)], clock=ManualClock(START))
    engine.open("family", "FAM-1", actor=SW, unit="medan")
    engine.open("child", "CH-1", actor=SW, unit="medan")
    engine.link("CH-1", "FAM-1", kind="family", actor=SW)
    assert engine.fire("FAM-1", "to_conference", actor=SW).state == "conference"
    assert engine.get("CH-1").state == "support"
    assert engine.trail("CH-1")[-1].kind is EntryKind.LINKED


def test_close_closes_every_open_member_in_the_same_commit(store):
    engine, _ = _family(Closing.CLOSE, children=3, store=store)
    engine.fire("CH-3", "close", actor=SW)
    seen = []
    engine.on_commit(lambda c: seen.append((c.after.id, c.after.state)))
    engine.fire("FAM-1", "close", actor=SW, reason="family reunited")
    assert seen == [("FAM-1", "closed"), ("CH-1", "closed"), ("CH-2", "closed")]
    for case_id in ("CH-1", "CH-2"):
        last = engine.trail(case_id)[-1]
        assert (last.kind, last.event, last.actor_id) == (
            EntryKind.TRANSITION,
            "family_closed",
            "system",
        )
        assert last.reason == "its family case FAM-1 closed"
        assert engine.verify(case_id).ok
        assert replay([child()], engine.trail(case_id)) == engine.get(case_id)
    assert len(engine.trail("CH-3")) == 3


def test_close_is_refused_whole_when_a_member_cannot_be_closed(store):
    engine, _ = _family(Closing.CLOSE, children=3, store=store)
    engine.fire("CH-2", "to_review", actor=SW)
    engine.fire("CH-3", "hold", actor=SW)
    before = {c: len(engine.trail(c)) for c in ("CH-1", "CH-2", "CH-3")}
    with pytest.raises(TransitionRejected) as refused:
        engine.fire("FAM-1", "close", actor=SW)
    text = str(refused.value)
    assert "family_closed leaves member case CH-2 open in review" in text
    assert "member case CH-3 cannot take family_closed" in text
    assert "CH-1" not in text
    assert engine.get("FAM-1").state == "open"
    assert {c: len(engine.trail(c)) for c in before} == before


def test_a_member_whose_close_event_needs_a_person_holds_the_family_case_open():
    clock = ManualClock(START)
    engine = Engine([family(), child(roles=frozenset({"social_worker"}))], clock=clock)
    engine.open("family", "FAM-1", actor=SW)
    engine.open("child", "CH-1", actor=SW)
    engine.link("CH-1", "FAM-1", kind="family", actor=SW)
    with pytest.raises(TransitionRejected, match="member case CH-1 cannot take family_closed"):
        engine.fire("FAM-1", "close", actor=SW)


def test_an_approval_that_closes_the_family_case_closes_its_members():
    engine, _ = _family(Closing.CLOSE)
    engine.fire("FAM-1", "close_approved", actor=SW, reason="case plan met")
    assert engine.get("CH-1").state == "support"
    closed = engine.approve("FAM-1", actor=SUPERVISOR)
    assert closed.state == "closed"
    assert {engine.get(c).state for c in ("CH-1", "CH-2")} == {"closed"}


def test_a_timer_that_closes_the_family_case_closes_its_members():
    timed = Workflow(
        "family", 1, "open",
        states=[State("open", timers=[Timer(timedelta(days=30), "close")]),
                State("closed", terminal=True)],
        transitions=[Transition("close", "open", "closed", roles={"social_worker", "system"})],
    )  # fmt: skip
    clock = ManualClock(START)
    engine = Engine([timed, child()], clock=clock)
    engine.open("family", "FAM-1", actor=SW)
    engine.open("child", "CH-1", actor=SW)
    engine.link("CH-1", "FAM-1", kind="family", actor=SW)
    clock.advance(days=31)
    engine.run_due()
    assert (engine.get("FAM-1").state, engine.get("CH-1").state) == ("closed", "closed")


def test_a_member_that_moved_meanwhile_stops_the_closing_and_nothing_is_written(store, monkeypatch):
    engine, _ = _family(Closing.CLOSE, children=1, store=store)
    real = type(store).load
    stale = store.load("CH-1")
    engine.fire("CH-1", "to_review", actor=SW)
    engine.fire("CH-1", "close", actor=SW)

    def load(self: Store, case_id: str, **kw: object) -> object:
        return stale if case_id == "CH-1" else real(self, case_id, **kw)

    monkeypatch.setattr(type(store), "load", load)
    with pytest.raises(ConcurrentModification):
        engine.fire("FAM-1", "close", actor=SW)
    monkeypatch.undo()
    assert engine.get("FAM-1").state == "open"
    assert engine.get("CH-1").state == "closed"
    assert [e.event for e in engine.trail("CH-1")][-1] == "close"


def test_membership_is_one_level_deep_so_no_chain_closes_a_cycle():
    engine, _ = _family(Closing.LEAVE, children=1)
    engine.open("child", "CH-9", actor=SW)
    with pytest.raises(TransitionRejected, match="CH-1 is itself a member"):
        engine.link("CH-9", "CH-1", kind="family", actor=SW)
    engine.open("child", "CH-10", actor=SW)
    engine.link("CH-10", "CH-9", kind="family", actor=SW)
    with pytest.raises(TransitionRejected, match="CH-9 has members of its own"):
        engine.link("CH-9", "FAM-1", kind="family", actor=SW)
    assert [link.other for link in engine.get("CH-9").links] == ["CH-10"]


def test_a_member_cannot_join_a_closed_family_case():
    engine, _ = _family(Closing.LEAVE, children=0)
    engine.fire("FAM-1", "close", actor=SW)
    engine.open("child", "CH-1", actor=SW)
    with pytest.raises(TransitionRejected, match="FAM-1 is closed"):
        engine.link("CH-1", "FAM-1", kind="family", actor=SW)


@settings(max_examples=40, deadline=None)
@given(
    rule=st.sampled_from(list(Closing)),
    moves=st.lists(st.sampled_from(["stay", "to_review", "hold", "close"]), max_size=4),
)
def test_closing_a_family_case_never_leaves_a_member_of_a_close_kind_open(rule, moves):
    """For any members in any states: the family's case closes only as its kind allows.

    ``close``: afterwards no member is open, or the family's case is still open and no
    member changed. ``refuse``: it closed only if no member was open. ``leave``: it
    closed and no member changed.
    """
    engine, _ = _family(rule, children=len(moves))
    for n, move in enumerate(moves, start=1):
        if move != "stay":
            engine.fire(f"CH-{n}", move, actor=SW)
    ids = [f"CH-{n}" for n in range(1, len(moves) + 1)]
    before = {c: engine.get(c) for c in ids}
    with contextlib.suppress(TransitionRejected):
        engine.fire("FAM-1", "close", actor=SW)
    closed = engine.get("FAM-1").state == "closed"
    after = {c: engine.get(c) for c in ids}
    was_open = [c for c in ids if before[c].state != "closed"]
    if rule is Closing.LEAVE:
        assert closed
        assert after == before
    elif rule is Closing.REFUSE:
        assert closed == (not was_open)
        assert after == before
    elif closed:
        assert all(case.state == "closed" for case in after.values())
        assert all(before[c].state in {"support", "closed"} for c in ids)
    else:
        assert after == before
        assert any(before[c].state in {"review", "held"} for c in ids)


def test_the_closing_rule_is_read_from_a_file_and_a_bad_one_is_located():
    wf = child()
    text = dump_workflow(wf, "yaml")
    assert "on_close: close" in text
    assert "close_event: family_closed" in text
    assert loads_workflow(text, "yaml") == wf
    cases = [
        ("close_event: family_closed", "close_event: family_gone", "links.family.close_event"),
        ("on_close: close", "on_close: shut", "links.family.on_close: on_close must be one of"),
        (", close_event: family_closed", "", "on_close: close needs close_event"),
        ("type: member_of", "type: re_entry", "on_close is for member_of links"),
    ]
    for old, new, why in cases:
        assert old in text
        with pytest.raises(WorkflowError, match=rf"c.yaml:\d+(:\d+)?: .*{why}"):
            loads_workflow(text.replace(old, new), "yaml", source="c.yaml")


def test_the_checks_report_members_a_closing_would_hold_or_leave():
    found = {(f.code, f.path, f.message) for f in check(child())}
    orphaned = sorted(m for code, _, m in found if code == "member-orphaned")
    assert len(orphaned) == 2
    assert "review" in orphaned[1] or "review" in orphaned[0]
    assert any("held" in m and "takes no family_closed" in m for m in orphaned)
    assert any("review" in m and "not terminal" in m for m in orphaned)
    assert all(p == "links.family.close_event" for c, p, _ in found if c == "member-orphaned")
    left = [f for f in check(child(Closing.LEAVE)) if f.code == "member-left-open"]
    assert [f.severity for f in left] == ["info"]
    assert not [f for f in check(child(Closing.REFUSE)) if f.code.startswith("member-")]
    stray = child()
    stray = Workflow(
        stray.name,
        stray.version,
        stray.initial,
        states=[*stray.states, State("never_entered")],
        transitions=[*stray.transitions, Transition("close", "never_entered", "closed")],
        links=stray.links,
    )
    assert "unreachable-state" in {f.code for f in check(stray)}
    assert not [
        f for f in check(stray) if f.code == "member-orphaned" and "never_entered" in f.message
    ]
    guarded = [
        f
        for f in check(child(roles=frozenset({"social_worker"})))
        if f.code == "member-orphaned" and "system" in f.message
    ]
    assert len(guarded) == 1


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from casework_flow import Actor, Engine, ManualClock, PostgresStore, SQLiteStore
    from tests.test_link_closing import child, family
    where = sys.argv[1]
    store = PostgresStore(where) if where.startswith("postgresql") else SQLiteStore(where)
    engine = Engine([family(), child()], store=store,
                    clock=ManualClock(datetime(2024, 9, 2, tzinfo=UTC)))
    original = type(store)._commit_in
    def commit_then_die(self, conn, case, entries, expected):
        body = original(self, conn, case, entries, expected)
        if case.id == "FAM-1":
            print("ready", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return body
    type(store)._commit_in = commit_then_die
    engine.fire("FAM-1", "close", actor=Actor("sw-017", {"social_worker"}))
    """
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_killed_between_the_family_and_member_writes_nothing_changes(kind, tmp_path):
    with contextlib.ExitStack() as stack:
        where = (
            str(tmp_path / "family.sqlite3")
            if kind == "sqlite"
            else stack.enter_context(pg_schema())
        )

        def opened() -> Store:
            return SQLiteStore(where) if kind == "sqlite" else PostgresStore(where)

        with opened() as store:
            engine, _ = _family(Closing.CLOSE, children=1, store=store)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        run_killed(KILLED, where, env=env)
        with opened() as store:
            engine = Engine([family(), child()], store=store)
            assert engine.get("FAM-1").state == "open"
            assert engine.get("CH-1").state == "support"
            assert engine.verify("FAM-1").ok
            assert engine.verify("CH-1").ok
