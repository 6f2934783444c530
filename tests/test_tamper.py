"""The tamper matrix: what someone with write access to the database can do, and what sees it.

Each kind of tampering is done with raw SQL on SQLite and PostgreSQL, as a database
administrator would, to a case the seed story moved a few steps. The columns:

- `Engine.verify` alone reads everything the store holds of the case; what it cannot see
  without a head kept outside the database (a consistent rewrite of trail, head and case
  row; a case deleted outright) is listed in `NEEDS_OUTSIDE_HEAD` and pinned as passing
  unnoticed, so that the docs' claims stay true;
- with a signed checkpoint taken before the tampering, `Engine.verify`,
  `Engine.verify_store` and ``casework-flow verify DB --checkpoint`` see every kind;
- the Node verifier (``tests/verify_trail.mjs``, written from the format page alone),
  given the case's rows as JSON Lines, the head its row records and the checkpoint,
  sees every kind but an edit of the case row's data (`NODE_CANNOT_FOLD`): telling that
  apart needs the workflow, to fold the trail.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casework_flow import (
    Engine,
    ManualClock,
    PostgresStore,
    SQLiteStore,
    UnknownCase,
    replay,
)
from casework_flow import seed as demo
from casework_flow._audit import genesis_hash
from casework_flow.audit import AuditEntry
from casework_flow.checkpoints import Checkpoint, write_checkpoint
from casework_flow.cli import main as cli

from . import node
from .stores import pg_schema

SEED = demo.build_workflow()
START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)


class Raw:
    """A raw connection to the store's database, with ``?`` placeholders on both."""

    def __init__(self, conn: Any, *, pg: bool) -> None:
        self.conn = conn
        self.pg = pg

    def run(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql.replace("?", "%s") if self.pg else sql, params)
        rows = cur.fetchall() if cur.description else []
        self.conn.commit()
        return rows

    def entries(self, case_id: str) -> list[AuditEntry]:
        rows = self.run("SELECT body FROM casework_entries WHERE case_id = ? ORDER BY seq", case_id)
        return [AuditEntry.from_json(json.loads(r[0])) for r in rows]

    def put(self, entry: AuditEntry, case_id: str | None = None) -> None:
        body = json.dumps(entry.to_json())
        self.run(
            "INSERT INTO casework_entries (case_id, seq, body) VALUES (?, ?, ?)",
            case_id or entry.case_id, entry.seq, body,
        )  # fmt: skip

    def replace(self, entry: AuditEntry, seq: int | None = None) -> None:
        self.run(
            "UPDATE casework_entries SET body = ? WHERE case_id = ? AND seq = ?",
            json.dumps(entry.to_json()), entry.case_id, entry.seq if seq is None else seq,
        )  # fmt: skip


def rehashed(entry: AuditEntry, **changes: object) -> AuditEntry:
    """The entry with ``changes``, its hash recomputed as a forger would."""
    changed = attrs.evolve(entry, **changes)  # type: ignore[arg-type]
    return attrs.evolve(changed, hash=changed.computed_hash())


def relinked(entries: list[AuditEntry]) -> list[AuditEntry]:
    """A consistent chain over ``entries`` (seq and links recomputed)."""
    out: list[AuditEntry] = []
    prev = genesis_hash(entries[0].case_id)
    for seq, e in enumerate(entries, 1):
        e2 = rehashed(e, seq=seq, prev_hash=prev)
        out.append(e2)
        prev = e2.hash
    return out


def _edit_field(raw: Raw) -> None:
    e = raw.entries("C-1")[2]
    raw.replace(attrs.evolve(e, actor_id="spv-999"))


def _delete(raw: Raw) -> None:
    raw.run("DELETE FROM casework_entries WHERE case_id = ? AND seq = 3", "C-1")


def _insert(raw: Raw) -> None:
    entries = raw.entries("C-1")
    forged = rehashed(entries[2], reason="backdated note")
    raw.run("DELETE FROM casework_entries WHERE case_id = ?", "C-1")
    for seq, e in enumerate([*entries[:3], forged, *entries[3:]], 1):
        raw.run(
            "INSERT INTO casework_entries (case_id, seq, body) VALUES (?, ?, ?)",
            "C-1",
            seq,
            json.dumps(e.to_json()),
        )


def _swap(raw: Raw) -> None:
    entries = raw.entries("C-1")
    raw.replace(entries[3], seq=3)
    raw.replace(entries[2], seq=4)


