"""Event logs for process mining: pm4py reads the XES and OCEL 2.0 exports."""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import random
import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import attrs
import pm4py
import pm4py.util.constants
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import Actor, Engine, InMemoryStore, ManualClock, SQLiteStore, seed
from casework_flow.audit import MASK, EntryKind, export_ocel, export_xes, stored_trails
from casework_flow.cli import main
from casework_flow.exceptions import InvalidInput, ReplayError, StoreError
from casework_flow.keys import InMemoryKeyStore

from .conftest import ROOT, START, load_example
from .stores import KINDS, make_store

pm4py.util.constants.SHOW_PROGRESS_BAR = False

WORKFLOW = attrs.evolve(seed.build_workflow(), personal_roles={"social_worker", "supervisor"})
STAGED = attrs.evolve(seed.build_staged_workflow(), personal_roles=WORKFLOW.personal_roles)
PERSONAL_VALUE = "Simpang Pos lights"  # the seed's found_at, a personal field


def workload(engine: Engine, clock: ManualClock, lengths: list[int]) -> None:
    """Cases on the seed's happy path, each stopped after its number of steps."""
    for i, length in enumerate(lengths):
        case_id = f"MDN-{i:04}"
        engine.open(
            WORKFLOW.name, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id,
            unit=seed.MEDAN, version=1, data={"found_at": PERSONAL_VALUE},
        )  # fmt: skip
        for step in seed.HAPPY_PATH[:length]:
            clock.advance(timedelta(days=step[-1], hours=1))
            seed.take(engine, case_id, step)


def played(lengths: list[int], **engine_args: object) -> Engine:
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock, calendar=seed.CALENDAR, **engine_args)  # type: ignore[arg-type]
    workload(engine, clock, lengths)
    return engine


_RNG = random.Random(7)  # noqa: S311 - a workload, not a secret
LENGTHS = [_RNG.randrange(len(seed.HAPPY_PATH) + 1) for _ in range(24)]
ENGINE = played([*LENGTHS, len(seed.HAPPY_PATH)])


def write(tmp_path: Path, engine: Engine, fmt: str, **options: object) -> Path:
    path = tmp_path / ("log.xes" if fmt == "xes" else "log.jsonocel")
    export = export_xes if fmt == "xes" else export_ocel
    with path.open("w", encoding="utf-8") as out:
        export(stored_trails(engine.store), out, workflows=[WORKFLOW], **options)  # type: ignore[operator]
    return path


def transitions_of(engine: Engine) -> dict[str, list[str]]:
    return {
        stored.case_id: [e.event for e in stored.trail if e.kind is EntryKind.TRANSITION]
        for stored in engine.store.scan(limit=1000)
    }


def test_pm4py_reads_the_xes_log_one_trace_per_case_with_every_transition(tmp_path):
    log = pm4py.read_xes(str(write(tmp_path, ENGINE, "xes")))
    expected = transitions_of(ENGINE)
    traces = {
        case: list(group.sort_values("casework:seq")["concept:name"])
        for case, group in log.groupby("case:concept:name")
    }
    assert traces == {case: events for case, events in expected.items() if events}
    assert set(log["org:resource"]) <= {a.id for a in (seed.WORKER, seed.SUPERVISOR,
        seed.OUTREACH, seed.SHELTER_HEAD_BINJAI, seed.SHELTER_WORKER_BINJAI)}  # fmt: skip
    assert log["time:timestamp"].is_monotonic_increasing or all(
        group["time:timestamp"].is_monotonic_increasing
        for _, group in log.groupby("case:concept:name")
    )


def test_the_model_pm4py_discovers_has_only_the_workflows_transitions(tmp_path):
    log = pm4py.read_xes(str(write(tmp_path, ENGINE, "xes")))
    net, _, _ = pm4py.discover_petri_net_inductive(log)
    labels = {t.label for t in net.transitions if t.label is not None}
    assert labels
    assert labels <= set(WORKFLOW.events)
    assert labels == {e for events in transitions_of(ENGINE).values() for e in events}


