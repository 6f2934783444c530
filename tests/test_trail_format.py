"""The trail format: what each entry's hash covers, in format 2 (RFC 8785) and format 1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import attrs
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from casework_flow import Engine, ManualClock, seed, verify
from casework_flow._canonical import FORMAT, canonical
from casework_flow._export import export_jsonl, read_jsonl
from casework_flow.exceptions import TrailBroken

from . import stores
from .conftest import START
from .values import json_values, texts

FORMAT_1_TRAIL = Path(__file__).parent / "data" / "trail-format-1.jsonl"
"""The seed case's happy path as 0.1.0.dev0 wrote it on 1 December 2026: entry format 1."""


@given(value=st.dictionaries(texts, json_values, max_size=5))
def test_the_encoding_is_rfc_8785_for_any_json(value):
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "jcs"),
    [
        ({"n": 2.0}, b'{"n":2}'),
        ({"n": 1e21, "m": 1e-7}, b'{"m":1e-7,"n":1e+21}'),
        ({"n": -0.0}, b'{"n":0}'),
        ({"\ue000": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\ue000":1}'.encode()),
    ],
)
def test_where_python_and_jcs_differ_the_hash_follows_jcs(value, jcs):
    assert canonical(value) == jcs
    python = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert python.encode() != jcs
    assert canonical(value, 1) == python.encode(), "format 1 stays Python's encoding"


def test_control_characters_quotes_and_separators_are_escaped_as_jcs_says():
    assert canonical({"s": '\u2028\x1f"\\\n'}) == b'{"s":"\xe2\x80\xa8\\u001f\\"\\\\\\n"}'


def test_a_new_entry_hashes_the_jcs_bytes_of_its_body_with_its_format(engine):
    engine.open(seed.WORKFLOW, "F-1", actor=seed.OUTREACH)
    engine.record("F-1", "home_visit", actor=seed.WORKER, data={"weight_kg": 51.5})
    for entry in engine.trail("F-1"):
        body = entry.to_json()
        claimed = body.pop("hash")
        assert body["format"] == FORMAT == 2
        assert claimed == hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def _format_1_lines() -> list[str]:
    return FORMAT_1_TRAIL.read_text(encoding="utf-8").splitlines()


def test_a_trail_written_in_format_1_still_verifies():
    trail = read_jsonl(_format_1_lines(), source=FORMAT_1_TRAIL.name)
    assert {e.format for e in trail} == {1}
    assert len(trail) == 24
    assert verify(trail).ok
    first = json.loads(_format_1_lines()[0])
    claimed = first.pop("hash")
    assert (
        claimed
        == hashlib.sha256(
            json.dumps(first, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
    )


def test_a_format_1_entry_edited_is_still_caught():
    trail = read_jsonl(_format_1_lines())
    edited = [*trail[:3], attrs.evolve(trail[3], reason="rewritten", hash=trail[3].hash)]
    checked = verify([*edited, *trail[4:]])
    assert (checked.ok, checked.broken_at) == (False, 4)


@pytest.mark.parametrize("kind", stores.KINDS)
def test_a_case_imported_in_format_1_goes_on_in_format_2_and_verifies(
    kind, seed_workflow, tmp_path
):
    with stores.make_store(kind, tmp_path) as store:
        _import_and_go_on(Engine([seed_workflow], store=store, clock=ManualClock(START)))


def _import_and_go_on(engine: Engine) -> None:
    seed_workflow = engine.workflow(seed.WORKFLOW)
    engine.import_trail(_format_1_lines()[:10])
    case_id = seed.CASE_ID
    engine.record(case_id, "home_visit", actor=seed.WORKER, data={"weight_kg": 51.5})
    trail = engine.trail(case_id)
    assert [e.format for e in trail] == [1] * 10 + [2]
    assert engine.verify(case_id).ok
    out: list[str] = []
    export_jsonl(trail, _Lines(out), workflow=seed_workflow, include_personal=True)
    assert read_jsonl(out) == tuple(trail)


class _Lines:
    def __init__(self, out: list[str]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.append(text)
        return len(text)


@pytest.mark.parametrize("bad", [0, 3, "2", True, None])
def test_an_unknown_format_is_a_broken_trail_naming_the_line(bad):
    lines = _format_1_lines()
    raw = json.loads(lines[1])
    raw["format"] = bad
    lines[1] = json.dumps(raw)
    with pytest.raises(TrailBroken, match=r"input, line 2: unknown entry format"):
        read_jsonl(lines)


def test_the_format_is_part_of_what_the_hash_covers():
    entry = read_jsonl(_format_1_lines())[2]
    relabelled = attrs.evolve(entry, format=2, hash=entry.hash)
    assert relabelled.computed_hash() != entry.hash
    assert not verify([*read_jsonl(_format_1_lines())[:2], relabelled]).ok