def _truncate(raw: Raw) -> None:
    raw.run("DELETE FROM casework_entries WHERE case_id = ? AND seq > 4", "C-1")


def _consistent_rewrite(raw: Raw) -> None:
    entries = raw.entries("C-1")
    kept = relinked(entries[:4])
    raw.run("DELETE FROM casework_entries WHERE case_id = ?", "C-1")
    for e in kept:
        raw.put(e)
    folded = replay(SEED, kept, calendar=demo.CALENDAR)
    raw.run(
        "UPDATE casework_cases SET head_seq = ?, head_hash = ?, state = ?, revision = ?,"
        " body = ? WHERE id = ?",
        kept[-1].seq, kept[-1].hash, folded.state, folded.revision,
        json.dumps(folded.to_json()), "C-1",
    )  # fmt: skip


def _forged_tail(raw: Raw) -> None:
    entries = raw.entries("C-1")
    last = entries[-1]
    raw.put(rehashed(last, seq=last.seq + 1, prev_hash=last.hash, reason="forged"))


def _moved(raw: Raw) -> None:
    entries = raw.entries("C-1")
    head = raw.run("SELECT head_seq, head_hash FROM casework_cases WHERE id = ?", "C-1")[0]
    raw.run("DELETE FROM casework_entries WHERE case_id = ?", "C-2")
    for e in entries:
        raw.put(e, "C-2")
    raw.run("UPDATE casework_cases SET head_seq = ?, head_hash = ? WHERE id = ?", *head, "C-2")


def _case_row(raw: Raw) -> None:
    body = json.loads(raw.run("SELECT body FROM casework_cases WHERE id = ?", "C-1")[0][0])
    body["data"]["age"] = 17
    raw.run("UPDATE casework_cases SET body = ? WHERE id = ?", json.dumps(body), "C-1")


def _corrupt(raw: Raw) -> None:
    raw.run(
        "UPDATE casework_entries SET body = ? WHERE case_id = ? AND seq = 2", "{not json", "C-1"
    )


def _head_row(raw: Raw) -> None:
    raw.run("UPDATE casework_cases SET head_hash = ? WHERE id = ?", "0" * 64, "C-1")


def _case_deleted(raw: Raw) -> None:
    raw.run("DELETE FROM casework_entries WHERE case_id = ?", "C-1")
    raw.run("DELETE FROM casework_cases WHERE id = ?", "C-1")


def _duplicated(raw: Raw) -> None:
    last = raw.entries("C-1")[-1]
    raw.run(
        "INSERT INTO casework_entries (case_id, seq, body) VALUES (?, ?, ?)", "C-1", last.seq + 1,
        json.dumps(last.to_json()),
    )  # fmt: skip


TAMPERS: dict[str, Callable[[Raw], None]] = {
    "edit a field": _edit_field,
    "delete an entry": _delete,
    "insert an entry": _insert,
    "swap two entries": _swap,
    "truncate": _truncate,
    "consistent rewrite": _consistent_rewrite,
    "forged tail": _forged_tail,
    "trail moved to another case": _moved,
    "case row edited": _case_row,
    "corrupt row": _corrupt,
    "head row edited": _head_row,
    "case deleted": _case_deleted,
    "entry duplicated": _duplicated,
}
NEEDS_OUTSIDE_HEAD = {"consistent rewrite", "case deleted"}
NODE_CANNOT_FOLD = {"case row edited"}
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _target(kind: str) -> str:
    return "C-2" if kind == "trail moved to another case" else "C-1"


@attrs.define
class Stored:
    engine: Engine
    raw: Raw
    db: str
    """The SQLite file or the PostgreSQL DSN, for the command line."""


@pytest.fixture(params=["sqlite", "postgres"])
def stored_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stored]:
    clock = ManualClock(START)
    if request.param == "sqlite":
        path = tmp_path / "cases.sqlite3"
        with SQLiteStore(path) as store, sqlite3.connect(path) as conn:
            yield Stored(_played(store, clock), Raw(conn, pg=False), str(path))
    else:
        with pg_schema() as dsn, PostgresStore(dsn) as store, psycopg.connect(dsn) as conn:
            yield Stored(_played(store, clock), Raw(conn, pg=True), dsn)


@pytest.fixture
def stored(stored_db: Stored) -> tuple[Engine, Raw]:
    return stored_db.engine, stored_db.raw


