"""verify: each of its checks catches, alone, the forgery only it can see.

The forgeries here recompute every hash after the change, as someone with write access
and the library's code could, so the hash check cannot catch them: only the check under
test can, and it must name the entry and the reason.
"""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import EntryKind, verify
from casework_flow._audit import genesis_hash
from casework_flow.audit import AuditEntry, ChainHead
from casework_flow.exceptions import TrailBroken

from .test_evolve import TRAIL


def rehashed(trail: list[AuditEntry], start: int = 0) -> list[AuditEntry]:
    """The trail with every hash from ``start`` on recomputed and relinked."""
    out = list(trail[:start])
    for entry in trail[start:]:
        prev = out[-1].hash if out else genesis_hash(entry.case_id)
        linked = attrs.evolve(entry, prev_hash=prev)
        out.append(attrs.evolve(linked, hash=linked.computed_hash()))
    return out


def forged(index: int, **changes: object) -> list[AuditEntry]:
    """TRAIL with entry ``index`` changed and the chain recomputed from it."""
    trail = list(TRAIL)
    trail[index] = attrs.evolve(trail[index], **changes)  # type: ignore[arg-type]
    return rehashed(trail, index)


def problem(trail: list[AuditEntry], head: ChainHead | None = None) -> tuple[int | None, str]:
    result = verify(trail, head=head)
    assert not result.ok
    assert result.problem is not None
    return result.broken_at, result.problem


def test_the_untouched_story_verifies_and_raises_nothing():
    result = verify(TRAIL, head=TRAIL[-1].head)
    assert result.ok
    result.raise_if_broken()
    assert result.head == TRAIL[-1].head


def test_an_entry_of_another_case_in_the_chain():
    assert problem(forged(2, case_id="FW-9")) == (3, "entry belongs to case 'FW-9'")


def test_an_entry_out_of_its_place_in_the_sequence():
    assert problem(forged(2, seq=7)) == (
        3, "expected entry 3 here, found entry 7: entries were removed, inserted or reordered",
    )  # fmt: skip


def test_an_entry_that_does_not_link_to_the_one_before():
    trail = list(TRAIL)
    bad = attrs.evolve(trail[2], prev_hash="0" * 64)
    trail[2] = attrs.evolve(bad, hash=bad.computed_hash())
    assert problem(rehashed(trail, 3)) == (3, "it does not link to the entry before it")


def test_an_altered_entry():
    trail = list(TRAIL)
    trail[1] = attrs.evolve(trail[1], reason="edited afterwards")
    assert problem(trail) == (2, "its content does not match its hash: it was altered")


def test_openings_only_first():
    assert problem(forged(2, kind=EntryKind.OPENED)) == (3, "a second opening")
    assert problem(forged(0, kind=EntryKind.TRANSITION)) == (
        1, "the trail does not start with the opening",
    )  # fmt: skip


def test_the_known_head():
    last = TRAIL[-1]
    assert problem(TRAIL, ChainHead(0, last.hash)) == (
        1, "the known head names entry 0, which cannot exist",
    )  # fmt: skip
    assert problem(TRAIL[:-1], last.head)[0] == last.seq
    assert problem(TRAIL, ChainHead(last.seq, "f" * 64)) == (
        last.seq, "it differs from the known head: the trail was rewritten",
    )  # fmt: skip


def test_an_empty_trail_and_a_broken_one_raise_when_asked():
    assert problem([]) == (1, "the trail is empty; it must start with the opening")
    with pytest.raises(TrailBroken, match="entry 3"):
        verify(forged(2, case_id="FW-9")).raise_if_broken()


@settings(max_examples=100)
@given(index=st.integers(0, len(TRAIL) - 1), field=st.sampled_from(["case_id", "seq", "kind"]))
def test_any_structural_forgery_is_reported_at_the_entry_it_touched(index, field):
    entry = TRAIL[index]
    value = {"case_id": "FW-9", "seq": entry.seq + 5, "kind": EntryKind.OPENED}[field]
    if field == "kind" and index == 0:
        value = EntryKind.RECORDED
    trail = forged(index, **{field: value})
    if field == "case_id" and index == 0:
        assert problem(trail)[0] == 2
    else:
        assert problem(trail)[0] == index + 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"at": "2024-05-06T02:00:00"}, "has no timezone"),
        ({"actor": {"id": 7, "roles": []}}, "expected a string"),
        ({"seq": True}, "expected an integer"),
        ({"format": 99}, "unknown entry format 99"),
    ],
)
def test_an_unreadable_entry_is_a_broken_trail_naming_what_is_wrong(change, why):
    raw = {**json.loads(json.dumps(TRAIL[1].to_json())), **change}
    with pytest.raises(TrailBroken, match=why):
        AuditEntry.from_json(raw)


def test_a_malformed_entry_is_named_by_its_sequence_number_when_it_has_one():
    raw = json.loads(json.dumps(TRAIL[2].to_json()))
    del raw["event"]
    with pytest.raises(TrailBroken) as caught:
        AuditEntry.from_json(raw)
    assert caught.value.seq == 3
    raw["format"] = 2
    with pytest.raises(TrailBroken) as unknown:
        AuditEntry.from_json(raw)
    assert unknown.value.seq == 3
    with pytest.raises(TrailBroken) as nameless:
        AuditEntry.from_json({**raw, "format": 1, "seq": "three"})
    assert nameless.value.seq is None
    with pytest.raises(TrailBroken) as naive:
        AuditEntry.from_json({**raw, "event": "x", "format": 1, "at": "2024-05-06T02:00:00"})
    assert "at:" in str(naive.value)