def test_pm4py_reads_the_ocel_log_with_cases_workers_and_their_relations(tmp_path):
    ocel = pm4py.read_ocel2_json(str(write(tmp_path, ENGINE, "ocel")))
    expected = transitions_of(ENGINE)
    assert len(ocel.events) == sum(len(v) for v in expected.values())
    types = dict(zip(ocel.objects["ocel:oid"], ocel.objects["ocel:type"], strict=True))
    assert {oid for oid, t in types.items() if t == WORKFLOW.name} == {
        case for case, events in expected.items() if events
    }
    assert set(types.values()) == {WORKFLOW.name, "worker"}
    relations = ocel.relations
    by_case = relations[relations["ocel:qualifier"] == "case"]
    assert len(by_case) == len(ocel.events)
    assert set(relations[relations["ocel:qualifier"] == "actor"]["ocel:type"]) == {"worker"}


def test_an_ocel_case_object_records_its_state_over_time_ending_where_the_case_is(tmp_path):
    raw = json.loads(write(tmp_path, ENGINE, "ocel").read_text())
    cases = {o["id"]: o for o in raw["objects"] if o["type"] == WORKFLOW.name}
    for case_id, obj in cases.items():
        states = [a for a in obj["attributes"] if a["name"] == "state"]
        assert states[0]["value"] == WORKFLOW.initial
        assert states[-1]["value"] == ENGINE.get(case_id).state
        assert [s["time"] for s in states] == sorted(s["time"] for s in states)
    declared = {t["name"]: {a["name"] for a in t["attributes"]} for t in raw["objectTypes"]}
    assert {"state", "version", "assignee", "unit", "found_at"} <= declared[WORKFLOW.name]


def test_personal_values_are_masked_unless_asked_for_by_a_reader_who_may_see_them(tmp_path):
    default = write(tmp_path, ENGINE, "xes").read_text()
    assert PERSONAL_VALUE not in default
    assert f'key="data:found_at" value="{MASK}"' in default
    shown = write(tmp_path, ENGINE, "xes", include_personal=True).read_text()
    assert PERSONAL_VALUE in shown
    clerk = Actor("clerk", {"data_officer"})
    assert WORKFLOW.personal_roles
    assert not WORKFLOW.personal_roles & clerk.roles
    for fmt in ("xes", "ocel"):
        refused = write(tmp_path, ENGINE, fmt, include_personal=True, reader=clerk).read_text()
        assert PERSONAL_VALUE not in refused
        allowed = Actor("spv", set(WORKFLOW.personal_roles))
        assert (
            PERSONAL_VALUE
            in write(tmp_path, ENGINE, fmt, include_personal=True, reader=allowed).read_text()
        )


def test_sealed_values_are_opened_only_for_a_full_export_with_the_key_store(tmp_path):
    keys = InMemoryKeyStore(kek=os.urandom(32))
    sealed = played([3, 5], keys=keys)
    assert PERSONAL_VALUE not in write(tmp_path, sealed, "ocel", include_personal=True).read_text()
    opened = write(tmp_path, sealed, "ocel", include_personal=True, keys=keys).read_text()
    assert PERSONAL_VALUE in opened
    assert PERSONAL_VALUE not in write(tmp_path, sealed, "ocel", keys=keys).read_text()


def test_other_kinds_of_entry_are_events_when_asked_for(tmp_path):
    kinds = {EntryKind.OPENED, EntryKind.TRANSITION, EntryKind.APPROVAL_REQUESTED}
    log = pm4py.read_xes(str(write(tmp_path, ENGINE, "xes", kinds=kinds)))
    names = set(log["concept:name"])
    assert "opened open" in names
    assert "approval_requested refer_to_shelter_unit" in names
    assert len(log) == sum(
        1 for s in ENGINE.store.scan(limit=1000) for e in s.trail if e.kind in kinds
    )
    with pytest.raises(InvalidInput, match="at least one kind"):
        export_xes([], io.StringIO(), workflows=[WORKFLOW], kinds=())


