"""One conformance suite, run unchanged against the in-memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    ConcurrentModification,
    Engine,
    InMemoryStore,
    InvalidInput,
    ManualClock,
    TransitionRejected,
    UnknownCase,
    replay,
)
from casework_flow._canonical import canonical
from casework_flow._commands import Record
from casework_flow._decide import decide
from casework_flow._evolve import fold
from casework_flow.exceptions import CaseExists
from casework_flow.guards import History
from casework_flow.stores import Query, Store
from casework_flow.testing import steps

from .conftest import START, load_example
from .stores import KINDS, due_by, make_store

seed = load_example("medan_street_beggar")
WORKFLOW = seed.build_workflow()
WORKER = Actor("sw-017", {"social_worker"})


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def engine_on(store: Store, clock: ManualClock | None = None) -> Engine:
    return Engine([WORKFLOW], store=store, clock=clock or ManualClock(START))


def test_it_satisfies_the_protocol(store):
    assert isinstance(store, Store)
    assert len(store) == 0


def test_create_load_and_trail_round_trip(store):
    engine = engine_on(store)
    case = engine.open(
        seed.WORKFLOW,
        "C-1",
        actor=WORKER,
        data={"found_at": "Pos", "n": 1.5},
        evidence={"photo_consent": "F-1"},
        assignee="sw-017",
    )
    snap = store.load("C-1")
    assert snap.case == case
    assert snap.head == store.trail("C-1")[0].head
    assert len(store) == 1
    with pytest.raises(CaseExists):
        engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    assert len(store.trail("C-1")) == 1


def test_a_batch_with_a_taken_or_repeated_id_writes_nothing(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    other = engine_on(InMemoryStore())
    fresh = [other.open(seed.WORKFLOW, f"C-{n}", actor=WORKER) for n in (1, 2)]
    batch = [(c, list(other.trail(c.id))) for c in fresh]
    with pytest.raises(CaseExists) as taken:
        store.create_many(batch[::-1])
    assert taken.value.case_id == "C-1"
    with pytest.raises(InvalidInput, match="comes twice"):
        store.create_many([batch[1], batch[1]])
    assert len(store) == 1
    assert [i.entry.case_id for i in store.feed().items] == ["C-1"]


def test_unknown_cases_are_reported(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    case = store.load("C-1").case
    with pytest.raises(UnknownCase):
        store.load("C-404")
    with pytest.raises(UnknownCase):
        store.trail("C-404")
    with pytest.raises(UnknownCase):
        store.commit(attrs.evolve(case, id="C-404"), [], expected_revision=1)


def test_the_story_plays_verifies_and_replays(store):
    clock = ManualClock(START)
    engine = engine_on(store, clock)
    seed.play(engine, clock)
    trail = store.trail(seed.CASE_ID)
    assert engine.verify(seed.CASE_ID).ok
    assert replay(WORKFLOW, trail, head=store.load(seed.CASE_ID).head) == engine.get(seed.CASE_ID)
    assert engine.get(seed.CASE_ID).state == "closed_independent"


def test_the_staged_story_plays_verifies_and_replays(store):
    staged = seed.build_staged_workflow()
    clock = ManualClock(START)
    engine = Engine([WORKFLOW, staged], store=store, clock=clock, calendar=seed.CALENDAR)
    seed.play_staged_path(engine, clock)
    trail = store.trail(seed.CASE_ID)
    assert engine.verify(seed.CASE_ID).ok
    stored = engine.get(seed.CASE_ID)
    assert replay([WORKFLOW, staged], trail, calendar=seed.CALENDAR) == stored
    assert stored.state == "closed_independent"
    middle = next(e for e in trail if e.event == "health_cleared")
    assert len(middle.details["configuration"].split()) == 3


def test_a_stale_commit_writes_nothing(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    before = store.load("C-1")
    moved = engine.fire(
        "C-1", "first_contact", actor=WORKER, data={"client_alias": "a", "found_at": "b"}
    )
    last = store.trail("C-1")[-1]
    with pytest.raises(ConcurrentModification):
        store.commit(moved, [last], expected_revision=before.case.revision)
    with pytest.raises(ConcurrentModification):
        store.commit(moved, [last], expected_revision=moved.revision)
    assert len(store.trail("C-1")) == 2
    assert store.load("C-1").case == moved


def test_a_refusal_racing_a_commit_cannot_fork_the_trail(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    snap = store.load("C-1")
    with pytest.raises(TransitionRejected):
        engine.fire("C-1", "first_contact", actor=WORKER)
    refusal = store.trail("C-1")[-1]
    forked = attrs.evolve(refusal, reason="a second refusal on the same head")
    with pytest.raises(ConcurrentModification):
        store.commit(snap.case, [forked], expected_revision=snap.case.revision)
    assert engine.verify("C-1").ok


def _open_many(engine: Engine, clock: ManualClock, n: int) -> None:
    for i in range(n):
        engine.open(
            seed.WORKFLOW, f"C-{i:03d}", actor=WORKER, assignee="sw-017" if i % 3 else "sw-020"
        )
        clock.advance(hours=1)
        if i % 2:
            engine.fire(
                f"C-{i:03d}",
                "first_contact",
                actor=WORKER,
                data={"client_alias": "a", "found_at": "b"},
            )


def test_queries_by_state_workflow_assignee_and_time(store):
    clock = ManualClock(START)
    engine = engine_on(store, clock)
    _open_many(engine, clock, 30)
    engaged = store.find(Query(state="engaged"), limit=100)
    assert [c.id for c in engaged.cases] == [f"C-{i:03d}" for i in range(1, 30, 2)]
    assert engaged.cursor is None
    assert len(store.find(Query(workflow=seed.WORKFLOW, version=1), limit=100).cases) == 30
    assert store.find(Query(workflow=seed.WORKFLOW, version=2)).cases == ()
    assert [c.id for c in store.find(Query(assignee="sw-020")).cases] == [
        f"C-{i:03d}" for i in range(0, 30, 3)
    ]
    window = (START + timedelta(hours=10), START + timedelta(hours=20))
    assert [c.id for c in store.find(Query(opened=window)).cases] == [
        f"C-{i:03d}" for i in range(10, 20)
    ]
    changed = store.find(Query(changed=window)).cases
    assert [c.id for c in changed] == [f"C-{i:03d}" for i in range(9, 19)]
    assert store.count_by_state() == {"reported": 15, "engaged": 15}
    assert store.count_by_state(Query(assignee="sw-020")) == {"reported": 5, "engaged": 5}


def test_refusals_do_not_count_as_changes(store):
    clock = ManualClock(START)
    engine = engine_on(store, clock)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    clock.advance(days=3)
    with pytest.raises(TransitionRejected):
        engine.fire("C-1", "first_contact", actor=WORKER)
    later = (START + timedelta(days=1), START + timedelta(days=9))
    assert store.find(Query(changed=later)).cases == ()


def test_pagination_is_stable_and_complete(store):
    clock = ManualClock(START)
    engine = engine_on(store, clock)
    _open_many(engine, clock, 25)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = store.find(Query(), limit=7, after=cursor)
        seen += [c.id for c in page.cases]
        pages += 1
        if pages == 2:
            engine.open(seed.WORKFLOW, "C-000a", actor=WORKER)
            engine.open(seed.WORKFLOW, "C-999", actor=WORKER)
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert seen == [f"C-{i:03d}" for i in range(25)] + ["C-999"]
    with pytest.raises(InvalidInput):
        store.find(Query(), after="nonsense")
    with pytest.raises(InvalidInput):
        store.find(Query(), limit=0)


def test_due_queries_order_by_due_time(store):
    engine = engine_on(store)
    for i in range(12):
        engine.open(seed.WORKFLOW, f"C-{i:02d}", actor=WORKER)
    for i in range(12):
        snap = store.load(f"C-{i:02d}")
        due = None if i % 4 == 0 else datetime(2024, 3, 20 - i, tzinfo=UTC)
        store.commit(due_by(snap.case, due), [], expected_revision=snap.case.revision)
    q = Query(due_before=datetime(2024, 3, 15, tzinfo=UTC))
    first = store.find(q, limit=3)
    rest = store.find(q, limit=10, after=first.cursor)
    ids = [c.id for c in first.cases + rest.cases]
    assert ids == ["C-11", "C-10", "C-09", "C-07", "C-06"]
    assert rest.cursor is None


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(steps(WORKFLOW), max_size=15))
def test_every_store_records_the_same_bytes(tmp_path, kind_pair, step_list):
    """The same steps on two stores give byte-identical cases and trails."""
    results = []
    for kind in kind_pair:
        with make_store(kind, tmp_path) as store:
            clock = ManualClock(START)
            engine = engine_on(store, clock)
            engine.open(seed.WORKFLOW, "C-1", actor=WORKER, assignee="sw-017")
            for step in step_list:
                clock.advance(step.advance)
                with contextlib.suppress(TransitionRejected, LookupError):
                    engine.fire(
                        "C-1",
                        step.event,
                        actor=step.actor,
                        data=step.data,
                        evidence=step.evidence,
                        reason=step.reason,
                        reason_code=step.reason_code,
                    )
            results.append(
                (
                    canonical(engine.get("C-1").to_json()),
                    [canonical(e.to_json()) for e in store.trail("C-1")],
                )
            )
    assert results[0] == results[1]


@pytest.fixture(params=[("memory", "sqlite"), ("memory", "postgres")], ids=["sqlite", "postgres"])
def kind_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    pair: tuple[str, str] = request.param
    return pair


def test_timer_and_deadline_times_come_from_the_case_and_are_queried_in_order(store):
    engine = engine_on(store)
    for i in range(6):
        engine.open(seed.WORKFLOW, f"C-{i}", actor=WORKER)
    for i in range(6):
        snap = store.load(f"C-{i}")
        timed = attrs.evolve(
            due_by(snap.case, START + timedelta(days=10 - i)),
            timer="t",
            timer_at=START + timedelta(days=i),
        )
        store.commit(timed, [], expected_revision=snap.case.revision)
    assert store.load("C-2").case.timer_at == START + timedelta(days=2)
    q = Query(timers_due=START + timedelta(days=3))
    first = store.find(q, limit=2)
    rest = store.find(q, limit=5, after=first.cursor)
    assert [c.id for c in first.cases + rest.cases] == ["C-0", "C-1", "C-2", "C-3"]
    overdue = store.find(Query(due_before=START + timedelta(days=7)))
    assert [c.id for c in overdue.cases] == ["C-5", "C-4"]


def test_claimed_timers_are_leased_until_the_lease_ends_or_the_case_moves(store):
    engine = engine_on(store)
    for i in range(5):
        engine.open(seed.WORKFLOW, f"C-{i}", actor=WORKER)
        snap = store.load(f"C-{i}")
        timed = attrs.evolve(snap.case, timer="t", timer_at=START + timedelta(hours=i))
        store.commit(timed, [], expected_revision=snap.case.revision)
    now = START + timedelta(hours=3)
    assert store.claim_timers(now, limit=2, lease=timedelta(minutes=5)) == ("C-0", "C-1")
    assert store.claim_timers(now, limit=10, lease=timedelta(minutes=5)) == ("C-2", "C-3")
    assert store.claim_timers(now, limit=10) == ()
    snap = store.load("C-0")
    store.commit(snap.case, [], expected_revision=snap.case.revision)
    assert store.claim_timers(now, limit=10) == ("C-0",)
    later = now + timedelta(minutes=6)
    assert store.claim_timers(later, limit=10) == ("C-0", "C-1", "C-2", "C-3")
    with pytest.raises(InvalidInput):
        store.claim_timers(now, limit=0)


def _next_step(store: Store, engine: Engine, case_id: str):  # type: ignore[no-untyped-def]
    """A well-formed next step of the case as it is now: (case after, its entries)."""
    snap = store.load(case_id, history=engine.catalog.history_keys)
    command = Record("home_visit", WORKER)
    result = decide(engine.catalog, snap, command, START + timedelta(days=1))
    return fold(snap.case, result.entries, catalog=engine.catalog), result.entries


def test_a_commit_on_a_stale_revision_writes_nothing_even_with_a_fitting_entry(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    engine.record("C-1", "intake_note", actor=WORKER)
    after, entries = _next_step(store, engine, "C-1")
    with pytest.raises(ConcurrentModification):
        store.commit(after, entries, expected_revision=1)
    assert len(store.trail("C-1")) == 2
    store.commit(after, entries, expected_revision=2)
    assert store.load("C-1").case == after


def test_a_commit_whose_entry_does_not_extend_the_head_writes_nothing(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    after, entries = _next_step(store, engine, "C-1")
    forked = attrs.evolve(entries[0], prev_hash="0" * 64)
    with pytest.raises(ConcurrentModification):
        store.commit(after, [forked], expected_revision=1)
    skipped = attrs.evolve(entries[0], seq=5)
    with pytest.raises(ConcurrentModification):
        store.commit(after, [skipped], expected_revision=1)
    assert len(store.trail("C-1")) == 1


def test_commit_many_checks_every_case_and_writes_none_when_one_is_stale(store):
    engine = engine_on(store)
    for case_id in ("C-1", "C-2", "C-3"):
        engine.open(seed.WORKFLOW, case_id, actor=WORKER)
    steps = {c: _next_step(store, engine, c) for c in ("C-1", "C-2", "C-3")}
    changes = [(steps[c][0], steps[c][1], 1 if c != "C-3" else 7) for c in ("C-1", "C-2", "C-3")]
    with pytest.raises(ConcurrentModification):
        store.commit_many(changes)
    forked = (steps["C-3"][0], [attrs.evolve(steps["C-3"][1][0], prev_hash="0" * 64)], 1)
    with pytest.raises(ConcurrentModification):
        store.commit_many([*changes[:2], forked])
    assert [len(store.trail(c)) for c in ("C-1", "C-2", "C-3")] == [1, 1, 1]
    store.commit_many([(steps[c][0], steps[c][1], 1) for c in ("C-1", "C-2", "C-3")])
    assert [store.load(c).case.revision for c in ("C-1", "C-2", "C-3")] == [2, 2, 2]


def test_the_history_is_loaded_only_for_the_workflows_asked_and_up_to_the_head(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    engine.record("C-1", "intake_note", actor=WORKER)
    assert store.load("C-1").history == History()
    key = (seed.WORKFLOW, 1)
    loaded = store.load("C-1", history={key})
    assert loaded.history.entries == tuple(store.trail("C-1"))
    assert store.load("C-1", history={("other", 1)}).history.entries == ()


def test_entries_of_another_case_or_a_trail_without_its_opening_are_refused(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    engine.open(seed.WORKFLOW, "C-2", actor=WORKER)
    after, entries = _next_step(store, engine, "C-1")
    with pytest.raises(InvalidInput, match="is for case C-1, not C-2"):
        store.commit(attrs.evolve(after, id="C-2"), entries, expected_revision=1)
    with pytest.raises(InvalidInput, match="must start with its opening"):
        store.create(attrs.evolve(after, id="C-3"), [])
    with pytest.raises(InvalidInput, match="must start with its opening"):
        store.create(attrs.evolve(after, id="C-3"), entries)
    assert len(store) == 2
    assert len(store.trail("C-2")) == 1


def test_pages_and_claims_hold_a_hundred_cases_unless_asked_otherwise(store):
    clock = ManualClock(START)
    engine = engine_on(store, clock)
    for i in range(101):
        store.create(*_opened_at(engine, f"C-{i:03d}", START))
    page = store.find()
    assert len(page.cases) == 100
    assert page.cursor is not None
    assert len(store) == 101
    due = [attrs.evolve(c, timer="t", timer_at=START) for c in store.find(limit=500).cases]
    for c in due:
        store.commit(c, [], expected_revision=c.revision)
    assert len(store.claim_timers(START + timedelta(seconds=1))) == 100


def _opened_at(engine: Engine, case_id: str, at: datetime):  # type: ignore[no-untyped-def]
    from casework_flow._commands import Open  # noqa: PLC0415 - only here
    from casework_flow._decide import open_case  # noqa: PLC0415 - only here

    wf = engine.workflow(seed.WORKFLOW)
    entry = open_case(engine.catalog, Open(case_id, wf.name, wf.version, WORKER), at)
    return fold(None, [entry], catalog=engine.catalog), [entry]


def test_refused_commits_name_the_case_and_the_revisions(store):
    engine = engine_on(store)
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    engine.record("C-1", "intake_note", actor=WORKER)
    after, entries = _next_step(store, engine, "C-1")
    with pytest.raises(ConcurrentModification) as stale:
        store.commit(after, entries, expected_revision=1)
    assert (stale.value.case_id, stale.value.expected_revision) == ("C-1", 1)
    assert stale.value.actual_revision == 2
    forked = [attrs.evolve(entries[0], prev_hash="0" * 64)]
    with pytest.raises(ConcurrentModification) as fork:
        store.commit(after, forked, expected_revision=2)
    assert (fork.value.case_id, fork.value.expected_revision) == ("C-1", 2)
    with pytest.raises(UnknownCase) as unknown:
        store.commit(attrs.evolve(after, id="C-404"), [], expected_revision=1)
    assert unknown.value.case_id == "C-404"
    with pytest.raises(CaseExists) as taken:
        store.create(*_opened_at(engine, "C-1", START))
    assert taken.value.case_id == "C-1"


def test_a_page_exactly_full_is_the_last_page(store):
    engine = engine_on(store)
    for i in range(4):
        engine.open(seed.WORKFLOW, f"C-{i}", actor=WORKER)
    page = store.find(limit=4)
    assert (len(page.cases), page.cursor) == (4, None)
    first = store.find(limit=3)
    assert first.cursor is not None
    rest = store.find(limit=3, after=first.cursor)
    assert [c.id for c in rest.cases] == ["C-3"]
    assert rest.cursor is None


def test_queries_by_stage_find_cases_anywhere_inside_it(store):
    staged = seed.build_staged_workflow()
    clock = ManualClock(START)
    engine = Engine([WORKFLOW, staged], store=store, clock=clock, calendar=seed.CALENDAR)
    for i, upto in enumerate((0, 2, 4, 6)):
        case_id = f"S-{i}"
        engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, version=2)
        for step in seed.STAGED_PATH[:upto]:
            clock.advance(days=step[-1], hours=1)
            seed.take(engine, case_id, step)
    found = {
        stage: [c.id for c in store.find(Query.in_stage(staged, stage)).cases]
        for stage in ("first_approach", "assessment", "intervention", "follow_up")
    }
    assert found == {
        "first_approach": ["S-0"],
        "assessment": ["S-1"],
        "intervention": ["S-3"],
        "follow_up": [],
    }
    assert store.count_by_state(Query.in_stage(staged, "intervention")) == {"intervention": 1}
    inside = store.load("S-3").case
    assert inside.configuration == ("family_work", "ktp_requested", "screening")
    assert set(inside.entered) == {
        "intervention",
        "family_track",
        "identity_track",
        "health_track",
        "family_work",
        "ktp_requested",
        "screening",
    }
    assert replay([WORKFLOW, staged], store.trail("S-3"), calendar=seed.CALENDAR) == inside
    assert store.find(Query(states=())).cases == ()
    with pytest.raises(InvalidInput, match="inside a track"):
        Query.in_stage(staged, "health_track")
    with pytest.raises(InvalidInput, match="has no state nowhere"):
        Query.in_stage(staged, "nowhere")
