"""Logs, metrics, refusal listeners and retries: what operators see of each step."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from casework_flow import (
    Actor,
    ConcurrentModification,
    Engine,
    InvalidInput,
    ManualClock,
    State,
    Transition,
    TransitionRejected,
    Workflow,
)
from casework_flow.exceptions import ListenerFailed
from casework_flow.guards import fact
from casework_flow.observe import COMMITS, CONFLICTS, REFUSALS, STEP_SECONDS, Refused
from casework_flow.stores import Store

from .conftest import START
from .stores import make_store

WORKER = Actor("sw-017", {"social_worker"})
CLERK = Actor("clerk-9", {"clerk"})
WORKFLOW = Workflow(
    "outreach",
    1,
    "found",
    states=[State("found"), State("closed", terminal=True)],
    transitions=[
        Transition("note", "found", None, roles=["social_worker"], requires=("note",)),
        Transition("close", "found", "closed", roles=["social_worker"], guard=fact("age") >= 18),
    ],
    personal={"client_name", "note", "age"},
)


class Recorded:
    """A metrics hook that keeps what it was given."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.seconds: list[float] = []

    def add(self, name: str, value: int, attributes: Mapping[str, str]) -> None:
        self.counts[(name, attributes["event"], attributes["outcome"])] += value

    def record(self, name: str, value: float, attributes: Mapping[str, str]) -> None:  # noqa: ARG002
        assert name == STEP_SECONDS
        self.seconds.append(value)


def _engine(**kwargs: object) -> Engine:
    return Engine([WORKFLOW], clock=ManualClock(START), **kwargs)  # type: ignore[arg-type]


def test_each_step_logs_one_record_with_fields_and_never_a_personal_value(caplog):
    engine = _engine()
    caplog.set_level(logging.DEBUG, logger="casework_flow")
    engine.open("outreach", "C-1", actor=WORKER, data={"client_name": "Ani Rahma", "age": 16})
    engine.fire("C-1", "note", actor=WORKER, data={"note": "sleeps at Pasar Petisah"})
    with pytest.raises(TransitionRejected):
        engine.fire("C-1", "close", actor=WORKER)
    records = [r for r in caplog.records if r.name == "casework_flow"]
    assert [(r.event, r.outcome, r.levelname) for r in records] == [  # type: ignore[attr-defined]
        ("open", "committed", "INFO"),
        ("note", "committed", "INFO"),
        ("close", "refused", "INFO"),
    ]
    assert [r.revision for r in records[:2]] == [1, 2]  # type: ignore[attr-defined]
    assert records[2].checks == ["age >= 18"]  # type: ignore[attr-defined]
    assert all(r.case_id == "C-1" and r.duration_ms >= 0 for r in records)  # type: ignore[attr-defined]
    text = " ".join(f"{r.getMessage()} {vars(r)}" for r in records)
    for value in ("Ani", "Rahma", "Petisah"):
        assert value not in text


def test_the_metrics_hook_counts_commits_refusals_and_conflicts_and_times_steps():
    metrics = Recorded()
    engine = _engine(metrics=metrics)
    engine.open("outreach", "C-1", actor=WORKER, data={"age": 30})
    with pytest.raises(TransitionRejected):
        engine.fire("C-1", "note", actor=WORKER)
    stale = engine.get("C-1").revision
    engine.fire("C-1", "note", actor=WORKER, data={"note": "x"})
    with pytest.raises(ConcurrentModification):
        engine.fire("C-1", "close", actor=WORKER, expected_revision=stale)
    engine.fire("C-1", "close", actor=WORKER)
    assert metrics.counts == {
        (COMMITS, "open", "committed"): 1,
        (REFUSALS, "note", "refused"): 1,
        (COMMITS, "note", "committed"): 1,
        (COMMITS, "close", "committed"): 1,
    }
    assert len(metrics.seconds) == 4
    assert all(s >= 0 for s in metrics.seconds)


def test_a_metrics_hook_that_raises_never_stops_a_step(caplog):
    class Broken(Recorded):
        def add(self, name: str, value: int, attributes: Mapping[str, str]) -> None:  # noqa: ARG002
            raise RuntimeError("collector down")

    engine = _engine(metrics=Broken())
    assert engine.open("outreach", "C-1", actor=WORKER).revision == 1
    assert any("metrics hook raised" in r.getMessage() for r in caplog.records)
    with pytest.raises(InvalidInput, match="metrics"):
        _engine(metrics=object())


def test_refusal_listeners_hear_who_tried_what_and_why():
    engine = _engine()
    heard: list[Refused] = []
    stop = engine.on_refusal(heard.append)
    engine.open("outreach", "C-1", actor=WORKER, data={"age": 15})
    with pytest.raises(TransitionRejected):
        engine.fire("C-1", "close", actor=CLERK)
    (refused,) = heard
    assert (refused.case.id, refused.event, refused.actor) == ("C-1", "close", CLERK)
    assert {v.check for v in refused.reasons} == {"role", "age >= 18"}
    assert refused.entries == (engine.trail("C-1")[-1],)
    quiet = Engine([WORKFLOW], clock=ManualClock(START), record_refusals=False)
    quiet.open("outreach", "C-2", actor=WORKER)
    late: list[Refused] = []
    quiet.on_refusal(late.append)
    with pytest.raises(TransitionRejected):
        quiet.fire("C-2", "note", actor=WORKER)
    assert late[0].entries == ()
    stop()

    def broken(_: Refused) -> None:
        raise RuntimeError("pager down")

    engine.on_refusal(broken)
    with pytest.raises(ListenerFailed):
        engine.fire("C-1", "close", actor=CLERK)


