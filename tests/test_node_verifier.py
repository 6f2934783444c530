"""The Node verifier agrees with the library on trails it did not write the code for."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import Engine, ManualClock, seed
from casework_flow.audit import export_jsonl
from casework_flow.checkpoints import write_checkpoint

from . import node
from .conftest import START
from .test_trail_format import FORMAT_1_TRAIL
from .values import json_values, texts

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_a_format_1_trail_verifies_in_node():
    verdict = node.verify(str(FORMAT_1_TRAIL))
    assert verdict == {
        "ok": True, "case_id": seed.CASE_ID, "entries": 24, "broken_at": None, "problem": None,
    }  # fmt: skip


def test_an_edited_line_of_it_does_not(tmp_path):
    lines = FORMAT_1_TRAIL.read_text(encoding="utf-8").splitlines()
    raw = json.loads(lines[5])
    raw["reason"] = "rewritten"
    lines[5] = json.dumps(raw)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines), encoding="utf-8")
    verdict = node.verify(str(edited))
    assert (verdict["ok"], verdict["broken_at"]) == (False, 6)
    assert verdict["problem"] == "its content does not match its hash"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(texts.filter(bool).map(lambda t: f"x_{t}"), json_values, max_size=4))
def test_any_data_a_case_holds_hashes_the_same_in_node(seed_workflow, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("node")
    clock = ManualClock(START)
    engine = Engine([seed_workflow], clock=clock)
    engine.open(seed.WORKFLOW, "N-1", actor=seed.OUTREACH, assignee=seed.WORKER.id)
    engine.record("N-1", "home_visit", actor=seed.WORKER, data={"notes": data})
    checkpoint = engine.checkpoint(KEY)
    out = io.StringIO()
    export_jsonl(engine.trail("N-1"), out, workflow=seed_workflow, include_personal=True)
    trail = folder / "trail.jsonl"
    trail.write_text(out.getvalue(), encoding="utf-8")
    cp = write_checkpoint(checkpoint, folder / "cp.jsonl")
    pub = node.public_pem(KEY, folder)
    verdict = node.verify("--checkpoint", str(cp), "--public-key", str(pub), str(trail))
    assert verdict["ok"], verdict


def test_a_checkpoint_signed_by_another_key_is_refused_in_node(seed_workflow, tmp_path):
    engine = Engine([seed_workflow], clock=ManualClock(START))
    engine.open(seed.WORKFLOW, "N-1", actor=seed.OUTREACH)
    cp = write_checkpoint(engine.checkpoint(KEY), tmp_path / "cp.jsonl")
    other = node.public_pem(Ed25519PrivateKey.from_private_bytes(bytes(32)), tmp_path)
    trail = tmp_path / "t.jsonl"
    trail.write_text(json.dumps(engine.trail("N-1")[0].to_json()) + "\n", encoding="utf-8")
    verdict = node.verify("--checkpoint", str(cp), "--public-key", str(other), str(trail))
    assert verdict["problem"] == "the checkpoint was signed by another key"
    lines = Path(cp).read_text().splitlines()
    header = json.loads(lines[0])
    header["size"] = 2
    Path(cp).write_text("\n".join([json.dumps(header), *lines[1:]]))
    pub = node.public_pem(KEY, tmp_path)
    verdict = node.verify("--checkpoint", str(cp), "--public-key", str(pub), str(trail))
    assert verdict["problem"] == "the checkpoint's signature does not verify"


@pytest.mark.parametrize("line", ["{not json", ""])
def test_an_unreadable_or_empty_trail_is_broken_in_node(tmp_path, line):
    trail = tmp_path / "t.jsonl"
    trail.write_text(line, encoding="utf-8")
    assert node.verify(str(trail))["ok"] is False


def test_a_sealed_and_erased_trail_verifies_in_node_with_no_key(seed_workflow, tmp_path):
    import os  # noqa: PLC0415

    from casework_flow import Actor  # noqa: PLC0415
    from casework_flow.keys import InMemoryKeyStore, is_sealed  # noqa: PLC0415

    clock = ManualClock(START)
    engine = Engine([seed_workflow], clock=clock, keys=InMemoryKeyStore(os.urandom(32)))
    engine.open(seed.WORKFLOW, "N-2", actor=seed.OUTREACH, assignee=seed.WORKER.id,
                data={"client_alias": "Budi", "found_at": "Jl. Gatot Subroto"})  # fmt: skip
    spv, deputy = Actor("spv-1", {"supervisor"}), Actor("spv-2", {"supervisor"})
    engine.erase("N-2", actor=spv, second=deputy, reason="Asked to.", override=True)
    trail = engine.trail("N-2")
    assert all(is_sealed(c.after) for c in trail[0].changes)
    out = io.StringIO()
    export_jsonl(trail, out, workflow=seed_workflow, include_personal=True)
    path = tmp_path / "erased.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    verdict = node.verify(str(path))
    assert (verdict["ok"], verdict["entries"]) == (True, 2)
    assert "Budi" not in out.getvalue()
