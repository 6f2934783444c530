"""Export as JSON Lines and CSV with personal data masked; import verifies first."""

from __future__ import annotations

import csv
import io
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import ConcurrentModification, Engine, InMemoryStore, ManualClock
from casework_flow.audit import MASK, export_csv, export_jsonl, read_jsonl
from casework_flow.exceptions import CaseExists, TrailBroken, UnknownWorkflow

from .conftest import START, load_example

seed = load_example("medan_street_beggar")
WORKFLOW = seed.build_workflow()


def played() -> Engine:
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock)
    seed.play(engine, clock)
    return engine


ENGINE = played()
TRAIL = ENGINE.trail(seed.CASE_ID)


def jsonl(include_personal: bool) -> str:
    out = io.StringIO()
    assert export_jsonl(TRAIL, out, workflow=WORKFLOW, include_personal=include_personal) == len(
        TRAIL
    )
    return out.getvalue()


def test_personal_fields_are_masked_unless_asked_for():
    masked = jsonl(include_personal=False)
    assert '"R."' not in masked
    assert "father, Kec. Medan Deli" not in masked
    assert "Simpang Pos" not in masked
    lines = [json.loads(line) for line in masked.splitlines()]
    first_contact = next(e for e in lines if e["event"] == "first_contact")
    assert {c["field"]: c["after"] for c in first_contact["changes"]} == {
        "age": 23,
        "client_alias": MASK,
    }
    assert first_contact["masked"] == ["changes.client_alias"]
    full = jsonl(include_personal=True)
    assert '"R."' in full
    assert "masked" not in full


def test_csv_export_shows_details_of_approvals_and_transfers():
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock, calendar=seed.CALENDAR)
    seed.play(engine, clock)
    out = io.StringIO()
    export_csv(engine.trail(seed.CASE_ID), out, workflow=WORKFLOW)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    approved = [r for r in rows if "decision=approved" in r["details"]]
    assert len(approved) == 1
    assert "requested_by=sw-017" in approved[0]["details"]
    assert [r["kind"] for r in rows if "handover=referral-" in r["details"]] == [
        "handover_sent",
        "handover_answered",
        "handover_answered",
    ]
    assert [r["timer"] for r in rows if r["timer"]] == ["family_response_14_days"]


def test_csv_export_masks_too_and_has_one_row_per_entry():
    out = io.StringIO()
    assert export_csv(TRAIL, out, workflow=WORKFLOW) == len(TRAIL)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == len(TRAIL)
    assert "R." not in out.getvalue()
    refused = [r for r in rows if r["kind"] == "refused"]
    assert refused[0]["failed_checks"].startswith("none of these held")
    assert rows[1]["changes"] == 'age=23; client_alias="***"'
    assert rows[-1]["hash"] == TRAIL[-1].hash
    full = io.StringIO()
    export_csv(TRAIL, full, workflow=WORKFLOW, include_personal=True)
    assert 'client_alias=""R.""' in full.getvalue()


def test_a_full_export_imports_into_another_store_equal_and_verified():
    target = Engine([WORKFLOW], store=InMemoryStore())
    case = target.import_trail(jsonl(include_personal=True).splitlines(), head=TRAIL[-1].head)
    assert case == ENGINE.get(seed.CASE_ID)
    assert tuple(target.trail(seed.CASE_ID)) == tuple(TRAIL)
    assert target.verify(seed.CASE_ID).ok
    with pytest.raises(CaseExists):
        target.import_trail(jsonl(include_personal=True).splitlines())


def test_a_masked_export_cannot_be_imported():
    with pytest.raises(TrailBroken, match="line 1 comes from a masked export"):
        Engine([WORKFLOW]).import_trail(jsonl(include_personal=False).splitlines())


@settings(max_examples=100)
@given(st.data())
def test_a_broken_trail_is_refused_naming_where_and_nothing_is_written(data):
    lines = jsonl(include_personal=True).splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["edit", "drop", "swap", "garbage", "bytes"]))
    if how == "edit":
        raw = json.loads(lines[i])
        raw["actor"]["id"] = raw["actor"]["id"] + "-forged"
        lines[i] = json.dumps(raw)
    elif how == "drop":
        del lines[i]
    elif how == "swap":
        j = (i + 1) % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "garbage":
        lines[i] = lines[i][: len(lines[i]) // 2]
    store = InMemoryStore()
    engine = Engine([WORKFLOW], store=store)
    source: list[str | bytes] = list(lines)
    if how == "bytes":
        source[i] = b"\xff\xfe" + lines[i].encode()
    with pytest.raises(TrailBroken) as info:
        engine.import_trail(source, head=TRAIL[-1].head, source="trail.jsonl")
    assert info.value.seq is not None or "trail.jsonl, line" in str(info.value)
    assert len(store) == 0


def test_import_needs_the_workflow_registered():
    other = Engine([])
    with pytest.raises(UnknownWorkflow):
        other.import_trail(jsonl(include_personal=True).splitlines())


def test_read_jsonl_skips_blank_lines_and_rejects_non_objects():
    lines = ["", *jsonl(include_personal=True).splitlines(), "   "]
    assert tuple(read_jsonl(lines)) == tuple(TRAIL)
    with pytest.raises(TrailBroken, match="line 1 is not a JSON object"):
        read_jsonl(["[1, 2]"])


def test_fire_retrying_re_reads_and_wins_eventually():
    engine = Engine([WORKFLOW], clock=ManualClock(START))
    engine.open(seed.WORKFLOW, "C-1", actor=seed.OUTREACH)
    for event, actor, data, evidence, code, _ in seed.HAPPY_PATH[:5]:
        engine.fire("C-1", event, actor=actor, data=data, evidence=evidence, reason_code=code)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(25):
                engine.fire_retrying(
                    "C-1",
                    "record_contact_attempt",
                    actor=seed.WORKER,
                    attempts=200,
                    data={"contact_method": "phone", "contact_outcome": "none"},
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert engine.get("C-1").revision == 6 + 100
    assert engine.verify("C-1").ok
    stale = _AlwaysStale(engine.store)
    racing = Engine([WORKFLOW], store=stale)
    with pytest.raises(ConcurrentModification):
        racing.fire_retrying(
            "C-1",
            "record_contact_attempt",
            actor=seed.WORKER,
            attempts=3,
            data={"contact_method": "x", "contact_outcome": "y"},
        )


class _AlwaysStale(InMemoryStore):
    """A store whose commits always lose the race."""

    def __init__(self, inner: object) -> None:
        super().__init__()
        self.inner = inner
        self.tries = 0

    def load(self, case_id, **kw):  # type: ignore[no-untyped-def]
        return self.inner.load(case_id, **kw)  # type: ignore[attr-defined]

    def trail(self, case_id):  # type: ignore[no-untyped-def]
        return self.inner.trail(case_id)  # type: ignore[attr-defined]

    def commit(self, case, entries, *, expected_revision):  # type: ignore[no-untyped-def]  # noqa: ARG002 - the protocol's signature
        self.tries += 1
        raise ConcurrentModification(case.id, expected_revision, expected_revision + 1)


def test_an_entry_with_a_member_the_format_does_not_have_is_refused_naming_it():
    lines = jsonl(include_personal=True).splitlines()
    raw = json.loads(lines[2])
    raw["note"] = "added after the fact"
    lines[2] = json.dumps(raw)
    with pytest.raises(TrailBroken) as info:
        read_jsonl(lines, source="trail.jsonl")
    assert "trail.jsonl, line 3" in str(info.value)
    assert "unknown member 'note'" in str(info.value)
    assert info.value.seq == raw["seq"]