class Losing:
    """A store whose next ``lose`` commits lose a race, as if another writer won."""

    def __init__(self, inner: Store, lose: int) -> None:
        self.inner, self.lose, self.tries = inner, lose, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def commit(self, case, entries, *, expected_revision):  # type: ignore[no-untyped-def]
        self.tries += 1
        if self.lose:
            self.lose -= 1
            raise ConcurrentModification(case.id, expected_revision, expected_revision + 1)
        return self.inner.commit(case, entries, expected_revision=expected_revision)


def test_every_command_retries_a_lost_race_but_never_past_an_expected_revision(caplog):
    from casework_flow import InMemoryStore  # noqa: PLC0415

    caplog.set_level(logging.DEBUG, logger="casework_flow")
    store = Losing(InMemoryStore(), 0)
    engine = Engine([WORKFLOW], store=store, clock=ManualClock(START), retries=2)  # type: ignore[arg-type]
    engine.open("outreach", "C-1", actor=WORKER, data={"age": 20})
    store.lose = 2
    assert engine.record("C-1", "phone_call", actor=WORKER).revision == 2
    assert store.tries == 3
    assert [r.levelname for r in caplog.records if r.outcome == "conflict"] == ["DEBUG"] * 2  # type: ignore[attr-defined]
    store.lose, store.tries = 3, 0
    with pytest.raises(ConcurrentModification):
        engine.fire("C-1", "close", actor=WORKER)
    assert store.tries == 3
    assert caplog.records[-1].levelname == "WARNING"
    store.lose, store.tries = 1, 0
    with pytest.raises(ConcurrentModification):
        engine.fire("C-1", "close", actor=WORKER, expected_revision=2)
    assert store.tries == 1, "a caller's revision is not retried past"
    store.lose, store.tries = 4, 0
    assert engine.retrying(5).fire("C-1", "close", actor=WORKER).state == "closed"
    assert store.tries == 5
    with pytest.raises(InvalidInput):
        engine.retrying(0)
    with pytest.raises(InvalidInput):
        _engine(retries=-1)


@pytest.fixture(params=["sqlite", "postgres"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def test_four_hundred_concurrent_steps_on_one_case_all_land_without_a_conflict(durable):
    engine = Engine([WORKFLOW], store=durable, clock=ManualClock(START))
    engine.open("outreach", "C-1", actor=WORKER)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        for k in range(50):
            try:
                engine.fire("C-1", "note", actor=WORKER, data={"note": f"{n}-{k}"})
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert engine.get("C-1").revision == 401
    assert len(engine.trail("C-1")) == 401
    assert engine.verify("C-1").ok


def test_opentelemetry_counts_and_times_the_steps():
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415

    from casework_flow.contrib.otel import OTelMetrics  # noqa: PLC0415

    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    engine = _engine(metrics=OTelMetrics(meter))
    engine.open("outreach", "C-1", actor=WORKER, data={"age": 12})
    with pytest.raises(TransitionRejected):
        engine.fire("C-1", "close", actor=WORKER)
    data = reader.get_metrics_data()
    found = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    assert {COMMITS, REFUSALS, STEP_SECONDS} <= set(found)
    assert CONFLICTS not in found
    (refusal,) = found[REFUSALS].data.data_points
    assert (refusal.value, dict(refusal.attributes)) == (
        1, {"workflow": "outreach", "event": "close", "outcome": "refused"},
    )  # fmt: skip
    assert sum(p.count for p in found[STEP_SECONDS].data.data_points) == 2


def test_a_timer_step_is_logged_with_its_timer(caplog):
    from datetime import timedelta  # noqa: PLC0415

    from casework_flow import Timer  # noqa: PLC0415

    timed = Workflow(
        "timed",
        1,
        "waiting",
        states=[
            State("waiting", timers=[Timer(timedelta(days=14), "give_up", name="no_answer")]),
            State("closed", terminal=True),
        ],
        transitions=[Transition("give_up", "waiting", "closed", roles=["system"])],
    )
    clock = ManualClock(START)
    engine = Engine([timed], clock=clock)
    engine.open("timed", "T-1", actor=WORKER)
    clock.advance(days=15)
    caplog.set_level(logging.INFO, logger="casework_flow")
    assert [r.event for r in engine.run_due().fired] == ["give_up"]
    (record,) = [r for r in caplog.records if getattr(r, "outcome", None) == "committed"]
    assert (record.event, record.timer, record.state) == ("give_up", "no_answer", "closed")  # type: ignore[attr-defined]
    assert "by timer no_answer" in record.getMessage()
