"""The tamper matrix: what someone with write access to the database can do, and what sees it.

Each kind of tampering is done with raw SQL on SQLite and PostgreSQL, as a database
administrator would, to a case the seed story moved a few steps. `Engine.verify` reads
everything the store holds of the case; what it cannot see without a head kept outside
the database (a consistent rewrite of trail, head and case row; a case deleted
outright) is listed in `NEEDS_OUTSIDE_HEAD` and pinned as passing unnoticed, so that the
docs' claims stay true.
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
            "INSERT INTO casework_entries VALUES (?, ?, ?)", case_id or entry.case_id,
            entry.seq, body,
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
            "INSERT INTO casework_entries VALUES (?, ?, ?)", "C-1", seq, json.dumps(e.to_json())
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
        "INSERT INTO casework_entries VALUES (?, ?, ?)", "C-1", last.seq + 1,
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


@pytest.fixture(params=["sqlite", "postgres"])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Raw]]:
    clock = ManualClock(START)
    if request.param == "sqlite":
        path = tmp_path / "cases.sqlite3"
        with SQLiteStore(path) as store, sqlite3.connect(path) as conn:
            yield _played(store, clock), Raw(conn, pg=False)
    else:
        with pg_schema() as dsn, PostgresStore(dsn) as store, psycopg.connect(dsn) as conn:
            yield _played(store, clock), Raw(conn, pg=True)


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
    case_id = "C-2" if kind == "trail moved to another case" else "C-1"
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