def _played(store: SQLiteStore | PostgresStore, clock: ManualClock) -> Engine:
    engine = Engine([SEED], store=store, clock=clock, calendar=demo.CALENDAR)
    for case_id in ("C-1", "C-2"):
        engine.open(SEED.name, case_id, actor=demo.OUTREACH, assignee=demo.WORKER.id)
        for step in demo.HAPPY_PATH[:6]:
            clock.advance(days=step[-1], hours=1)
            demo.take(engine, case_id, step)
    assert engine.verify("C-1").ok
    return engine


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_verify_sees_every_tampering_it_can_without_an_outside_head(stored, kind):
    engine, raw = stored
    TAMPERS[kind](raw)
    case_id = _target(kind)
    if kind == "case deleted":
        with pytest.raises(UnknownCase):
            engine.verify(case_id)
        return
    result = engine.verify(case_id)
    if kind in NEEDS_OUTSIDE_HEAD:
        assert result.ok, "the docs say this needs a head kept outside the database"
        return
    assert not result.ok, kind
    assert result.problem
    assert result.case_id == case_id


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_with_a_checkpoint_every_tampering_is_seen(stored_db, kind, tmp_path, capsys):
    engine, raw = stored_db.engine, stored_db.raw
    checkpoint = engine.checkpoint(KEY)
    TAMPERS[kind](raw)
    case_id = _target(kind)
    if kind != "case deleted":
        one = engine.verify(case_id, checkpoint=checkpoint)
        assert not one.ok, kind
        assert one.case_id == case_id
    swept = engine.verify_store(checkpoint=checkpoint)
    assert not swept.ok, kind
    assert case_id in {b.case_id for b in swept.broken}
    assert _cli_verify(stored_db.db, checkpoint, tmp_path) == 1, kind
    assert f"{case_id}: BROKEN" in capsys.readouterr().out
    seen = _node_verify(raw, case_id, checkpoint, tmp_path)
    assert seen["ok"] is (kind in NODE_CANNOT_FOLD), (kind, seen)


def test_untouched_every_column_says_ok(stored_db, tmp_path, capsys):
    engine, raw = stored_db.engine, stored_db.raw
    checkpoint = engine.checkpoint(KEY)
    engine.record("C-1", "home_visit", actor=demo.WORKER)
    assert engine.verify("C-1", checkpoint=checkpoint).ok
    assert engine.verify_store(checkpoint=checkpoint).ok
    assert _cli_verify(stored_db.db, checkpoint, tmp_path) == 0
    assert "ok: 2 cases checked against 1 checkpoint(s)" in capsys.readouterr().out
    for case_id in ("C-1", "C-2"):
        seen = _node_verify(raw, case_id, checkpoint, tmp_path)
        assert seen == {
            "ok": True, "case_id": case_id, "entries": len(raw.entries(case_id)),
            "broken_at": None, "problem": None,
        }  # fmt: skip


def _cli_verify(db: str, checkpoint: Checkpoint, tmp_path: Path) -> int:
    cp_file = write_checkpoint(checkpoint, tmp_path / "cp.jsonl")
    pub = node.public_pem(KEY, tmp_path)
    wf = demo.workflow_path()
    return cli(["verify", db, "--workflow", str(wf), "--checkpoint", str(cp_file),
                "--public-key", str(pub)])  # fmt: skip


def _node_verify(raw: Raw, case_id: str, checkpoint: Checkpoint, tmp_path: Path) -> dict[str, Any]:
    """The case's rows as JSON Lines, its row's head and the checkpoint, to Node."""
    rows = raw.run("SELECT body FROM casework_entries WHERE case_id = ? ORDER BY seq", case_id)
    trail = tmp_path / f"{case_id}.jsonl"
    trail.write_text("".join(r[0] + "\n" for r in rows), encoding="utf-8")
    head = raw.run("SELECT head_seq, head_hash FROM casework_cases WHERE id = ?", case_id)
    cp_file = write_checkpoint(checkpoint, tmp_path / "cp.jsonl")
    args = ["--checkpoint", str(cp_file), "--public-key", str(node.public_pem(KEY, tmp_path))]
    args += ["--case", case_id]
    if head:
        args += ["--head", f"{head[0][0]}:{head[0][1]}"]
    return node.verify(*args, str(trail))


