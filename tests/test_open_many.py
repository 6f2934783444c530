"""Opening cases in bulk: a batch per transaction, all or nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import Engine, ManualClock, NewCase, seed
from casework_flow.exceptions import CaseExists, InvalidInput

from . import stores
from .conftest import START
from .values import bad_texts

SEED = seed.build_workflow()


@pytest.mark.parametrize("kind", stores.KINDS)
def test_open_many_opens_each_case_as_open_would(kind, tmp_path, seed_workflow):
    with stores.make_store(kind, tmp_path) as store:
        engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
        single = Engine([seed_workflow], clock=ManualClock(START))
        rows = [
            NewCase(
                f"L-{n:03}",
                data={"found_at": f"Simpang {n}"},
                assignee="sw-017",
                unit="dinsos-medan",
            )
            for n in range(25)
        ]
        seen = []
        engine.on_commit(seen.append)
        assert engine.open_many(seed.WORKFLOW, rows, actor=seed.OUTREACH, batch_size=10) == 25
        for row in rows:
            single.open(seed.WORKFLOW, row.case_id, actor=seed.OUTREACH, data=row.data,
                        assignee=row.assignee, unit=row.unit)  # fmt: skip
            assert engine.get(row.case_id) == single.get(row.case_id)
            assert engine.trail(row.case_id) == single.trail(row.case_id)
        assert [c.after.id for c in seen] == [r.case_id for r in rows]
        assert engine.verify_store().ok


@pytest.mark.parametrize("kind", stores.KINDS)
def test_a_batch_with_a_taken_id_writes_nothing_of_that_batch(kind, tmp_path, seed_workflow):
    with stores.make_store(kind, tmp_path) as store:
        engine = Engine([seed_workflow], store=store, clock=ManualClock(START))
        engine.open(seed.WORKFLOW, "L-007", actor=seed.OUTREACH)
        rows = [NewCase(f"L-{n:03}") for n in range(12)]
        with pytest.raises(CaseExists) as caught:
            engine.open_many(seed.WORKFLOW, rows, actor=seed.OUTREACH, batch_size=5)
        assert caught.value.case_id == "L-007"
        assert sorted(c for c, _ in store.heads()) == [f"L-{n:03}" for n in range(5)] + ["L-007"]


def test_an_id_twice_in_a_batch_is_refused(seed_workflow):
    engine = Engine([seed_workflow], clock=ManualClock(START))
    with pytest.raises(InvalidInput, match="'L-1' comes twice in one batch"):
        engine.open_many(seed.WORKFLOW, [NewCase("L-1"), NewCase("L-1")], actor=seed.OUTREACH)
    assert len(engine.store) == 0


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bad=bad_texts,
    where=st.sampled_from(["case_id", "assignee", "unit", "data"]),
    at=st.integers(0, 4),
)
def test_bad_input_anywhere_in_a_batch_names_the_case_and_writes_nothing(bad, where, at):
    from casework_flow import InMemoryStore  # noqa: PLC0415

    store = InMemoryStore()
    engine = Engine([SEED], store=store, clock=ManualClock(START))
    rows = [NewCase(f"L-{n}") for n in range(5)]
    value = {"data": {"note": bad}}.get(where, bad)
    rows[at] = NewCase(**{"case_id": rows[at].case_id, where: value})
    with pytest.raises(InvalidInput) as caught:
        engine.open_many(seed.WORKFLOW, rows, actor=seed.OUTREACH)
    assert caught.value.field.startswith(f"cases[{at}]: " if where == "case_id" else f"L-{at}: ")
    assert len(store) == 0


def test_open_many_refuses_what_is_not_a_batch(seed_workflow):
    engine = Engine([seed_workflow], clock=ManualClock(START))
    with pytest.raises(InvalidInput, match="batch_size"):
        engine.open_many(seed.WORKFLOW, [], actor=seed.OUTREACH, batch_size=0)
    with pytest.raises(InvalidInput, match=r"cases\[0\]: expected a NewCase"):
        engine.open_many(seed.WORKFLOW, [{"case_id": "x"}], actor=seed.OUTREACH)  # type: ignore[list-item]
    assert engine.open_many(seed.WORKFLOW, [], actor=seed.OUTREACH) == 0


def test_a_clash_with_stray_entries_and_no_case_is_a_store_error_not_a_crash(tmp_path):
    import sqlite3  # noqa: PLC0415

    from casework_flow import SQLiteStore  # noqa: PLC0415
    from casework_flow.exceptions import StoreError  # noqa: PLC0415

    path = tmp_path / "cases.sqlite3"
    with SQLiteStore(path) as store:
        with sqlite3.connect(path) as raw:
            raw.execute(
                "INSERT INTO casework_entries (case_id, seq, body) VALUES ('LEG-2', 1, '{}')"
            )
        engine = Engine([seed.build_workflow()], store=store, clock=ManualClock(START))
        new = [NewCase("LEG-1"), NewCase("LEG-2")]
        with pytest.raises(StoreError, match="UNIQUE constraint failed"):
            engine.open_many(seed.WORKFLOW, new, actor=seed.OUTREACH)
        assert list(store.stray_trails()) == ["LEG-2"]
        assert len(store) == 0
