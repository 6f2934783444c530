"""Reports: the SQL stores' figures equal the Python fold over the same trails."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    ConsentOverride,
    Engine,
    InMemoryStore,
    InvalidInput,
    ManualClock,
    SQLiteStore,
    State,
    Transition,
    TransitionRejected,
    Workflow,
)
from casework_flow._reports import figures, rank
from casework_flow.cli import main
from casework_flow.exceptions import OutOfScope
from casework_flow.files import workflow_to_dict
from casework_flow.guards import consent, fact
from casework_flow.reports import report_page
from casework_flow.stores import Store
from casework_flow.time import Deadline, Timer

from .conftest import START
from .stores import KINDS, make_store

WORKER = Actor("sw-1", {"social_worker"})
SENIOR = Actor("spv-1", {"supervisor"})
WORKFLOW = Workflow(
    name="report-check",
    version=1,
    initial="reported",
    states=[
        State("reported"),
        State("assessment", deadline=Deadline(timedelta(days=5), pause_in={"review"})),
        State("review", timers=[Timer(timedelta(days=20), "send_back", reason="No decision.")]),
        State("closed", terminal=True),
    ],
    transitions=[
        Transition("assess", source="reported", dest="assessment", roles={"social_worker"}),
        Transition("send_back", source="review", dest="assessment"),
        Transition("review", source="assessment", dest="review", roles={"social_worker"},
                   guard=fact("ready") == True),  # noqa: E712 - a guard, not a comparison
        Transition("close", source="review", dest="closed", roles={"social_worker"},
                   guard=consent("closure"),
                   override=ConsentOverride(roles={"supervisor"}, reason_codes=("URGENT",))),
        Transition("reopen", source="closed", dest="assessment", roles={"social_worker"},
                   reopens=True, reason_required=True),
    ],
)  # fmt: skip
UNITS = ("medan", "binjai", None)
MOVES = ("assess", "review", "review!", "send_back", "close", "close!", "close?", "reopen")
"""``review!`` gives what review needs; ``close!`` the consent; ``close?`` an override."""
LIKELY = (*MOVES, "assess", "review!", "review!", "close!", "close?", "reopen")
"""The moves drawn, those that usually go through twice as often."""


def take(engine: Engine, case_id: str, move: str) -> None:
    """One attempted step; refusals are recorded, and that is all they do."""
    event = move.rstrip("!?")
    data = {"ready": True} if move == "review!" else {}
    evidence = {"consent:closure": "C-1"} if move == "close!" else {}
    override = {"override_by": SENIOR, "reason_code": "URGENT"} if move == "close?" else {}
    reason = {"reopen": "Found begging again.", "close?": "Risk of harm tonight."}.get(
        event if event == "reopen" else move
    )
    with contextlib.suppress(TransitionRejected):
        engine.fire(case_id, event, actor=WORKER, data=data, evidence=evidence, reason=reason,
                    **override)  # type: ignore[arg-type]  # fmt: skip


CASES = st.lists(
    st.tuples(
        st.sampled_from(UNITS),
        st.lists(st.tuples(st.sampled_from(LIKELY), st.integers(0, 40 * 24)), max_size=12),
    ),
    min_size=1,
    max_size=5,
)


def play(
    engine: Engine, clock: ManualClock, prefix: str, cases: list, *, timers: bool = False
) -> None:  # type: ignore[type-arg]
    for n, (unit, moves) in enumerate(cases):
        case_id = f"{prefix}-{n}"
        engine.open(WORKFLOW.name, case_id, actor=WORKER, unit=unit)
        for move, hours in moves:
            clock.advance(timedelta(hours=hours, minutes=7))
            if timers:
                engine.run_due()
            take(engine, case_id, move)


TERMINAL = {(WORKFLOW.name, WORKFLOW.version): frozenset({"closed"})}


def reference(store: Store, units: set[str | None] | None = None, **window: datetime):  # type: ignore[no-untyped-def]
    pairs = [
        (s.case.unit, s.trail)
        for s in store.scan(limit=1000)
        if s.case is not None and (units is None or s.case.unit in units)
    ]
    return figures(pairs, TERMINAL, **window)


@pytest.fixture(params=KINDS, scope="module")
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    with make_store(request.param, tmp_path_factory.mktemp("reports")) as store:
        yield store


_RUN = iter(range(10**6))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])  # fmt: skip
@given(cases=CASES, cut=st.integers(0, 30 * 24))
def test_every_figure_equals_the_python_fold_of_the_trails(shared, cases, cut):
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], store=shared, clock=clock)
    play(engine, clock, f"R{next(_RUN):05}", cases, timers=True)
    assert engine.report() == reference(shared)
    since = START + timedelta(hours=cut)
    assert engine.report(since=since) == reference(shared, since=since)
    until = since + timedelta(days=10)
    assert engine.report(since=since, until=until) == reference(shared, since=since, until=until)
    scoped = Actor("spv-medan", {"supervisor"}, units={"medan"})
    assert engine.report(scoped) == reference(shared, units={"medan"})
    assert engine.report(units={None, "binjai"}) == reference(shared, units={None, "binjai"})


def deadline_outcomes(trail) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """Where assessment's deadline (5 days, paused in review) ended, and whether it was met.

    Worked out from the trail's moves alone, apart from the library's clock.
    """
    within, out = timedelta(days=5), []
    due = since = None  # a running clock's due time; a paused clock's time used so far
    for e in trail:
        if e.kind.value != "transition" or e.from_state == e.to_state:
            continue
        if due is not None and e.to_state not in {"assessment", "review"}:
            out.append((e.seq, "yes" if e.at <= due else "no"))
            due = None
        elif since is not None and e.to_state not in {"assessment", "review"}:
            out.append((e.seq, "yes"))
            since = None
        elif e.to_state == "review" and due is not None and e.at < due:
            due, since = None, within - (due - e.at)
        elif e.to_state == "assessment" and since is not None:
            due, since = e.at + within - since, None
        elif e.to_state == "assessment" and due is None:
            due = e.at + within
    return out


@settings(max_examples=60, deadline=None)
@given(cases=CASES)
def test_each_ended_deadline_is_recorded_met_or_missed_on_the_step_that_ends_it(cases):
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock)
    play(engine, clock, "D", cases, timers=True)
    for n in range(len(cases)):
        trail = engine.trail(f"D-{n}")
        recorded = [(e.seq, e.details["deadline_met"]) for e in trail if "deadline" in e.details]
        assert recorded == deadline_outcomes(trail)
        assert all(e.details["deadline"] == "assessment" for e in trail if "deadline" in e.details)


def test_the_figures_of_a_known_story():
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock)
    plan = [("assess", 24), ("review", 1), ("review!", 47), ("close", 2), ("close!", 22),
            ("reopen", 24 * 31), ("review!", 5), ("close", 1)]  # fmt: skip
    play(engine, clock, "K", [("medan", plan)])
    play(engine, clock, "L", [("medan", [("assess", 10), ("review!", 2), ("close?", 1)])])
    report = engine.report()
    h = lambda hours, minutes: timedelta(hours=hours, minutes=minutes)  # noqa: E731 - short
    times = {t.state: (t.visits, t.median, t.p90) for t in report.time_in_state}
    assert times == {
        "reported": (2, h(10, 7), h(24, 7)),
        "assessment": (3, h(5, 7), h(48, 14)),
        "review": (3, h(1, 7), h(24, 14)),
        "closed": (1, h(31 * 24, 7), h(31 * 24, 7)),
    }
    assert [(p.period, p.opened, p.closed) for p in report.periods] == [
        ("2024-03", 1, 1), ("2024-04", 1, 2)]  # fmt: skip
    (rates,) = report.rates
    assert (rates.transitions, rates.refusals, rates.overrides) == (9, 2, 1)
    assert (rates.closings, rates.reopenings) == (3, 1)
    assert (rates.refusal_rate, rates.override_rate, rates.reopen_rate) == (2 / 11, 1 / 9, 1 / 3)
    assert report.to_json()["rates"][0]["override_rate"] == 1 / 9
    april = engine.report(since=datetime(2024, 4, 1, tzinfo=UTC))
    assert [(p.period, p.opened, p.closed) for p in april.periods] == [("2024-04", 1, 2)]
    assert {t.state: t.visits for t in april.time_in_state} == {
        "reported": 1, "assessment": 2, "review": 2}  # fmt: skip
    assert [(d.state, d.met, d.missed) for d in report.deadlines] == [("assessment", 3, 0)]
    late = engine.open(WORKFLOW.name, "M", actor=WORKER, unit="medan")
    opened = clock()
    for move, hours in [("assess", 1), ("review!", 24 * 6), ("close!", 1)]:
        clock.advance(timedelta(hours=hours))
        take(engine, late.id, move)
    (deadlines,) = engine.report(since=clock() - timedelta(days=1)).deadlines
    assert (deadlines.met, deadlines.missed, deadlines.compliance) == (0, 1, 0.0)
    assert engine.report().deadlines[0].compliance == 3 / 4
    ended = engine.trail("M")[-1].details
    assert ended["deadline_due"] == (opened + timedelta(days=5, hours=1)).isoformat()
    page = report_page(report)
    assert "<td>0.182</td>" in page, "a rate in the tables has three decimals (2 / 11)"
    assert "<td>-</td>" not in page
    play(engine, clock, "N", [(None, [("assess", 2)])])
    assert "<td>-</td>" in report_page(engine.report()), "a case of no unit"


def test_nearest_rank_percentiles():
    assert [rank(n, 50) for n in (1, 2, 3, 4, 10)] == [1, 1, 2, 2, 5]
    assert [rank(n, 90) for n in (1, 2, 9, 10, 11)] == [1, 2, 9, 9, 10]


def test_a_report_out_of_range_or_scope_is_refused():
    engine = Engine([WORKFLOW], store=InMemoryStore(), clock=ManualClock(START))
    with pytest.raises(InvalidInput, match="is not after since"):
        engine.report(since=START, until=START)
    with pytest.raises(InvalidInput, match="since"):
        engine.report(since=datetime(2024, 3, 4))  # noqa: DTZ001 - a naive time is the error
    medan = Actor("spv-medan", {"supervisor"}, units={"medan"})
    with pytest.raises(OutOfScope, match="the report of binjai"):
        engine.report(medan, units={"binjai"})


def test_the_cli_writes_the_report_as_csv_json_or_a_page(tmp_path, capsys):
    db = tmp_path / "cases.db"
    clock = ManualClock(START)
    with SQLiteStore(db) as store:
        engine = Engine([WORKFLOW], store=store, clock=clock)
        play(engine, clock, "C", [("medan", [("assess", 3), ("review!", 30)]), (None, [])])
        expected = engine.report()
    wf_file = tmp_path / "report-check.json"
    wf_file.write_text(json.dumps(workflow_to_dict(WORKFLOW)))
    base = ["report", str(db), "--workflow", str(wf_file)]
    assert main([*base, "--format", "json", "--out", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(
        json.dumps(expected.to_json())
    )
    assert main(base) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.startswith("# time_in_state\nworkflow,version,unit,state,visits,")
    assert "report-check,1,medan,reported,1,11220.0,11220.0" in csv_text
    page = tmp_path / "r.html"
    assert main([*base, "--format", "html", "--out", str(page)]) == 0
    html = page.read_text()
    assert html.count('class="bar"') == 2 * 2 + 2 * 2 + 2 * 1 + 3 * 2
    assert "<script" not in html


def test_the_cli_refuses_a_time_without_a_zone(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "x.db"), "--workflow", "w.json", "--since", "2024-03-04"])
    assert "has no time zone" in capsys.readouterr().err


@pytest.mark.parametrize("kind", KINDS)
def test_time_in_a_stage_runs_from_entering_it_to_leaving_it_on_every_store(kind, tmp_path):
    from casework_flow import seed  # noqa: PLC0415 - the staged story

    staged = seed.build_staged_workflow()
    flat = seed.build_workflow()
    with make_store(kind, tmp_path) as store:
        clock = ManualClock(START)
        engine = Engine([flat, staged], store=store, clock=clock, calendar=seed.CALENDAR)
        seed.play_staged_path(engine, clock)
        report = engine.report()
        pairs = [(s.case.unit, s.trail) for s in store.scan(limit=100) if s.case]
    terminal = {
        (wf.name, wf.version): frozenset(st.id for st in wf.all_states if st.terminal)
        for wf in (flat, staged)
    }
    stages = {
        (wf.name, wf.version): {
            st.id: (wf.tree.ancestors(st.id) or (st.id,))[-1] for st in wf.all_states
        }
        for wf in (flat, staged)
    }
    assert report == figures(pairs, terminal, stages=stages)
    in_stage = {t.state for t in report.time_in_stage if t.version == staged.version}
    in_state = {t.state for t in report.time_in_state if t.version == staged.version}
    assert {"assessment", "planning", "intervention"} <= in_stage
    assert {"assessing", "case_plan"} <= in_state
    assert not in_stage & {"assessing", "case_plan"}
    assert not in_state & {"assessment", "planning"}
    assert in_stage <= {st.id for st in staged.states}
