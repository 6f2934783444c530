"""Personal values sealed at rest: ciphertext in every table, hashes over it, keys apart.

A child-protection case holds the child's name and age (personal). With a key store,
the values are sealed before the entries are hashed: the raw database holds none of
them, the trail verifies and replays with no key at all, the engine shows them open,
guards read them, and destroying the case's key leaves them erased for good while the
chain still verifies.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Approval,
    Engine,
    InMemoryStore,
    ManualClock,
    PostgresStore,
    SQLiteStore,
    State,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
    verify,
)
from casework_flow._sealing import PREFIX, Sealing
from casework_flow.audit import (
    Access,
    AccessLog,
    InMemoryAccessLog,
    PostgresAccessLog,
    SQLiteAccessLog,
    export_jsonl,
)
from casework_flow.exceptions import (
    CaseExists,
    InvalidInput,
    KeyMissing,
    KeysMismatch,
    StoreError,
)
from casework_flow.guards import fact
from casework_flow.keys import (
    ERASED,
    InMemoryKeyStore,
    PostgresKeyStore,
    SQLiteKeyStore,
    is_sealed,
)
from casework_flow.stores import Store

from .conftest import START
from .stores import KINDS, make_store, pg_schema

NAME, ALIAS = "Siti Rahmawati", "Anak S."
TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
"""What a data value may hold: no lone surrogate, no NUL (the inputs refuse both)."""
CHILD = Workflow(
    name="neglected-child",
    version=1,
    initial="reported",
    personal={"child_name", "age", "birth_certificate"},
    states=[State("reported"), State("placed"), State("closed", terminal=True)],
    transitions=[
        Transition(
            "place", source="reported", dest="placed", roles={"social_worker"},
            requires=("child_name",), guard=fact("age") < 18,
            approval=Approval({"supervisor"}),
        ),
        Transition("close", source="placed", dest="closed", roles={"social_worker"}),
    ],
)  # fmt: skip
SW = Actor("sw-017", {"social_worker"})
SPV = Actor("spv-002", {"supervisor"})


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def _engine(store: Store, keys: InMemoryKeyStore) -> Engine:
    return Engine([CHILD], store=store, clock=ManualClock(START), keys=keys)


def _placed(engine: Engine) -> str:
    case = engine.open(
        CHILD.name, "C-1", actor=SW, assignee=SW.id, data={"age": 11, "alias": ALIAS}
    )
    engine.fire(case.id, "place", actor=SW, data={"child_name": NAME},
                evidence={"birth_certificate": "AKTA-3175-2013-0042"})  # fmt: skip
    engine.approve(case.id, actor=SPV)
    return case.id


def test_the_engine_shows_open_what_the_store_keeps_sealed(store):
    engine = _engine(store, InMemoryKeyStore(os.urandom(32)))
    case_id = _placed(engine)
    case = engine.get(case_id)
    assert (case.state, case.data["child_name"], case.data["age"]) == ("placed", NAME, 11)
    assert case.data["alias"] == ALIAS
    assert case.evidence["birth_certificate"] == "AKTA-3175-2013-0042"
    kept = store.load(case_id).case
    assert is_sealed(kept.data["child_name"])
    assert is_sealed(kept.data["age"])
    assert is_sealed(kept.evidence["birth_certificate"])
    assert kept.data["alias"] == ALIAS


def test_the_trail_verifies_and_replays_with_no_key(store):
    engine = _engine(store, InMemoryKeyStore(os.urandom(32)))
    case_id = _placed(engine)
    trail = engine.trail(case_id)
    snap = store.load(case_id)
    verify(trail, head=snap.head).raise_if_broken()
    assert replay(CHILD, trail, head=snap.head) == snap.case
    values = [str(c.after) for e in trail for c in e.changes]
    assert NAME not in " ".join(values)
    assert all(is_sealed(c.after) for e in trail for c in e.changes if c.field in CHILD.personal)


def test_a_guard_reads_a_sealed_value_and_its_refusal_quotes_none(store):
    engine = _engine(store, InMemoryKeyStore(os.urandom(32)))
    case = engine.open(CHILD.name, "C-2", actor=SW, data={"age": 19})
    with pytest.raises(TransitionRejected) as refused:
        engine.fire(case.id, "place", actor=SW, data={"child_name": NAME})
    assert [r.why for r in refused.value.reasons] == ["age is '***'; less than 18 needed"]
    refusal = engine.trail(case.id)[-1]
    assert [v.why for v in refusal.verdicts] == ["age is '***'; less than 18 needed"]
    assert NAME not in json.dumps(refusal.to_json())


def test_no_personal_value_is_anywhere_in_the_raw_database(tmp_path):
    path = tmp_path / "cases.sqlite3"
    engine = _engine(SQLiteStore(path), InMemoryKeyStore(os.urandom(32)))
    _placed(engine)
    engine.store.close()
    raw = path.read_bytes()
    for secret in (NAME, "AKTA-3175-2013-0042"):
        assert secret.encode() not in raw
    with sqlite3.connect(path) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 - table names from the schema
                assert NAME not in repr(row), table
    assert ALIAS.encode() in raw


def test_without_the_key_the_values_read_as_erased_and_the_chain_still_verifies(store):
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(store, keys)
    case_id = _placed(engine)
    assert keys.destroy(case_id) is True
    case = engine.get(case_id)
    assert case.data["child_name"] == ERASED
    assert case.data["age"] == ERASED
    assert case.data["alias"] == ALIAS
    verify(engine.trail(case_id), head=store.load(case_id).head).raise_if_broken()
    engine.fire(case_id, "close", actor=SW)
    assert engine.get(case_id).state == "closed"


def test_a_wrong_key_encryption_key_is_a_clear_error_naming_the_case(store):
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(store, keys)
    case_id = _placed(engine)
    keys._kek = os.urandom(32)
    with pytest.raises(KeysMismatch, match="C-1: its data key does not unwrap"):
        engine.get(case_id)


def test_key_rotation_rewraps_every_key_and_the_values_still_open():
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(InMemoryStore(), keys)
    case_id = _placed(engine)
    assert keys.rewrap(os.urandom(32)) == 1
    assert engine.get(case_id).data["child_name"] == NAME
    with pytest.raises(InvalidInput, match="32 bytes"):
        keys.rewrap(b"short")
    assert engine.get(case_id).data["child_name"] == NAME


def test_an_id_whose_key_exists_is_taken_and_a_failed_opening_leaves_no_key():
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(InMemoryStore(), keys)
    engine.open(CHILD.name, "C-1", actor=SW, data={"age": 3})
    with pytest.raises(CaseExists):
        engine.open(CHILD.name, "C-1", actor=SW, data={"age": 4})
    assert engine.get("C-1").data["age"] == 3
    other = _engine(InMemoryStore(), keys)
    other.store.create(engine.get("C-1"), []) if False else None
    assert keys.data_key("C-1") is not None


@settings(max_examples=50)
@given(
    st.one_of(
        st.integers(-(2**53 - 1), 2**53 - 1), st.text(TEXT),
        st.booleans(), st.none(), st.lists(st.integers(-99, 99), max_size=3).map(tuple),
    ),
    st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
)  # fmt: skip
def test_a_value_seals_alike_every_time_and_opens_to_itself(value, field):
    sealing = Sealing(frozenset({field}), {"C-1": b"k" * 32})
    sealed = sealing.seal("C-1", field, value)
    assert is_sealed(sealed)
    assert sealing.seal("C-1", field, value) == sealed
    assert sealing.open("C-1", sealed) == value
    assert Sealing(frozenset({field}), {"C-2": b"k" * 32}).seal("C-2", field, value) != sealed


def test_the_readers_trail_is_open_and_its_hashes_are_the_sealed_ones(store):
    engine = _engine(store, InMemoryKeyStore(os.urandom(32)))
    case_id = _placed(engine)
    shown = engine.read_trail(case_id, actor=SW)
    names = [c["after"] for e in shown for c in e["changes"] if c["field"] == "child_name"]
    assert names == [NAME, NAME]  # the request, then the approved step
    assert [e["hash"] for e in shown] == [e.hash for e in engine.trail(case_id)]


def test_a_case_opened_before_the_keys_keeps_its_values_and_refuses_new_personal_ones():
    store = InMemoryStore()
    Engine([CHILD], store=store, clock=ManualClock(START)).open(
        CHILD.name, "C-0", actor=SW, data={"age": 9}
    )
    engine = _engine(store, InMemoryKeyStore(os.urandom(32)))
    assert engine.get("C-0").data["age"] == 9
    with pytest.raises(KeyMissing, match="C-0: no data key"):
        engine.fire("C-0", "place", actor=SW, data={"child_name": NAME})
    assert engine.get("C-0").state == "reported"


# --- erasure ---------------------------------------------------------------------------

SPV2 = Actor("spv-007", {"supervisor"})


def _closed(engine: Engine) -> str:
    case_id = _placed(engine)
    engine.fire(case_id, "close", actor=SW)
    return case_id


def test_an_erasure_by_two_supervisors_destroys_the_key_and_keeps_the_chain(store):
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(store, keys)
    case_id = _closed(engine)
    case = engine.erase(case_id, actor=SPV, second=SPV2, reason="Retention period over.")
    assert case.erased_at == START
    assert case.data["child_name"] == ERASED
    assert keys.data_key(case_id) is None
    trail = engine.trail(case_id)
    assert trail[-1].kind.value == "erased"
    assert trail[-1].details["second"] == "spv-007"
    snap = store.load(case_id)
    verify(trail, head=snap.head).raise_if_broken()
    assert replay(CHILD, trail, head=snap.head) == snap.case
    shown = engine.read_trail(case_id, actor=SW)
    assert {c["after"] for e in shown for c in e["changes"] if c["field"] == "child_name"} == {
        ERASED
    }


@pytest.mark.parametrize(
    ("second", "override", "why"),
    [
        (SPV, False, "a second person must erase with them"),
        (SW, False, "sw-017 does not hold supervisor, who may erase"),
        (SPV2, False, "C-1 is not closed; erase it before closing only by override"),
    ],
)
def test_an_erasure_needs_four_eyes_the_role_and_a_closed_case(store, second, override, why):
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(store, keys)
    case_id = _placed(engine)
    with pytest.raises(TransitionRejected) as refused:
        engine.erase(case_id, actor=SPV, second=second, reason="Asked by the family.",
                     override=override)  # fmt: skip
    assert why in [r.why for r in refused.value.reasons]
    assert engine.trail(case_id)[-1].kind.value == "refused"
    assert keys.data_key(case_id) is not None
    assert engine.get(case_id).data["child_name"] == NAME


def test_an_override_erases_before_closing_and_a_second_erasure_is_refused(store):
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(store, keys)
    case_id = _placed(engine)
    engine.erase(case_id, actor=SPV, second=SPV2, reason="The data subject asked.", override=True)
    assert engine.trail(case_id)[-1].details["override"] == "before closing"
    with pytest.raises(TransitionRejected) as refused:
        engine.erase(case_id, actor=SPV, second=SPV2, reason="Again.", override=True)
    assert any("erased already" in r.why for r in refused.value.reasons)
    assert [e.kind.value for e in engine.trail(case_id)].count("erased") == 1


def test_after_erasure_no_personal_value_is_readable_in_the_raw_database(tmp_path):
    path = tmp_path / "cases.sqlite3"
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(SQLiteStore(path), keys)
    case_id = _closed(engine)
    engine.erase(case_id, actor=SPV, second=SPV2, reason="Retention period over.")
    engine.store.close()
    raw = path.read_bytes()
    assert NAME.encode() not in raw
    assert b"AKTA-3175-2013-0042" not in raw
    assert keys.data_key(case_id) is None


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_engines_erasing_at_once_erase_exactly_once(kind, tmp_path):
    keys = InMemoryKeyStore(os.urandom(32))
    with make_store(kind, tmp_path) as shared:
        first, other = _engine(shared, keys), _engine(shared, keys)
        case_id = _closed(first)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def erase(engine: Engine) -> None:
            start.wait()
            try:
                engine.erase(case_id, actor=SPV, second=SPV2, reason="Retention over.")
                outcomes.append("erased")
            except TransitionRejected as err:
                outcomes.append(" ".join(r.why for r in err.reasons))

        threads = [threading.Thread(target=erase, args=(e,)) for e in (first, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        kinds = [e.kind.value for e in first.trail(case_id)]
        assert kinds.count("erased") == 1
        assert "erased" in outcomes
        assert all(o == "erased" or "erased already" in o for o in outcomes), outcomes
        assert keys.data_key(case_id) is None


# --- keys kept in the database -----------------------------------------------------------


def test_keys_in_the_cases_own_file_leave_no_copy_once_destroyed(tmp_path):
    path = tmp_path / "cases.sqlite3"
    store = SQLiteStore(path)
    keys = SQLiteKeyStore(path, os.urandom(32))
    engine = _engine(store, keys)
    case_id = _closed(engine)
    with sqlite3.connect(path) as db:
        (wrapped,) = db.execute("SELECT wrapped FROM casework_keys").fetchone()
    assert engine.get(case_id).data["child_name"] == NAME
    engine.erase(case_id, actor=SPV, second=SPV2, reason="Retention period over.")
    assert engine.get(case_id).data["child_name"] == ERASED
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert wrapped not in raw
    assert NAME.encode() not in raw


def test_rewrapping_keys_in_the_database_is_all_or_nothing(tmp_path):
    path = tmp_path / "keys.sqlite3"
    old = os.urandom(32)
    keys = SQLiteKeyStore(path, old)
    engine = _engine(InMemoryStore(), keys)
    _placed(engine)
    engine.open(CHILD.name, "C-2", actor=SW, data={"age": 4})
    assert keys.rewrap(os.urandom(32)) == 2
    assert engine.get("C-1").data["child_name"] == NAME
    stranger = SQLiteKeyStore(path, os.urandom(32))
    stranger.new_data_key("C-3")
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT case_id, wrapped FROM casework_keys ORDER BY 1").fetchall()
    with pytest.raises(KeysMismatch, match="C-1"):
        stranger.rewrap(os.urandom(32))
    with sqlite3.connect(path) as db:
        after = db.execute("SELECT case_id, wrapped FROM casework_keys ORDER BY 1").fetchall()
    assert after == before
    assert engine.get("C-2").data["age"] == 4


def test_keys_in_postgresql_beside_the_cases_seal_erase_and_rotate():
    with (
        pg_schema() as dsn,
        PostgresStore(dsn) as store,
        PostgresKeyStore(dsn, os.urandom(32)) as keys,
    ):
        engine = _engine(store, keys)
        case_id = _closed(engine)
        assert engine.get(case_id).data["child_name"] == NAME
        assert keys.rewrap(os.urandom(32)) == 1
        assert engine.get(case_id).data["child_name"] == NAME
        with pytest.raises(InvalidInput, match="already has a data key"):
            keys.new_data_key(case_id)
        engine.erase(case_id, actor=SPV, second=SPV2, reason="Retention period over.")
        assert keys.data_key(case_id) is None
        assert engine.get(case_id).data["child_name"] == ERASED
        with psycopg.connect(dsn) as db:
            rows = db.execute("SELECT body FROM casework_cases").fetchall()
            rows += db.execute("SELECT body FROM casework_entries").fetchall()
        assert rows
        assert all(NAME not in str(row) for row in rows)
        engine.open(CHILD.name, "C-9", actor=SW, data={"age": 2})
        with (
            PostgresKeyStore(dsn, os.urandom(32)) as stranger,
            pytest.raises(KeysMismatch, match="C-9"),
        ):
            stranger.data_key("C-9")


# --- reads logged outside the chain ------------------------------------------------------

LOGGED = attrs.evolve(CHILD, log_personal_reads=True, personal_roles={"social_worker"})


@pytest.mark.parametrize("kind", KINDS)
def test_reads_go_to_the_access_log_not_the_trail(kind, tmp_path):
    with make_store(kind, tmp_path) as store, contextlib.ExitStack() as stack:
        if kind == "postgres":
            dsn = stack.enter_context(pg_schema())
            log: AccessLog = PostgresAccessLog(dsn)
        elif kind == "sqlite":
            log = SQLiteAccessLog(tmp_path / "reads.sqlite3")
        else:
            log = InMemoryAccessLog()
        engine = Engine([LOGGED], store=store, clock=ManualClock(START), access_log=log)
        engine.open(LOGGED.name, "C-1", actor=SW, data={"child_name": NAME, "age": 9})
        before = len(engine.trail("C-1"))
        assert engine.read("C-1", actor=SW, purpose="home visit").case.data["age"] == 9
        engine.read("C-1", actor=SPV)
        assert len(engine.trail("C-1")) == before
        assert log.reads("C-1") == (
            Access("C-1", START, "sw-017", ("social_worker",), ("age", "child_name"), "home visit"),
        )


def test_a_read_whose_record_cannot_be_written_is_not_shown():
    class Broken(InMemoryAccessLog):
        def record(self, access):
            del access
            raise StoreError("the access log is down")

    engine = Engine([LOGGED], clock=ManualClock(START), access_log=Broken())
    engine.open(LOGGED.name, "C-1", actor=SW, data={"child_name": NAME})
    with pytest.raises(StoreError, match="access log is down"):
        engine.read("C-1", actor=SW)


@pytest.mark.parametrize(
    ("make", "field", "problem"),
    [
        (lambda: PostgresKeyStore("", os.urandom(32)), "dsn", "give the database's DSN"),
        (lambda: PostgresAccessLog(""), "dsn", "give the database's DSN"),
        (
            lambda: PostgresKeyStore("postgresql://x", os.urandom(32), pool_size=0),
            "pool_size",
            "must be a positive integer",
        ),
        (lambda: InMemoryKeyStore(b"short"), "kek", "must be 32 bytes"),
        (lambda: Engine([CHILD], keys=object()), "keys", "data_key, new_data_key and destroy"),
        (lambda: Engine([CHILD], access_log=object()), "access_log", r"record\(access\)"),
    ],
)
def test_a_key_store_or_log_given_wrongly_is_named(make, field, problem):
    with pytest.raises(InvalidInput, match=problem) as info:
        make()
    assert info.value.field == field


def test_text_that_looks_sealed_is_sealed_like_any_other_and_never_taken_for_ciphertext(store):
    engine = _engine(store, InMemoryKeyStore(os.urandom(32)))
    fake = "sealed:v1:AAAA"
    case = engine.open(CHILD.name, "C-5", actor=SW, data={"age": fake, "alias": fake})
    assert (case.data["age"], case.data["alias"]) == (fake, fake)
    assert engine.get("C-5").data["age"] == fake
    kept = store.load("C-5").case
    assert kept.data["age"] != fake
    assert kept.data["alias"] == fake


def test_after_erasure_no_way_out_shows_a_value(store):
    keys = InMemoryKeyStore(os.urandom(32))
    engine = _engine(store, keys)
    case_id = _closed(engine)
    engine.erase(case_id, actor=SPV, second=SPV2, reason="Retention period over.")
    for personal in (False, True):
        out = io.StringIO()
        export_jsonl(engine.trail(case_id), out, workflow=CHILD, include_personal=personal)
        assert NAME not in out.getvalue()
        assert "AKTA-3175-2013-0042" not in out.getvalue()
    sealed = io.StringIO()
    export_jsonl(engine.trail(case_id), sealed, workflow=CHILD, include_personal=True)
    assert PREFIX in sealed.getvalue()
    fed = store.feed(limit=1000).items
    assert fed
    assert all(NAME not in json.dumps(item.entry.to_json()) for item in fed)
    assert all(ERASED in e["changes"][0]["after"] for e in engine.read_trail(case_id, actor=SW)
               if e["changes"] and e["changes"][0]["field"] == "age")  # fmt: skip
