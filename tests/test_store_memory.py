"""The in-memory store: atomic, optimistic commits."""

from __future__ import annotations

import threading

import attrs
import pytest

from casework_flow import (
    Actor,
    ConcurrentModification,
    Engine,
    InMemoryStore,
    InvalidInput,
    ManualClock,
    TransitionRejected,
    UnknownCase,
)
from casework_flow.stores import Store

from .conftest import START, load_example

seed = load_example("medan_street_beggar")
WORKER = Actor("sw-017", {"social_worker"})


def opened() -> tuple[Engine, InMemoryStore]:
    store = InMemoryStore()
    engine = Engine([seed.build_workflow()], store=store, clock=ManualClock(START))
    engine.open(seed.WORKFLOW, "C-1", actor=WORKER)
    return engine, store


def test_it_satisfies_the_store_protocol():
    store = InMemoryStore()
    assert isinstance(store, Store)
    assert repr(store) == "<InMemoryStore cases=0>"


def test_a_commit_on_a_stale_revision_or_head_writes_nothing():
    engine, store = opened()
    snap = store.load("C-1")
    moved = engine.fire(
        "C-1", "first_contact", actor=WORKER, data={"client_alias": "a", "found_at": "b"}
    )
    trail = store.trail("C-1")
    with pytest.raises(ConcurrentModification):
        store.commit(moved, [trail[-1]], expected_revision=snap.case.revision)
    with pytest.raises(ConcurrentModification):
        store.commit(moved, [trail[-1]], expected_revision=moved.revision)
    assert store.trail("C-1") == trail
    assert store.load("C-1").case == moved


def test_entries_for_another_case_are_refused():
    engine, store = opened()
    engine.open(seed.WORKFLOW, "C-2", actor=WORKER)
    with pytest.raises(InvalidInput):
        store.commit(store.load("C-1").case, store.trail("C-2"), expected_revision=1)
    with pytest.raises(UnknownCase):
        store.trail("nope")
    with pytest.raises(UnknownCase):
        store.commit(attrs.evolve(store.load("C-1").case, id="C-9"), [], expected_revision=1)


def test_concurrent_fires_never_lose_an_update():
    """Threads race to record contact attempts; each commit lands once, gapless."""
    engine, _ = opened()
    engine.fire("C-1", "first_contact", actor=WORKER, data={"client_alias": "a", "found_at": "b"})
    engine.fire(
        "C-1", "admit_to_shelter", actor=WORKER, evidence={"consent:shelter_admission": "F"}
    )
    engine.fire("C-1", "begin_assessment", actor=WORKER)
    engine.fire("C-1", "complete_assessment", actor=WORKER, evidence={"assessment_report": "A"})
    wins: list[int] = []
    losses: list[int] = []
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(50):
            try:
                case = engine.fire(
                    "C-1",
                    "record_contact_attempt",
                    actor=WORKER,
                    data={"contact_method": "phone", "contact_outcome": f"{n}-{i}"},
                )
                wins.append(case.revision)
            except ConcurrentModification:
                losses.append(n)
            except TransitionRejected:  # pragma: no cover - never expected
                raise

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) + len(losses) == 200
    assert sorted(wins) == list(range(6, 6 + len(wins)))
    assert engine.get("C-1").revision == 5 + len(wins)
    assert engine.verify("C-1").ok


def test_the_memory_store_iterates_over_its_cases():
    engine, store = opened()
    engine.open(seed.WORKFLOW, "C-2", actor=seed.WORKER)
    assert sorted(c.id for c in store) == sorted(c.id for c in store.find().cases)
    assert len(list(store)) == len(store) == 2
