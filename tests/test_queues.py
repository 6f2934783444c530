"""Supervisors' work queues: every queue and count equals a reference folded from the trails."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Case,
    Engine,
    InMemoryStore,
    InvalidInput,
    ManualClock,
    SQLiteStore,
    TransitionRejected,
    seed,
)
from casework_flow._access import as_on
from casework_flow._catalog import Catalog
from casework_flow._checks import approval_checks
from casework_flow._evolve import fold
from casework_flow.audit import EntryKind
from casework_flow.exceptions import OutOfScope
from casework_flow.stores import Page, Query, Store, _waiting

from .conftest import START
from .stores import KINDS, make_store

WORKFLOW = seed.build_workflow()
CATALOG = Catalog([WORKFLOW], calendar=seed.CALENDAR)
MEDAN, BINJAI = seed.MEDAN, seed.BINJAI
REQUEST = 10
"""How many happy-path steps leave the referral's request waiting for a supervisor."""

CHECKERS = (
    seed.SUPERVISOR,
    Actor("spv-bnj", {"supervisor"}, units={BINJAI}),
    Actor("spv-all", {"supervisor"}),
    seed.WORKER,
    Actor("sw-017", {"social_worker", "supervisor"}, units={MEDAN}),
    Actor("lina", {"social_worker"}, unit_roles={MEDAN: {"supervisor"}}),
    Actor("sw-021", {"social_worker", "supervisor"}, units={MEDAN}),
)
"""Who asks for their queues: supervisors of each unit and of none, the requester, the
requester holding the approver's role too, one who supervises in one unit only, and a
supervisor who is the worker of some of the cases (the approval keeps them out)."""

Plan = tuple[int, str | None, str | None, int, str]
PLANS = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([2, 3, REQUEST]), st.integers(0, len(seed.HAPPY_PATH))),
        st.sampled_from([MEDAN, BINJAI, None]),
        st.sampled_from([seed.WORKER.id, "sw-021", None]),
        st.one_of(st.integers(0, 2), st.integers(0, 45)),
        st.sampled_from(["none", "reject", "reassign", "transfer"]),
    ),
    min_size=1,
    max_size=6,
)


def on_unit(actor: Actor, unit: str | None) -> Actor:
    return Actor(actor.id, actor.roles, units={unit} if unit else set())


def play(engine: Engine, clock: ManualClock, case_id: str, plan: Plan) -> None:
    """One case: open, take its steps (stopping at a refusal), then what happens next:
    a rejection, a reassignment or a transfer to the other unit, days passing, and the
    timers that fell due in them."""
    steps, unit, assignee, idle_days, extra = plan
    engine.open(WORKFLOW.name, case_id, actor=on_unit(seed.OUTREACH, unit), unit=unit,
                assignee=assignee, version=1)  # fmt: skip
    supervisor = on_unit(seed.SUPERVISOR, unit)
    try:
        for event, who, data, evidence, code, days in seed.HAPPY_PATH[:steps]:
            clock.advance(timedelta(days=days, hours=1))
            actor = who if unit == MEDAN else on_unit(who, unit)
            seed.take(engine, case_id, (event, actor, data, evidence, code, days))
        if extra == "reject" and engine.get(case_id).approvals:
            engine.reject(case_id, actor=supervisor, reason="The conference minutes are missing.")
        if extra == "reassign":
            engine.assign(case_id, "sw-033", actor=supervisor, reason="Caseload balanced.")
        if extra == "transfer" and unit is not None:
            to = BINJAI if unit == MEDAN else MEDAN
            engine.transfer(case_id, to, actor=supervisor, reason="The family lives there.")
            engine.accept_transfer(case_id, actor=on_unit(seed.SUPERVISOR, to))
    except TransitionRejected:
        pass
    clock.advance(timedelta(days=idle_days))
    engine.run_due()


def stored_cases(store: Store) -> list[Case]:
    """Every case as its trail folds (checked against the stored row)."""
    cases = []
    for stored in store.scan(limit=1000):
        case = fold(None, stored.trail, catalog=CATALOG)
        assert case == stored.case
        cases.append(case)
    return cases


def everything(call: object, **kw: object) -> list[str]:
    """The ids of every page of a queue call, two cases a page."""
    ids: list[str] = []
    after = None
    while True:
        page: Page = call(limit=2, after=after, **kw)  # type: ignore[operator]
        ids += [c.id for c in page.cases]
        if page.cursor is None:
            return ids
        after = page.cursor


def scoped(actor: Actor, case: Case) -> bool:
    return not actor.units or case.unit in actor.units


def last_step(store: Store, case_id: str) -> datetime:
    return next(e.at for e in reversed(store.trail(case_id)) if e.kind is not EntryKind.REFUSED)


def may_decide(actor: Actor, case: Case) -> bool:
    seen = as_on(WORKFLOW, case, actor)
    return any(
        not approval_checks(WORKFLOW, case, seen, p, deciding="approve")
        for p in case.approvals.values()
    )