def test_a_link_between_cases_is_an_object_relation_in_ocel(tmp_path):
    clock = ManualClock(START)
    engine = Engine([WORKFLOW, STAGED], clock=clock, calendar=seed.CALENDAR)
    seed.play_staged_path(engine, clock)
    path = tmp_path / "linked.jsonocel"
    with path.open("w") as out:
        export_ocel(stored_trails(engine.store), out, workflows=[WORKFLOW, STAGED],
                    kinds={EntryKind.TRANSITION, EntryKind.LINKED})  # fmt: skip
    ocel = pm4py.read_ocel2_json(str(path))
    pairs = set(zip(ocel.o2o["ocel:oid"], ocel.o2o["ocel:oid_2"], strict=True))
    assert (seed.RETURN_CASE_ID, seed.CASE_ID) in pairs
    assert (seed.CASE_ID, seed.RETURN_CASE_ID) in pairs
    assert set(ocel.o2o["ocel:qualifier"]) == {"re_entry"}


def test_a_case_linked_to_one_left_out_relates_to_an_object_outside_the_export(tmp_path):
    clock = ManualClock(START)
    engine = Engine([WORKFLOW, STAGED], clock=clock, calendar=seed.CALENDAR)
    seed.play_staged_path(engine, clock)
    kept = [t for t in stored_trails(engine.store) if t[0].case_id == seed.RETURN_CASE_ID]
    assert kept
    path = tmp_path / "subset.jsonocel"
    with path.open("w") as out:
        export_ocel(kept, out, workflows=[WORKFLOW, STAGED],
                    kinds={EntryKind.TRANSITION, EntryKind.LINKED})  # fmt: skip
    raw = json.loads(path.read_text())
    objects = {o["id"]: o for o in raw["objects"]}
    related = {
        r["objectId"]
        for item in raw["objects"] + raw["events"]
        for r in item.get("relationships", [])
    }
    assert related <= set(objects)
    assert objects[seed.CASE_ID] == {
        "id": seed.CASE_ID, "type": "case outside the export", "attributes": []
    }  # fmt: skip
    assert [o["id"] for o in raw["objects"]].count(seed.CASE_ID) == 1
    assert {"name": "case outside the export", "attributes": []} in raw["objectTypes"]
    ocel = pm4py.read_ocel2_json(str(path))
    assert (seed.RETURN_CASE_ID, seed.CASE_ID) in set(
        zip(ocel.o2o["ocel:oid"], ocel.o2o["ocel:oid_2"], strict=True)
    )
    whole = io.StringIO()
    export_ocel(stored_trails(engine.store), whole, workflows=[WORKFLOW, STAGED],
                kinds={EntryKind.LINKED})  # fmt: skip
    assert "case outside the export" not in whole.getvalue()


def test_an_empty_trail_is_no_trace_and_no_object():
    for export in (export_xes, export_ocel):
        out = io.StringIO()
        assert export([()], out, workflows=[WORKFLOW]) == 0
    raw = json.loads(out.getvalue())
    assert raw["objects"] == []
    assert raw["events"] == []


def test_ocel_declares_each_attribute_with_the_type_of_its_values():
    typed = attrs.evolve(WORKFLOW, personal=frozenset(), personal_roles=frozenset())
    clock = ManualClock(START)
    engine = Engine([typed], clock=clock, calendar=seed.CALENDAR)
    engine.open(
        typed.name, "MDN-T", actor=seed.OUTREACH, version=1,
        data={"found_at": "Simpang Pos", "siblings": 3, "weight_kg": 52.5, "urgent": True},
    )  # fmt: skip
    seed.take(engine, "MDN-T", seed.HAPPY_PATH[0])
    out = io.StringIO()
    export_ocel(stored_trails(engine.store), out, workflows=[typed],
                kinds={EntryKind.OPENED, EntryKind.TRANSITION})  # fmt: skip
    raw = json.loads(out.getvalue())
    objects = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]}
               for t in raw["objectTypes"]}  # fmt: skip
    case_types = objects[typed.name]
    assert case_types["siblings"] == "integer"
    assert case_types["weight_kg"] == "float"
    assert case_types["urgent"] == "boolean"
    assert case_types["found_at"] == "string"
    assert case_types["version"] == "integer"
    events = {a["name"]: a["type"] for t in raw["eventTypes"] for a in t["attributes"]}
    assert events["casework:seq"] == "integer"
    assert events["casework:state"] == "string"


