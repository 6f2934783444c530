"""Text and numbers no store can keep are refused where they come in, naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import Actor, Engine, InvalidInput, ManualClock, SQLiteStore
from casework_flow import seed as demo

from .values import bad_ints, bad_texts, texts

SEED = demo.build_workflow()
START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)
FIXTURE = [HealthCheck.function_scoped_fixture]


def _engine(path: Path) -> Engine:
    engine = Engine([SEED], store=SQLiteStore(path), clock=ManualClock(START))
    if not path.with_suffix(".opened").exists():
        engine.open(SEED.name, "C-1", actor=demo.OUTREACH, assignee=demo.WORKER.id, unit=demo.MEDAN)
        path.with_suffix(".opened").touch()
    return engine


def _calls(engine: Engine, bad: object):  # type: ignore[no-untyped-def]
    w = demo.WORKER
    return {
        "data.x": lambda: engine.record("C-1", "note", actor=w, data={"x": bad}),
        "data": lambda: engine.record("C-1", "note", actor=w, data={bad: 1}),
        "reason": lambda: engine.record("C-1", "note", actor=w, reason=bad),
        "evidence": lambda: engine.record("C-1", "note", actor=w, evidence={"letter": bad}),
        "actor.id": lambda: engine.record("C-1", "note", actor=Actor(bad, {"social_worker"})),
        "actor.units": lambda: engine.record("C-1", "note", actor=Actor("x", {"a"}, units={bad})),
        "assignee": lambda: engine.assign("C-1", bad, actor=demo.SUPERVISOR),
        "to_unit": lambda: engine.refer("C-1", actor=w, to_unit=bad),
        "unit": lambda: engine.open(SEED.name, "C-2", actor=demo.OUTREACH, unit=bad),
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=bad_texts, where=st.sampled_from(
    ["data.x", "data", "reason", "evidence", "actor.id", "actor.units", "assignee", "to_unit",
     "unit"]))  # fmt: skip
def test_text_no_store_can_keep_is_refused_and_nothing_is_written(tmp_path, bad, where):
    engine = _engine(tmp_path / "cases.sqlite3")
    before = (engine.get("C-1"), len(engine.trail("C-1")))
    with pytest.raises(InvalidInput) as caught:
        _calls(engine, bad)[where]()
    assert caught.value.field.startswith(where.split(".")[0])
    assert (engine.get("C-1"), len(engine.trail("C-1"))) == before
    assert engine.store.find().cases == (engine.get("C-1"),)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=bad_ints, nested=st.booleans())
def test_integers_beyond_what_json_keeps_exactly_are_refused_naming_the_path(tmp_path, bad, nested):
    engine = _engine(tmp_path / "cases.sqlite3")
    value = {"visits": [1, bad]} if nested else bad
    with pytest.raises(InvalidInput, match="beyond") as caught:
        engine.record("C-1", "note", actor=demo.WORKER, data={"x": value})
    assert caught.value.field == ("data.x.visits[1]" if nested else "data.x")
    assert len(engine.trail("C-1")) == 1


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(good=texts.filter(str.strip))
def test_any_other_text_is_kept_and_hashed(tmp_path, good):
    engine = _engine(tmp_path / "cases.sqlite3")
    engine.record("C-1", "note", actor=demo.WORKER, data={good: good}, reason=good)
    assert engine.get("C-1").data[good] == good
    assert engine.verify("C-1").ok


def _line(**change: object) -> str:
    import json  # noqa: PLC0415 - only the trail tests write lines

    engine = Engine([SEED], clock=ManualClock(START))
    engine.open(SEED.name, "C-1", actor=demo.OUTREACH)
    raw = {**engine.trail("C-1")[0].to_json(), **change}
    return json.dumps(raw) + "\n"


@pytest.mark.parametrize(
    ("line", "found"),
    [
        (_line(seq=True), "expected an integer, got True"),
        (_line(reason="\ud800"), "lone surrogate"),
        (_line(actor={"id": "a\ud800", "roles": []}), "lone surrogate"),
        (
            _line(verdicts=[{"kind": "role", "check": "c", "passed": 1, "why": "w"}]),
            "true or false",
        ),
        ("[" * 100_000 + "]" * 100_000 + "\n", "nested too deep"),
    ],
    ids=["seq true", "surrogate reason", "surrogate actor", "verdict passed 1", "deep"],
)
def test_a_trail_file_that_no_entry_can_come_from_is_a_broken_trail(line, found):
    import io  # noqa: PLC0415

    from casework_flow.audit import read_jsonl  # noqa: PLC0415
    from casework_flow.exceptions import TrailBroken  # noqa: PLC0415

    with pytest.raises(TrailBroken, match=found) as caught:
        read_jsonl(io.StringIO(line), source="t.jsonl")
    assert "t.jsonl, line 1" in str(caught.value)
    assert caught.value.seq in {None, 1}


@pytest.mark.parametrize(
    ("old", "new", "found"),
    [
        ("within: P7D", "within: P99999999999999D", "longer than any date can reach"),
        ("value: 18}", "value: " + "9" * 5000 + "}", "not a usable YAML document"),
    ],
    ids=["huge duration", "huge integer"],
)
def test_a_workflow_file_with_numbers_past_any_use_is_refused_with_its_place(old, new, found):
    from casework_flow.exceptions import WorkflowError  # noqa: PLC0415
    from casework_flow.files import loads_workflow  # noqa: PLC0415

    text = demo.workflow_path().read_text().replace(old, new, 1)
    with pytest.raises(WorkflowError, match=found) as caught:
        loads_workflow(text, "yaml", source="wf.yaml")
    assert "wf.yaml" in str(caught.value)


def test_a_personal_value_a_guard_reads_is_never_shown_in_words():
    from casework_flow import State, Transition, TransitionRejected, Workflow  # noqa: PLC0415
    from casework_flow.audit import format_trail  # noqa: PLC0415
    from casework_flow.guards import fact  # noqa: PLC0415

    wf = Workflow(
        name="w", version=1, initial="a", states=[State("a"), State("b", terminal=True)],
        transitions=[
            Transition("go", source="a", dest="b", guard=fact("address") == "Jl. Gatot"),
            Transition("note", source="a", dest=None, guard=fact("address").present()),
        ],
        personal={"address"},
    )  # fmt: skip
    engine = Engine([wf], clock=ManualClock(START))
    actor = Actor("x", {"r"})
    engine.open("w", "C-1", actor=actor, data={"address": "Jl. Sei Deli 4", "age": 30})
    with pytest.raises(TransitionRejected) as caught:
        engine.fire("C-1", "go", actor=actor)
    engine.fire("C-1", "note", actor=actor)
    words = [
        str(caught.value),
        *(r.why for r in caught.value.reasons),
        format_trail(engine.trail("C-1"), wf),
        *(v.why for e in engine.trail("C-1") for v in e.verdicts),
    ]
    assert all("Sei Deli" not in w for w in words)
    assert "address is '***'; must be 'Jl. Gatot'" in words[1]
    assert engine.trail("C-1")[-1].verdicts[0].why == "address is '***'"