def check_queues(store: Store, engine: Engine, now: datetime) -> None:
    cases = stored_cases(store)
    soon = seed.CALENDAR.add(now, timedelta(days=3))
    for actor in CHECKERS:
        mine = [c for c in cases if scoped(actor, c)]
        awaiting = sorted(c.id for c in cases if may_decide(actor, c))
        assert everything(engine.awaiting_decision, actor=actor) == awaiting, actor
        assert engine.count_awaiting(actor) == len(awaiting)
        due = sorted((c.deadline.due_at, c.id) for c in mine if c.deadline is not None)
        assert everything(engine.due_soon, actor=actor, now=now) == [
            i for at, i in due if now <= at < soon
        ]
        assert everything(engine.overdue_cases, actor=actor, now=now) == [
            i for at, i in due if at < now
        ]
        idle = sorted(
            c.id
            for c in mine
            if last_step(store, c.id) < now - timedelta(days=30)
            and not WORKFLOW.state(c.state).terminal
        )
        assert everything(engine.idle, actor=actor, now=now) == idle
        for by in ("state", "unit", "assignee", "workflow"):
            assert engine.caseload(by=by, actor=actor) == Counter(getattr(c, by) for c in mine)
        stages = Counter((WORKFLOW.tree.ancestors(c.state) or (c.state,))[-1] for c in mine)
        assert engine.caseload(by="stage", actor=actor) == stages
    check_store_filters(store, cases, now)


def check_store_filters(store: Store, cases: list[Case], now: datetime) -> None:
    """The store's own filters, each exactly what it says (the engine narrows no further)."""
    for roles, not_by in (({"supervisor"}, None), ({"supervisor"}, "sw-017"), ({"x"}, None)):
        query = Query(awaiting_roles=roles, not_requested_by=not_by)
        expected = sorted(
            c.id
            for c in cases
            if any(p.approvers & roles and p.requested_by != not_by for p in c.approvals.values())
        )
        assert everything(store.find, query=query) == expected
        assert sum(store.count_by(query, by="state").values()) == len(expected)
    since = now - timedelta(days=20)
    quiet = sorted(c.id for c in cases if last_step(store, c.id) < since)
    assert everything(store.find, query=Query(idle_since=since)) == quiet
    window = (now - timedelta(days=5), now + timedelta(days=5))
    due = sorted(
        (c.deadline.due_at, c.id)
        for c in cases
        if c.deadline is not None and window[0] <= c.deadline.due_at < window[1]
    )
    assert everything(store.find, query=Query(due=window)) == [i for _, i in due]
    for units in ({MEDAN, None}, {None}, {BINJAI}):
        query = Query(units=units, awaiting_roles={"supervisor"})
        expected = sorted(
            c.id
            for c in cases
            if c.unit in units and any("supervisor" in p.approvers for p in c.approvals.values())
        )
        assert everything(store.find, query=query) == expected
        assert store.count_by(Query(units=units), by="unit") == Counter(
            c.unit for c in cases if c.unit in units
        )


def waiting_table(store: Store) -> list[tuple[object, ...]] | None:
    """The waiting table's rows, for an SQL store (None for the memory store)."""
    rows = getattr(store, "_rows", None)
    if rows is None:
        return None
    found = rows(
        "read", "SELECT case_id, kind, role, requested_by, requested_at, unit FROM casework_waiting"
    )
    return sorted(tuple(r) for r in found)


@pytest.fixture(params=KINDS, scope="module")
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    with make_store(request.param, tmp_path_factory.mktemp("queues")) as store:
        yield store


_RUN = iter(range(10**6))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])  # fmt: skip
@given(plans=PLANS)
def test_every_queue_and_count_equals_the_reference_folded_from_the_trails(shared, plans):
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], store=shared, clock=clock, calendar=seed.CALENDAR)
    run = next(_RUN)
    for i, plan in enumerate(plans):
        play(engine, clock, f"R{run:05}-{i}", plan)
    check_queues(shared, engine, clock())
    table = waiting_table(shared)
    if table is not None:
        assert table == sorted(r for c in stored_cases(shared) for r in _waiting.rows(c))


def engine_on(store: Store) -> tuple[Engine, ManualClock]:
    clock = ManualClock(START)
    return Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR), clock


def test_a_request_is_in_the_supervisors_queue_until_decided_and_never_in_the_requesters(tmp_path):
    with SQLiteStore(tmp_path / "cases.db") as store:
        engine, clock = engine_on(store)
        play(engine, clock, "MDN-1", (REQUEST, MEDAN, seed.WORKER.id, 0, "none"))
        play(engine, clock, "MDN-2", (REQUEST, MEDAN, seed.WORKER.id, 0, "none"))
        assert [c.id for c in engine.awaiting_decision(seed.SUPERVISOR).cases] == ["MDN-1", "MDN-2"]
        assert engine.awaiting_decision(seed.WORKER).cases == ()
        requester_as_supervisor = CHECKERS[4]
        assert engine.count_awaiting(requester_as_supervisor) == 0
        assert engine.count_awaiting(CHECKERS[1]) == 0, "another unit's supervisor"
        engine.approve("MDN-1", actor=seed.SUPERVISOR)
        engine.reject("MDN-2", actor=seed.SUPERVISOR, reason="Ask the family once more.")
        assert engine.count_awaiting(seed.SUPERVISOR) == 0
        assert waiting_table(store) == []