def test_a_stored_case_that_cannot_be_read_stops_the_export_naming_it(tmp_path):
    store = SQLiteStore(tmp_path / "cases.db")
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR)
    workload(engine, clock, [1, 1])
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "cases.db")) as conn, conn:
        conn.execute("UPDATE casework_cases SET body = 'not json' WHERE id = 'MDN-0001'")
    with SQLiteStore(tmp_path / "cases.db") as again, pytest.raises(StoreError, match="MDN-0001"):
        list(stored_trails(again))


def test_stored_trails_reads_every_case_once_in_id_order_page_by_page(tmp_path):
    store = SQLiteStore(tmp_path / "cases.db")
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR)
    workload(engine, clock, [2, 0, 4, 1, 3])
    trails = list(stored_trails(store, page=2))
    assert [t[0].case_id for t in trails] == sorted(f"MDN-{i:04}" for i in range(5))
    assert [len(t) for t in trails] == [len(store.trail(t[0].case_id)) for t in trails]
    assert list(stored_trails(InMemoryStore())) == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_store_gives_the_same_log(kind, tmp_path):
    with make_store(kind, tmp_path) as store:
        clock = ManualClock(START)
        engine = Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR)
        workload(engine, clock, [1, 7, 3])
        logs = []
        for export in (export_xes, export_ocel):
            out = io.StringIO()
            export(stored_trails(store, page=2), out, workflows=[WORKFLOW])
            logs.append(out.getvalue())
    reference = played([1, 7, 3])
    for export, log in zip((export_xes, export_ocel), logs, strict=True):
        out = io.StringIO()
        export(stored_trails(reference.store), out, workflows=[WORKFLOW])
        assert log == out.getvalue()


def test_a_trail_on_a_workflow_not_given_is_named():
    with pytest.raises(ReplayError, match=r"MDN-0000.*street-beggar-family-conflict v1.*not given"):
        export_ocel(stored_trails(ENGINE.store), io.StringIO(), workflows=[STAGED])


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


def _xml_safe(text: str) -> str:
    return "".join(
        "\ufffd" if (ord(c) < 0x20 and c not in "\t\n\r") or c in "\ufffe\uffff" else c
        for c in text
    )


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(note=_TEXT, actor=_TEXT.filter(str.strip))
def test_any_text_makes_well_formed_xes_and_json_that_say_it_back(note, actor):
    engine = Engine([WORKFLOW], clock=ManualClock(START), calendar=seed.CALENDAR)
    opener = Actor(actor, {"outreach_officer"})
    engine.open(WORKFLOW.name, "C-1", actor=opener, version=1, data={"note": note})
    xes, ocel = io.StringIO(), io.StringIO()
    kinds = {EntryKind.OPENED}
    assert export_xes(stored_trails(engine.store), xes, workflows=[WORKFLOW], kinds=kinds) == 1
    assert export_ocel(stored_trails(engine.store), ocel, workflows=[WORKFLOW], kinds=kinds) == 1
    ns = {"x": "http://www.xes-standard.org/"}
    trace = ET.fromstring(xes.getvalue()).find("x:trace", ns)  # noqa: S314 - our own output
    assert trace is not None
    told = {a.get("key"): a.get("value") for a in trace}
    assert told["data:note"] == _xml_safe(note)
    event = {a.get("key"): a.get("value") for a in trace.findall("x:event", ns)[0]}
    assert event["org:resource"] == _xml_safe(actor)
    assert event["data:note"] == _xml_safe(note)
    raw = json.loads(ocel.getvalue())
    assert [e["relationships"][1]["objectId"] for e in raw["events"]] == [actor]
    case = next(o for o in raw["objects"] if o["id"] == "C-1")
    assert {"name": "note", "time": START.isoformat(), "value": note} in case["attributes"]


