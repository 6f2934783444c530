"""Invariants of the step core over random command sequences of every entry kind."""

from __future__ import annotations

import contextlib

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Approval,
    CaseworkError,
    Engine,
    EntryKind,
    ManualClock,
    State,
    TransitionRejected,
    replay,
)
from casework_flow.keys import InMemoryKeyStore
from casework_flow.links import LinkRule

from .test_core import START, WF

SW = Actor("sw-031", {"social_worker"}, units={"medan"})
SW2 = Actor("sw-044", {"social_worker"}, units={"medan"})
SPV = Actor("spv-002", {"supervisor"}, units={"medan"})
HEAD = Actor("kabid-01", {"head_of_division"}, units={"medan"})
UPT = Actor("upt-head", {"supervisor"}, units={"binjai"})
ACTORS = (SW, SW2, SPV, HEAD, UPT)

V1 = attrs.evolve(
    WF,
    personal={"address"},
    log_personal_reads=True,
    transitions=[
        attrs.evolve(
            t, approval=Approval({"supervisor", "head_of_division"}, quorum=2, not_assignee=True)
        )
        if t.event == "propose_plan"
        else t
        for t in WF.transitions
    ],
    links=[LinkRule("re_entry", "re_entry")],
)
"""The core's workflow, with the plan approved by two people (a vote, then the step), and
re-entry links to the client's earlier case."""
V2 = attrs.evolve(V1, version=2, states=(*V1.states, State("archived", terminal=True)))

actors = st.sampled_from(ACTORS)
commands = st.one_of(
    st.tuples(
        st.just("fire"), st.sampled_from(V1.events), actors,
        st.sampled_from([None, "consent:referral"]), st.sampled_from([None, "IMMINENT_DANGER"]),
    ),
    st.tuples(st.just("approve"), actors),
    st.tuples(st.just("reject"), actors, st.sampled_from(["", "Not yet."])),
    st.tuples(st.just("record"), actors, st.sampled_from(["Jl. Sei Deli 4", "Jl. Gatot"])),
    st.tuples(st.just("assign"), actors, st.sampled_from(["sw-031", "sw-044"])),
    st.tuples(st.just("transfer"), actors, st.sampled_from(["binjai", "medan"])),
    st.tuples(st.just("answer"), actors, st.booleans()),
    st.tuples(st.just("read"), actors),
    st.tuples(st.just("wait"), st.integers(0, 20)),
    st.tuples(st.just("migrate"), actors),
    st.tuples(st.just("link"), actors),
    st.tuples(st.just("erase"), actors, actors, st.booleans()),
)  # fmt: skip
KEK = bytes(range(32))


def apply(engine: Engine, clock: ManualClock, command: tuple[object, ...]) -> None:
    kind, *args = command
    case_id = "FW-1"
    if kind == "fire":
        event, actor, doc, code = args
        engine.fire(
            case_id, event, actor=actor, evidence={doc: "F-1"} if doc else None,  # type: ignore[dict-item]
            reason_code=code, reason="Because." if code else None,  # type: ignore[arg-type]
            override_by=HEAD if code else None,
        )  # fmt: skip
    elif kind == "approve":
        engine.approve(case_id, actor=args[0])  # type: ignore[arg-type]
    elif kind == "reject":
        engine.reject(case_id, actor=args[0], reason=args[1])  # type: ignore[arg-type]
    elif kind == "record":
        engine.record(case_id, "home_visit", actor=args[0], data={"address": args[1]})  # type: ignore[arg-type]
    elif kind == "assign":
        engine.assign(case_id, args[1], actor=args[0])  # type: ignore[arg-type]
    elif kind == "transfer":
        engine.transfer(case_id, args[1], actor=args[0], reason="Shelter needed.")  # type: ignore[arg-type]
    elif kind == "answer":
        actor, accept = args
        if accept:
            engine.accept_transfer(case_id, actor=actor)  # type: ignore[arg-type]
        else:
            engine.refuse_transfer(case_id, actor=actor, reason="No bed.")  # type: ignore[arg-type]
    elif kind == "read":
        engine.read(case_id, actor=args[0], purpose="visit")  # type: ignore[arg-type]
    elif kind == "wait":
        clock.advance(days=args[0])  # type: ignore[arg-type]
        engine.run_due()
    elif kind == "link":
        engine.link(case_id, "FW-0", kind="re_entry", actor=args[0])  # type: ignore[arg-type]
    elif kind == "migrate":
        plan = engine.plan_migration(V1.name, 1, 2)
        engine.migrate(plan, actor=args[0])  # type: ignore[arg-type]
    elif kind == "erase":
        actor, second, override = args
        engine.erase(case_id, actor=actor, second=second, reason="Asked.", override=override)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands, max_size=25))
def test_the_stored_case_is_the_fold_of_its_trail_and_refusals_change_nothing(steps):
    clock = ManualClock(START)
    engine = Engine([V1, V2], clock=clock, keys=InMemoryKeyStore(KEK))
    engine.open(V1.name, "FW-0", actor=SW, assignee=SW.id, unit="medan", version=1)
    clock.advance(hours=1)
    engine.open(V1.name, "FW-1", actor=SW, assignee=SW.id, unit="medan", version=1)
    for command in steps:
        before = engine.get("FW-1")
        try:
            apply(engine, clock, command)
        except TransitionRejected:
            assert engine.get("FW-1") == before
            assert engine.trail("FW-1")[-1].kind is EntryKind.REFUSED
        except CaseworkError:
            assert engine.get("FW-1") == before
        trail = engine.trail("FW-1")
        assert engine.verify("FW-1").ok
        assert replay([V1, V2], trail) == engine.store.load("FW-1").case


def test_the_random_commands_reach_every_kind_of_entry():
    """The sequences above can produce every entry kind (so the fold is tested on each)."""
    clock = ManualClock(START)
    engine = Engine([V1, V2], clock=clock, keys=InMemoryKeyStore(KEK))
    engine.open(V1.name, "FW-0", actor=SW, assignee=SW.id, unit="medan", version=1)
    clock.advance(hours=1)
    engine.open(V1.name, "FW-1", actor=SW, assignee=SW.id, unit="medan", version=1)
    script = [
        ("fire", "record_contact", SW, None, None),
        ("record", SW, "Jl. Sei Deli 4"),
        ("read", SPV),
        ("link", SW),
        ("assign", SPV, "sw-044"),
        ("approve", SPV),
        ("fire", "propose_plan", SW, None, None),
        ("approve", SPV),
        ("reject", HEAD, "Not yet."),
        ("transfer", SPV, "binjai"),
        ("answer", UPT, False),
        ("wait", 15),
        ("transfer", SPV, "binjai"),
        ("answer", UPT, True),
        ("migrate", UPT),
        ("erase", UPT, SPV, True),
    ]
    for command in script:
        with contextlib.suppress(TransitionRejected):
            apply(engine, clock, command)
    kinds = {e.kind for e in engine.trail("FW-1")}
    assert kinds == set(EntryKind)
    assert replay([V1, V2], engine.trail("FW-1")) == engine.store.load("FW-1").case
    assert engine.get("FW-1").version == 2
