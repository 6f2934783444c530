"""The audit trail: hashing, JSON form, and detection of every kind of tampering."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import attrs
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import Actor, AuditEntry, Engine, EntryKind, ManualClock, verify
from casework_flow._audit import build_entry, genesis_hash
from casework_flow._canonical import canonical
from casework_flow._frozen import freeze
from casework_flow.audit import ABSENT, ChainHead, Change
from casework_flow.exceptions import TrailBroken
from casework_flow.guards import CheckKind, Verdict

from .conftest import START, load_example
from .values import json_values, texts

seed = load_example("medan_street_beggar")


def story_trail() -> tuple[AuditEntry, ...]:
    clock = ManualClock(START)
    engine = Engine([seed.build_workflow()], clock=clock)
    seed.play(engine, clock)
    return tuple(engine.trail(seed.CASE_ID))


STORY = story_trail()
HEAD = STORY[-1].head


def test_the_story_trail_verifies_and_reports_its_head():
    result = verify(STORY, head=HEAD)
    assert (result.ok, result.entries, result.head, result.broken_at) == (
        True,
        len(STORY),
        HEAD,
        None,
    )
    result.raise_if_broken()
    assert [e.seq for e in STORY] == list(range(1, len(STORY) + 1))
    assert STORY[0].prev_hash == genesis_hash(seed.CASE_ID)
    assert {e.kind for e in STORY} == {
        EntryKind.OPENED,
        EntryKind.TRANSITION,
        EntryKind.REFUSED,
        EntryKind.APPROVAL_REQUESTED,
        EntryKind.HANDOVER_SENT,
        EntryKind.HANDOVER_ANSWERED,
    }


def test_the_hash_is_sha256_over_the_canonical_body():
    e = STORY[3]
    body = e.body()
    assert "hash" not in body
    assert e.hash == hashlib.sha256(canonical(body)).hexdigest()
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_entries_round_trip_through_json_lines():
    lines = [json.dumps(e.to_json()) for e in STORY]
    back = tuple(AuditEntry.from_json(json.loads(line)) for line in lines)
    assert back == STORY
    assert verify(back, head=HEAD).ok


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.pop("seq"),
        lambda d: d.update(seq="2"),
        lambda d: d.update(at="2024-03-04T08:00:00"),
        lambda d: d.update(kind="deleted"),
        lambda d: d.update(format=9),
        lambda d: d["actor"].pop("roles"),
    ],
)
def test_malformed_json_entries_raise_trail_broken(mangle):
    raw = STORY[1].to_json()
    mangle(raw)
    with pytest.raises(TrailBroken):
        AuditEntry.from_json(raw)


def test_a_broken_trail_names_the_entry_and_raises_when_asked():
    tampered = list(STORY)
    tampered[4] = attrs.evolve(tampered[4], reason="nothing to see")
    result = verify(tampered, head=HEAD)
    assert (result.ok, result.broken_at) == (False, 5)
    assert result.problem == "its content does not match its hash: it was altered"
    with pytest.raises(TrailBroken, match="at entry 5: its content does not match"):
        result.raise_if_broken()


def test_truncation_is_only_visible_against_a_known_head():
    short = STORY[:-2]
    assert verify(short).ok
    result = verify(short, head=HEAD)
    assert not result.ok
    assert result.broken_at == len(STORY) - 1
    assert "entries were removed from the end" in (result.problem or "")
    assert not verify(STORY, head=ChainHead(0, "x")).ok
    assert not verify((), head=HEAD).ok


def test_a_trail_cannot_be_passed_off_as_another_cases():
    rewritten = [attrs.evolve(e, case_id="MDN-2024-0999") for e in STORY]
    assert not verify(rewritten).ok


def _edit(entry: AuditEntry, which: int) -> AuditEntry:
    edits: list[dict[str, Any]] = [
        {"seq": entry.seq + 1},
        {"at": entry.at + timedelta(microseconds=1)},
        {"actor_id": entry.actor_id + "x"},
        {"actor_roles": (*entry.actor_roles, "supervisor")},
        {"event": entry.event + "_x"},
        {"to_state": "closed_left"},
        {"from_state": "nowhere"},
        {"reason": (entry.reason or "") + "!"},
        {"reason_code": "FORGED"},
        {"changes": ()}
        if entry.changes
        else {"changes": (*entry.changes, attrs.evolve(STORY[1].changes[0]))},
        {"evidence": {**entry.evidence, "forged": "DOC"}},
        {"verdicts": (*entry.verdicts, Verdict(CheckKind.GUARD, "x", True, "forged"))},
        {"workflow_version": entry.workflow_version + 1},
        {"assignee": "someone-else"},
        {
            "kind": EntryKind.REFUSED
            if entry.kind is not EntryKind.REFUSED
            else EntryKind.TRANSITION
        },
        {"prev_hash": "0" * 64},
        {"hash": "0" * 64},
        {"case_id": entry.case_id + "-x"},
        {"timer": (entry.timer or "") + "forged"},
        {"details": {**entry.details, "approved_by": "forged"}},
    ]
    return attrs.evolve(entry, **edits[which % len(edits)])


EDITS = 20


@settings(max_examples=300)
@given(st.data())
def test_every_single_edit_deletion_insertion_swap_or_truncation_is_detected(data):
    n = len(STORY)
    kind = data.draw(st.sampled_from(["edit", "delete", "insert", "swap", "truncate"]))
    trail = list(STORY)
    first_bad = 1
    if kind == "edit":
        i = data.draw(st.integers(0, n - 1))
        trail[i] = _edit(trail[i], data.draw(st.integers(0, EDITS - 1)))
        first_bad = i + 1
    elif kind == "delete":
        i = data.draw(st.integers(0, n - 1))
        del trail[i]
        first_bad = i + 1
    elif kind == "insert":
        i = data.draw(st.integers(0, n))
        j = data.draw(st.integers(0, n - 1))
        trail.insert(i, STORY[j])
        first_bad = i + 1
    elif kind == "swap":
        i, j = sorted(
            data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
        )
        trail[i], trail[j] = trail[j], trail[i]
        first_bad = i + 1
    else:
        k = data.draw(st.integers(0, n - 1))
        trail = trail[:k]
        first_bad = k + 1
    result = verify(trail, head=HEAD)
    assert not result.ok
    assert result.broken_at is not None
    assert result.broken_at <= max(first_bad + 1, 1) or kind == "truncate"
    assert result.problem


@settings(max_examples=300)
@given(
    base=st.sampled_from(STORY),
    text=texts,
    after=json_values,
    before=st.one_of(st.just(ABSENT), json_values),
    docs=st.dictionaries(texts.filter(bool), texts.filter(bool), max_size=3),
    details=st.dictionaries(texts.filter(bool), texts, max_size=3),
)
def test_the_hash_covers_the_canonical_body_of_any_content(  # noqa: PLR0917 - drawn
    base, text, after, before, docs, details
):
    """One definition: the hash is SHA-256 of the body's RFC 8785 bytes; any change moves it."""
    entry = build_entry(
        case_id=base.case_id,
        seq=base.seq,
        kind=base.kind,
        at=base.at,
        actor=Actor(text or "x", {"social_worker"}),
        event=base.event,
        from_state=base.from_state,
        to_state=base.to_state,
        workflow=base.workflow,
        workflow_version=base.workflow_version,
        prev_hash=base.prev_hash,
        assignee=text or None,
        reason=text,
        reason_code=text or None,
        changes=(Change(text, freeze(after), freeze(before) if before is not ABSENT else ABSENT),),
        evidence=docs,
        verdicts=(Verdict(CheckKind.GUARD, text, passed=bool(text), why=text, dest=text or None),),
        timer=text or None,
        details=details,
    )
    assert entry.hash == hashlib.sha256(rfc8785.dumps(entry.body())).hexdigest()
    assert AuditEntry.from_json(json.loads(json.dumps(entry.to_json()))) == entry
    assert json.loads(entry.stored_text()) == entry.to_json()
    read_back = AuditEntry.from_json(json.loads(entry.stored_text()))
    assert read_back == entry
    assert json.loads(read_back.stored_text()) == entry.to_json()
    changed = attrs.evolve(entry, reason=f"{text}!")
    assert changed.computed_hash() != entry.hash
    assert json.loads(changed.stored_text()) == {**entry.to_json(), "reason": f"{text}!"}