def test_a_database_from_before_the_waiting_table_is_filled_when_opened(tmp_path):
    path = tmp_path / "cases.db"
    with SQLiteStore(path) as store:
        engine, clock = engine_on(store)
        play(engine, clock, "MDN-1", (REQUEST, MEDAN, seed.WORKER.id, 0, "none"))
        play(engine, clock, "MDN-2", (3, MEDAN, seed.WORKER.id, 0, "none"))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE casework_waiting")
        for index in ("unit_due", "unit_state", "unit_assignee"):
            conn.execute(f"DROP INDEX casework_cases_{index}")
        conn.execute("UPDATE casework_meta SET value = '5' WHERE key = 'schema_version'")
    conn.close()
    with SQLiteStore(path) as store:
        assert store.schema_version == 6
        assert [r[:3] for r in waiting_table(store) or []] == [("MDN-1", "referral", "supervisor")]
        engine, _ = engine_on(store)
        assert [c.id for c in engine.awaiting_decision(seed.SUPERVISOR).cases] == ["MDN-1"]


def test_queues_refuse_what_they_cannot_mean():
    engine, _ = engine_on(InMemoryStore())
    with pytest.raises(InvalidInput, match="by one of state, unit, assignee, workflow, stage"):
        engine.caseload(by="colour")
    with pytest.raises(InvalidInput, match="by one of state, unit, assignee, workflow"):
        engine.store.count_by(by="stage")
    with pytest.raises(InvalidInput, match="working_days"):
        engine.due_soon(working_days=0)
    with pytest.raises(InvalidInput, match="days"):
        engine.idle(days=-1)
    with pytest.raises(InvalidInput, match="only with awaiting_roles"):
        Query(not_requested_by="spv-002")
    with pytest.raises(InvalidInput, match="limit"):
        engine.awaiting_decision(seed.SUPERVISOR, limit=0)


def test_a_stage_counts_every_case_inside_it_on_a_staged_workflow():
    staged = seed.build_staged_workflow()
    clock = ManualClock(START)
    engine = Engine([WORKFLOW, staged], clock=clock, calendar=seed.CALENDAR)
    seed.play_staged_path(engine, clock)
    counts = engine.caseload(by="stage", query=Query(workflow=staged.name, version=2))
    cases = [engine.get(c) for c in (seed.CASE_ID, seed.RETURN_CASE_ID)]
    expected = Counter((staged.tree.ancestors(c.state) or (c.state,))[-1] for c in cases)
    assert counts == expected
    moved = attrs.evolve(Query(), workflow=staged.name)
    assert sum(engine.caseload(by="state", query=moved).values()) == 2


def test_a_queue_for_a_unit_not_the_actors_is_refused_in_words_and_logged(caplog):
    engine, _ = engine_on(InMemoryStore())
    with pytest.raises(OutOfScope) as refused:
        engine.overdue_cases(seed.SUPERVISOR, query=Query(unit=BINJAI))
    assert refused.value.units == (BINJAI,)
    assert refused.value.allowed == (MEDAN,)
    assert str(refused.value) == (
        f"spv-002 asked for the queue of overdue cases of {BINJAI}; they work in {MEDAN} only"
    )
    assert any(r.levelname == "WARNING" and BINJAI in r.getMessage() for r in caplog.records)
    for call in (engine.due_soon, engine.idle):
        with pytest.raises(OutOfScope):
            call(seed.SUPERVISOR, query=Query(units={MEDAN, BINJAI}))
    with pytest.raises(OutOfScope, match="the caseload by assignee"):
        engine.caseload(Query(unit=BINJAI), by="assignee", actor=seed.SUPERVISOR)
    assert engine.caseload(Query(unit=MEDAN), by="unit", actor=seed.SUPERVISOR) == {}
    assert engine.caseload(Query(unit=BINJAI), by="unit", actor=CHECKERS[2]) == {}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_one_who_approves_in_one_unit_only_counts_only_that_units_requests(kind, tmp_path):
    """Lina supervises in Medan only: a request of no unit or of Binjai is not hers to
    decide, though the store's narrowing by role and unit would let it through."""
    with make_store(kind, tmp_path) as store:
        engine, clock = engine_on(store)
        for case_id, unit in (("A", None), ("B", MEDAN), ("C", BINJAI)):
            play(engine, clock, case_id, (REQUEST, unit, seed.WORKER.id, 0, "none"))
        lina = Actor("lina", {"social_worker"}, unit_roles={MEDAN: {"supervisor"}})
        assert [c.id for c in engine.awaiting_decision(lina).cases] == ["B"]
        assert engine.count_awaiting(lina) == 1