def test_what_each_kind_breaks_is_named(stored):
    engine, raw = stored
    _forged_tail(raw)
    assert "past the known head" in (engine.verify("C-1").problem or "")
    _moved(raw)
    assert engine.verify("C-2").problem == "entry belongs to case 'C-1'"
    _case_row(raw)
    _truncate(raw)  # C-1's tail goes, its head stays: the trail is short of its head
    assert engine.verify("C-1").broken_at == 5
    raw.run("UPDATE casework_cases SET head_seq = 4, head_hash = ? WHERE id = ?",
            raw.entries("C-1")[-1].hash, "C-1")  # fmt: skip
    problem = engine.verify("C-1").problem or ""
    assert problem.startswith("the stored case differs from the fold of its trail in")
    _corrupt(raw)
    broken = engine.verify("C-1")
    assert (broken.ok, broken.broken_at) == (False, 2)
    assert "cannot be read" in (broken.problem or "")


def test_a_consistent_rewrite_the_workflow_cannot_have_made_is_caught_by_the_fold(stored):
    engine, raw = stored
    entries = raw.entries("C-1")
    forged = relinked([*entries[:3], attrs.evolve(entries[3], to_state="closed_declined")])
    raw.run("DELETE FROM casework_entries WHERE case_id = ?", "C-1")
    for e in forged:
        raw.put(e)
    raw.run(
        "UPDATE casework_cases SET head_seq = ?, head_hash = ? WHERE id = ?",
        forged[-1].seq, forged[-1].hash, "C-1",
    )  # fmt: skip
    result = engine.verify("C-1")
    assert (result.ok, result.broken_at) == (False, 4)
    assert "the workflow has no" in (result.problem or "")


def test_a_store_that_cannot_be_reached_is_an_error_not_a_broken_trail():
    from casework_flow import InMemoryStore  # noqa: PLC0415
    from casework_flow.exceptions import StoreError  # noqa: PLC0415

    class Down(InMemoryStore):
        def trail(self, case_id: str):  # type: ignore[no-untyped-def]
            raise StoreError("the database is down; nothing was read", case_id=case_id)

    engine = Engine([SEED], store=Down(), clock=ManualClock(START))
    engine.open(SEED.name, "C-1", actor=demo.OUTREACH)
    with pytest.raises(StoreError, match="the database is down"):
        engine.verify("C-1")


def test_a_case_row_deleted_under_its_entries_is_seen_without_a_checkpoint(stored):
    engine, raw = stored
    raw.run("DELETE FROM casework_cases WHERE id = ?", "C-1")
    swept = engine.verify_store()
    assert (swept.ok, swept.checked) == (False, 1)
    assert [(b.case_id, b.problem) for b in swept.broken] == [
        ("C-1", "the store holds entries of this case but no case row: the case was deleted")
    ]


def test_a_sweep_names_the_unreadable_row_and_goes_on(stored):
    engine, raw = stored
    _corrupt(raw)
    swept = engine.verify_store()
    assert [(b.case_id, b.broken_at) for b in swept.broken] == [("C-1", 2)]
    assert "stored entry 2 of C-1 cannot be read" in (swept.broken[0].problem or "")
    assert swept.checked == 2


def test_a_rewrite_in_place_is_named_by_the_checkpoint(stored):
    engine, raw = stored
    checkpoint = engine.checkpoint(KEY)
    entries = raw.entries("C-1")
    forged = relinked([*entries[:2], attrs.evolve(entries[2], reason="rewritten"), *entries[3:]])
    for e in forged:
        raw.replace(e)
    raw.run("UPDATE casework_cases SET head_hash = ? WHERE id = ?", forged[-1].hash, "C-1")
    assert engine.verify("C-1").ok, "without the checkpoint, nothing shows"
    result = engine.verify("C-1", checkpoint=checkpoint)
    assert (result.ok, result.broken_at) == (False, len(forged))
    assert result.problem == (
        f"entry {len(forged)} is not the one the checkpoint of {checkpoint.at.isoformat()}"
        " signed: the trail was rewritten"
    )


def test_an_unreadable_case_row_is_named_by_the_sweep(stored):
    engine, raw = stored
    raw.run("UPDATE casework_cases SET body = ? WHERE id = ?", "{not json", "C-1")
    swept = engine.verify_store()
    assert [b.case_id for b in swept.broken] == ["C-1"]
    assert "the stored case C-1 cannot be read" in (swept.broken[0].problem or "")


def test_a_row_edited_after_it_was_read_is_read_again_as_edited(stored):
    engine, raw = stored
    before = engine.trail("C-1")[2]
    _edit_field(raw)
    after = engine.trail("C-1")[2]
    assert before.actor_id != "spv-999"
    assert after.actor_id == "spv-999"
    assert not engine.verify("C-1").ok