def test_the_cli_writes_the_log_in_one_piece_or_not_at_all(tmp_path, capsys):
    db = tmp_path / "cases.db"
    clock = ManualClock(START)
    with SQLiteStore(db) as store:
        workload(Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR), clock,
                 [4, 9])  # fmt: skip
    wf_file = str(tmp_path / "workflow.yaml")
    text = seed.workflow_path().read_text()
    Path(wf_file).write_text(
        text.replace("\npersonal:", "\npersonal_roles: [supervisor]\npersonal:", 1)
    )
    out = tmp_path / "cases.xes"
    assert main(["export", str(db), "--workflow", wf_file, "--out", str(out)]) == 0
    assert f"{out}: 13 events" in capsys.readouterr().err
    assert len(pm4py.read_xes(str(out))) == 13
    ocel = tmp_path / "cases.jsonocel"
    argv = ["export", str(db), "--workflow", wf_file, "--format", "ocel", "--out", str(ocel)]
    assert main([*argv, "--kind", "opened", "--kind", "transition"]) == 0
    assert len(pm4py.read_ocel2_json(str(ocel)).events) == 15
    lines = tmp_path / "cases.jsonl"
    jsonl = ["export", str(db), "--workflow", wf_file, "--format", "jsonl", "--out", str(lines)]
    assert main(jsonl) == 0
    assert PERSONAL_VALUE not in lines.read_text()
    assert main([*jsonl, "--include-personal", "--role", "supervisor"]) == 0
    assert PERSONAL_VALUE in lines.read_text()
    assert main([*jsonl, "--include-personal", "--role", "data_officer"]) == 0
    assert PERSONAL_VALUE not in lines.read_text()
    capsys.readouterr()

    staged_only = tmp_path / "staged.xes"
    argv = ["export", str(db), "--workflow", str(seed.staged_workflow_path())]
    assert main([*argv, "--out", str(staged_only)]) == 1
    assert "street-beggar-family-conflict" in capsys.readouterr().err
    assert not staged_only.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_cli_streams_to_stdout_and_refuses_a_directory_as_the_output(tmp_path, capsys):
    db = tmp_path / "cases.db"
    clock = ManualClock(START)
    with SQLiteStore(db) as store:
        workload(Engine([WORKFLOW], store=store, clock=clock, calendar=seed.CALENDAR), clock, [2])
    argv = ["export", str(db), "--workflow", str(seed.workflow_path())]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<?xml")
    assert captured.out.count("<event>") == 2
    assert "stdout: 2 events" in captured.err
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


MINING = load_example("process_mining")


def test_the_mining_example_writes_both_logs_and_finds_only_declared_activities(tmp_path, capsys):
    MINING.main([str(tmp_path)])
    said = capsys.readouterr().out
    assert "not in the workflow: none" in said
    assert (tmp_path / "cases.xes").stat().st_size > 0
    ocel = pm4py.read_ocel2_json(str(tmp_path / "cases.jsonocel"))
    assert set(ocel.objects["ocel:type"]) == {WORKFLOW.name, "worker"}


def test_the_picture_in_the_docs_is_of_what_the_example_discovers(tmp_path):
    with MINING.play(tmp_path / "cases.db") as store:
        xes, _ = MINING.export(store, tmp_path)
    net, _, _ = MINING.discover(xes)
    svg = (ROOT / "docs" / "images" / "discovered-process.svg").read_text()
    drawn = {m.group(1) for m in re.finditer(r"<text[^>]*>([a-z_]+)</text>", svg)}
    assert drawn == MINING.activities(net)
    declared = html.unescape((ROOT / "docs" / "images" / "declared-workflow.svg").read_text())
    assert all(s.label("en") in declared for s in WORKFLOW.all_states)
