"""The seed story on version 2 of its workflow: seven stages, three tracks side by side."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from casework_flow import (
    Engine,
    EntryKind,
    ManualClock,
    SQLiteStore,
    TransitionRejected,
    replay,
    seed,
)
from casework_flow.audit import export_csv, export_jsonl
from casework_flow.checks import check_workflow
from casework_flow.cli import main
from casework_flow.guards import in_state
from casework_flow.testing import always_before, explore, never, reach

V1, V2 = seed.build_workflow(), seed.build_staged_workflow()
START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)


def _engine(store=None) -> tuple[Engine, ManualClock]:  # type: ignore[no-untyped-def]
    clock = ManualClock(START)
    kwargs = {"store": store} if store is not None else {}
    return Engine([V1, V2], clock=clock, calendar=seed.CALENDAR, **kwargs), clock


def test_version_2_is_the_same_process_in_seven_stages():
    top = [s.id for s in V2.states if not s.terminal]
    assert top == [
        "first_approach", "assessment", "planning", "intervention", "resocialization",
        "termination", "follow_up",
    ]  # fmt: skip
    assert [t.id for t in V2.state("intervention").states] == [
        "family_track", "identity_track", "health_track",
    ]  # fmt: skip
    assert [f for f in check_workflow(V2) if f.severity == "error"] == []


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_staged_story_ends_closed_with_a_verified_trail(kind, tmp_path):
    store = SQLiteStore(tmp_path / "v2.sqlite3") if kind == "sqlite" else None
    engine, clock = _engine(store)
    seed.play_staged_path(engine, clock)
    case = engine.get(seed.CASE_ID)
    assert case.state == "closed_independent"
    trail = engine.trail(seed.CASE_ID)
    assert engine.verify(seed.CASE_ID).ok
    assert replay([V1, V2], trail, calendar=seed.CALENDAR) == case
    moves = {e.event: e.details.get("configuration", "") for e in trail}
    assert moves["ktp_issued"].split() == [
        "intervention/family_track/family_work",
        "intervention/identity_track/ktp_issued",
        "intervention/health_track/screening",
    ]
    assert not any("completion" in e.details for e in trail), "the family was not ready"
    (back,) = engine.get(seed.RETURN_CASE_ID).links
    assert (back.kind, back.other, back.side) == ("re_entry", seed.CASE_ID, "to")
    assert replay([V1, V2], engine.trail(seed.RETURN_CASE_ID)) == engine.get(seed.RETURN_CASE_ID)


def test_the_shelter_referral_waits_for_the_health_track():
    engine, clock = _engine()
    engine.open(seed.WORKFLOW, seed.CASE_ID, actor=seed.OUTREACH, assignee=seed.WORKER.id,
                unit=seed.MEDAN, version=2)  # fmt: skip
    path = seed.STAGED_PATH
    cleared = next(i for i, s in enumerate(path) if s[0] == "health_cleared")
    for step in path[:cleared]:
        clock.advance(days=step[-1], hours=1)
        seed.take(engine, seed.CASE_ID, step)
    for step in path[cleared + 1 : cleared + 3]:
        clock.advance(days=step[-1], hours=1)
        seed.take(engine, seed.CASE_ID, step)
    refer = next(s for s in path if s[0] == "refer_to_shelter_unit")
    with pytest.raises(TransitionRejected) as refused:
        seed.take(engine, seed.CASE_ID, refer)
    assert "the case is not in health_cleared" in str(refused.value)
    seed.take(engine, seed.CASE_ID, path[cleared])
    case = seed.take(engine, seed.CASE_ID, refer)
    assert case.approvals["referral"].dest == "referral_pending"


def test_a_rejected_referral_resumes_every_track_where_it_was():
    engine, clock = _engine()
    engine.open(seed.WORKFLOW, seed.CASE_ID, actor=seed.OUTREACH, assignee=seed.WORKER.id,
                unit=seed.MEDAN, version=2)  # fmt: skip
    upto = next(i for i, s in enumerate(seed.STAGED_PATH) if s[0] == seed.ACCEPT_REFERRAL)
    for step in seed.STAGED_PATH[:upto]:
        clock.advance(days=step[-1], hours=1)
        seed.take(engine, seed.CASE_ID, step)
    case = engine.fire(seed.CASE_ID, "unit_rejects", actor=seed.SHELTER_HEAD_BINJAI,
                       reason="No bed until next month.")  # fmt: skip
    assert case.configuration == ("family_unavailable", "ktp_issued", "health_cleared")
    assert engine.trail(seed.CASE_ID)[-1].kind is EntryKind.TRANSITION


def test_explore_walks_the_staged_seed_and_finds_a_planted_shortcut():
    holds = never(reach("referral_pending"), unless=in_state("health_cleared"))
    assert explore(V2, holds, always_before("admit_to_shelter", "start_intervention"), depth=9).ok
    broken = explore(V2, never(reach("ktp_issued")), depth=9)
    assert not broken.ok
    assert broken.violation is not None
    assert broken.violation.trail[-1].event == "ktp_issued"


def test_the_demo_plays_the_staged_story(tmp_path, capsys):
    assert main(["demo", "--staged", "--db", str(tmp_path / "demo.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert "street-beggar-family-conflict v2" in out
    assert "intervention/health_track/health_cleared" in out
    assert "Final state: closed_independent" in out
    assert "Linked: MDN-2025-0041 (re_entry, from)" in out


def test_live_flat_cases_move_to_the_staged_version_with_a_dry_run_then_an_entry():
    engine, clock = _engine()
    for case_id, upto in (("MDN-A", 4), ("MDN-B", 6), ("MDN-C", 9)):
        engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id,
                    unit=seed.MEDAN, version=1)  # fmt: skip
        for step in seed.HAPPY_PATH[:upto]:
            clock.advance(days=step[-1], hours=1)
            seed.take(engine, case_id, step)
    plan = engine.plan_migration(seed.WORKFLOW, 1, 2, seed.STAGED_STATE_MAP)
    where = {i.case_id: (i.to_state, i.configuration) for i in plan.items}
    assert where["MDN-A"] == ("intervention", ("family_tracing", "ktp_requested", "screening"))
    assert where["MDN-B"] == ("intervention", ("family_work", "ktp_requested", "screening"))
    assert where["MDN-C"][1] == ("family_unavailable", "ktp_requested", "screening")
    assert engine.get("MDN-B").version == 1, "a plan changes nothing"
    report = engine.migrate(plan, actor=seed.SUPERVISOR, reason="Version 2: stages and tracks.")
    assert sorted(report.migrated) == ["MDN-A", "MDN-B", "MDN-C"]
    case = engine.get("MDN-B")
    assert (case.version, case.configuration) == (2, ("family_work", "ktp_requested", "screening"))
    entry = engine.trail("MDN-B")[-1]
    assert entry.kind is EntryKind.MIGRATED
    assert entry.details["configuration"].split()[0] == "intervention/family_track/family_work"
    assert replay([V1, V2], engine.trail("MDN-B"), calendar=seed.CALENDAR) == case
    assert case.timer == "family_response_14_days", "the family track's timer carries over"
    case = engine.fire("MDN-B", "ktp_issued", actor=seed.WORKER,
                       evidence={"identity_document": "D4"})  # fmt: skip
    assert case.configuration == ("family_work", "ktp_issued", "screening")


def test_a_map_to_no_state_or_into_one_stage_twice_blocks_the_case():
    engine, _ = _engine()
    engine.open(seed.WORKFLOW, "MDN-D", actor=seed.OUTREACH, unit=seed.MEDAN, version=1)
    plan = engine.plan_migration(seed.WORKFLOW, 1, 2, {"reported": "nowhere"})
    (item,) = plan.items
    assert item.blockers == ("state reported has no mapping: v2 has no state nowhere",)
    leaves, problems = V2.tree.completed_entry(["family_work", "family_tracing", "ktp_issued"])
    assert problems == ["family_tracing and family_work would be active at once in family_track"]
    assert V2.tree.completed_entry(["ktp_issued"]) == (
        ("family_tracing", "ktp_issued", "screening"),
        [],
    )
    assert "ktp_issued" in leaves
    assert V2.tree.completed_entry(["intervention"]) == (
        ("family_tracing", "ktp_requested", "screening"),
        [],
    )
    assert V2.tree.completed_entry(["reported", "closed_left"])[1] == [
        "first_approach and closed_left would be active at once in the workflow"
    ]


def test_the_staged_trail_exports_with_its_paths_and_imports_to_the_same_case():
    engine, clock = _engine()
    seed.play_staged_path(engine, clock)
    trail = engine.trail(seed.CASE_ID)
    out = io.StringIO()
    export_jsonl(trail, out, workflow=V2, include_personal=True)
    other, _ = _engine()
    imported = other.import_trail(out.getvalue().splitlines(), head=trail[-1].head)
    assert imported == engine.get(seed.CASE_ID)
    assert imported.configuration == engine.get(seed.CASE_ID).configuration
    table = io.StringIO()
    export_csv(trail, table, workflow=V2)
    rows = {row["event"]: row for row in csv.DictReader(io.StringIO(table.getvalue()))}
    assert (
        "configuration=intervention/family_track/family_work"
        " intervention/identity_track/ktp_issued intervention/health_track/screening"
    ) in rows["ktp_issued"]["details"]


def test_a_consent_override_moves_a_staged_case_into_the_stage_and_replays():
    engine, clock = _engine()
    engine.open(seed.WORKFLOW, "MDN-URGENT", actor=seed.OUTREACH, assignee=seed.WORKER.id,
                unit=seed.MEDAN, version=2)  # fmt: skip
    first = seed.STAGED_PATH[0]
    seed.take(engine, "MDN-URGENT", first)
    clock.advance(hours=2)
    case = engine.fire("MDN-URGENT", "admit_to_shelter", actor=seed.WORKER,
                       override_by=seed.SUPERVISOR, reason_code="URGENT_RISK",
                       reason="Sleeping rough in the rain with a fever.")  # fmt: skip
    assert case.configuration == ("sheltered",)
    assert case.state == "sheltered"
    entry = engine.trail("MDN-URGENT")[-1]
    assert entry.details["overridden_by"] == seed.SUPERVISOR.id
    assert entry.details["configuration"] == "assessment/sheltered"
    assert replay([V1, V2], engine.trail("MDN-URGENT"), calendar=seed.CALENDAR) == case
