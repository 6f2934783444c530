"""casework_flow.contrib.sqlalchemy: the host's session commits the steps (SQLite, PostgreSQL)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from casework_flow import Engine, ManualClock, PostgresStore, SQLiteStore, seed
from casework_flow.contrib import sqlalchemy as cw_sa
from casework_flow.exceptions import InvalidInput, StoreError, TransitionRejected
from casework_flow.stores import AfterCommit

from .conftest import START
from .stores import pg_schema, run_killed

KINDS = ["sqlite", "postgres"]


class Base(DeclarativeBase):
    pass


class VisitNote(Base):
    __tablename__ = "visit_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str]
    note: Mapped[str]


def _url(kind: str, tmp_path: Path, dsn: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'host.sqlite3'}"
    assert dsn is not None
    return "postgresql+psycopg://" + dsn.removeprefix("postgresql://")


@contextmanager
def _database(kind: str, tmp_path: Path, *, tables: bool = True) -> Iterator[sa.Engine]:
    """A host database with the host's table and, made by `metadata`, the casework ones."""

    @contextmanager
    def made(dsn: str | None) -> Iterator[sa.Engine]:
        engine = sa.create_engine(_url(kind, tmp_path, dsn))
        try:
            Base.metadata.create_all(engine)
            if tables:
                cw_sa.metadata.create_all(engine)
            yield engine
        finally:
            engine.dispose()

    if kind == "sqlite":
        with made(None) as engine:
            yield engine
    else:
        with pg_schema() as dsn, made(dsn) as engine:
            yield engine


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def _app(seed_workflow, heard: list[str] | None = None) -> Engine:
    app = Engine([seed_workflow], clock=ManualClock(START))
    if heard is not None:
        app.on_commit(lambda step: heard.append(f"{step.after.id}:{step.after.revision}"))
    return app


def _columns_and_indexes(kind: str, conn: sa.Connection) -> dict[str, object]:
    """The casework tables' columns and indexes, as the database reports them."""
    if kind == "sqlite":
        found: dict[str, object] = {}
        for table in ("casework_meta", "casework_cases", "casework_entries"):
            found[table] = [
                (r[1], r[2].replace("BIGINT", "INTEGER"), r[3], r[5])
                for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")
            ]
        found["indexes"] = sorted(
            (name, " ".join(sql.split()))
            for name, sql in conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        )
        return found
    columns = conn.exec_driver_sql(
        "SELECT table_name, column_name, data_type, is_nullable, ordinal_position"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name LIKE 'casework%%' ORDER BY table_name, ordinal_position"
    ).all()
    indexes = conn.exec_driver_sql(
        "SELECT indexname, replace(indexdef, current_schema() || '.', '')"
        " FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename LIKE 'casework%%' ORDER BY indexname"
    ).all()
    return {"columns": [tuple(r) for r in columns], "indexes": [tuple(r) for r in indexes]}


@pytest.mark.parametrize("kind", KINDS)
def test_the_metadata_is_the_schema_the_stores_make(kind, tmp_path):
    def described(url: str) -> dict[str, object]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                shape = _columns_and_indexes(kind, conn)
                shape["alembic"] = compare_metadata(
                    MigrationContext.configure(conn), cw_sa.metadata
                )
                shape["version"] = conn.exec_driver_sql(
                    "SELECT key, value FROM casework_meta"
                ).all()
            return shape
        finally:
            engine.dispose()

    if kind == "sqlite":
        SQLiteStore(tmp_path / "store.sqlite3").close()
        by_store = described(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        cw_sa.metadata.create_all(sa.create_engine(f"sqlite:///{tmp_path / 'meta.sqlite3'}"))
        by_metadata = described(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
        with SQLiteStore(tmp_path / "meta.sqlite3") as store:
            assert store.schema_version == 6
    else:
        with pg_schema() as first, pg_schema() as second:
            PostgresStore(first).close()
            by_store = described(_url(kind, tmp_path, first))
            made = sa.create_engine(_url(kind, tmp_path, second))
            cw_sa.metadata.create_all(made)
            made.dispose()
            by_metadata = described(_url(kind, tmp_path, second))
            with PostgresStore(second) as store:
                assert store.schema_version == 6
    assert by_metadata["alembic"] == [], "Alembic sees nothing to migrate"
    assert by_metadata["version"] == [("schema_version", "6")]
    if kind == "sqlite":
        # SQLite does not make a TEXT primary key NOT NULL; the metadata declares it.
        stricter = {("casework_cases", "id"), ("casework_meta", "key")}
        assert {(d[0][2], d[0][3]) for d in by_store.pop("alembic")} == stricter  # type: ignore[attr-defined]
        by_metadata.pop("alembic")
        for table, column in stricter:
            by_store[table] = [
                (c[0], c[1], 1, c[3]) if c[0] == column else c
                for c in by_store[table]  # type: ignore[attr-defined]
            ]
    assert by_store == by_metadata


@pytest.mark.parametrize("kind", KINDS)
def test_the_hosts_rows_and_the_steps_commit_together_listeners_after(
    kind, tmp_path, seed_workflow
):
    with _database(kind, tmp_path) as db:
        heard: list[str] = []
        with Session(db) as session:
            engine = cw_sa.engine_on(_app(seed_workflow, heard), session)
            engine.open(seed.WORKFLOW, "S-1", actor=seed.OUTREACH, assignee=seed.WORKER.id)
            session.add(VisitNote(case_id="S-1", note="found at the market"))
            engine.record("S-1", "home_visit", actor=seed.WORKER)
            session.flush()
            assert _count(db, "casework_entries") == 0
            assert heard == []
            session.commit()
            assert heard == ["S-1:1", "S-1:2"]
            assert engine.verify("S-1").ok
        assert _count(db, "casework_entries") == 2
        assert _count(db, "visit_notes") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_rollback_leaves_neither_and_no_listener_runs(kind, tmp_path, seed_workflow):
    with _database(kind, tmp_path) as db:
        heard: list[str] = []
        with Session(db) as session:
            engine = cw_sa.engine_on(_app(seed_workflow, heard), session)
            session.add(VisitNote(case_id="S-2", note="note"))
            engine.open(seed.WORKFLOW, "S-2", actor=seed.OUTREACH)
            session.rollback()
            engine.open(seed.WORKFLOW, "S-3", actor=seed.OUTREACH)
            session.commit()
        assert heard == ["S-3:1"]
        assert _count(db, "casework_cases") == 1
        assert _count(db, "visit_notes") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_step_in_a_rolled_back_savepoint_is_undone_and_never_heard(kind, tmp_path, seed_workflow):
    with _database(kind, tmp_path) as db:
        heard: list[str] = []
        with Session(db) as session:
            engine = cw_sa.engine_on(_app(seed_workflow, heard), session)
            engine.open(seed.WORKFLOW, "S-4", actor=seed.OUTREACH, assignee=seed.WORKER.id)
            with session.begin_nested():
                engine.record("S-4", "home_visit", actor=seed.WORKER)
            nested = session.begin_nested()
            engine.record("S-4", "home_visit", actor=seed.WORKER)
            nested.rollback()
            assert heard == []
            session.commit()
            assert heard == ["S-4:1", "S-4:2"]
            assert len(engine.trail("S-4")) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_refusal_keeps_the_session_usable(kind, tmp_path, seed_workflow):
    with _database(kind, tmp_path) as db:
        with Session(db) as session:
            engine = cw_sa.engine_on(_app(seed_workflow), session)
            engine.open(seed.WORKFLOW, "S-5", actor=seed.OUTREACH)
            session.add(VisitNote(case_id="S-5", note="note"))
            with pytest.raises(TransitionRejected):
                engine.fire("S-5", "terminate", actor=seed.WORKER)
            session.commit()
        assert _count(db, "visit_notes") == 1
        assert _count(db, "casework_entries") == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_joins_with_an_after_commit_the_host_runs(kind, tmp_path, seed_workflow):
    with _database(kind, tmp_path) as db:
        heard: list[str] = []
        with db.connect() as conn:
            with pytest.raises(InvalidInput, match="a Connection has no hook after its commit"):
                cw_sa.engine_on(_app(seed_workflow, heard), conn)
            later = AfterCommit()
            engine = cw_sa.engine_on(_app(seed_workflow, heard), conn, after_commit=later)
            engine.open(seed.WORKFLOW, "S-6", actor=seed.OUTREACH)
            conn.execute(sa.insert(VisitNote).values(case_id="S-6", note="note"))
            conn.rollback()
            later.discard()
            engine.open(seed.WORKFLOW, "S-7", actor=seed.OUTREACH)
            conn.commit()
            later.run()
        assert heard == ["S-7:1"]
        assert _count(db, "casework_cases") == 1
        assert _count(db, "visit_notes") == 0


def test_a_failed_host_transaction_is_named_before_anything_is_written(tmp_path, seed_workflow):
    with _database("postgres", tmp_path) as db, Session(db) as session:
        engine = cw_sa.engine_on(_app(seed_workflow), session)
        with pytest.raises(sa.exc.ProgrammingError):
            session.execute(sa.text("SELECT * FROM no_such_table"))
        with pytest.raises(StoreError, match="the host's transaction has failed"):
            engine.open(seed.WORKFLOW, "S-8", actor=seed.OUTREACH)
        session.rollback()
        engine.open(seed.WORKFLOW, "S-8", actor=seed.OUTREACH)
        session.commit()
        assert _count(db, "casework_cases") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_what_cannot_be_joined_is_refused_in_words(kind, tmp_path, seed_workflow):
    with pytest.raises(InvalidInput, match="expected a SQLAlchemy Session or Connection"):
        cw_sa.joining("sqlite:///cases.db")  # type: ignore[arg-type]
    with _database(kind, tmp_path, tables=False) as db, Session(db) as session:
        engine = cw_sa.engine_on(_app(seed_workflow), session)
        with pytest.raises(StoreError, match="schema version 0, this library needs 6"):
            engine.open(seed.WORKFLOW, "S-9", actor=seed.OUTREACH)
    if kind == "postgres":
        with pg_schema() as dsn:
            auto = sa.create_engine(_url(kind, tmp_path, dsn), isolation_level="AUTOCOMMIT")
            cw_sa.metadata.create_all(auto)
            with Session(auto) as session:
                engine = cw_sa.engine_on(_app(seed_workflow), session)
                with pytest.raises(StoreError, match="autocommit mode"):
                    engine.open(seed.WORKFLOW, "S-9", actor=seed.OUTREACH)
            auto.dispose()


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    import sqlalchemy as sa
    from sqlalchemy.orm import Session
    from casework_flow import Engine, ManualClock, seed
    from casework_flow.contrib.sqlalchemy import engine_on
    db = sa.create_engine(sys.argv[1])
    app = Engine([seed.build_workflow()], clock=ManualClock(datetime(2024, 3, 4, tzinfo=UTC)))
    with Session(db) as session:
        engine = engine_on(app, session)
        session.execute(sa.text("INSERT INTO visit_notes (case_id, note) VALUES ('K-1', 'n')"))
        engine.open(seed.WORKFLOW, "K-1", actor=seed.OUTREACH)
        engine.record("K-1", "home_visit", actor=seed.WORKER)
        session.flush()
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("kind", KINDS)
def test_killing_the_process_before_the_sessions_commit_leaves_neither(kind, tmp_path):
    with _database(kind, tmp_path) as db:
        run_killed(KILLED, db.url.render_as_string(hide_password=False))
        assert _count(db, "casework_cases") == 0
        assert _count(db, "casework_entries") == 0
        assert _count(db, "visit_notes") == 0


def test_a_psycopg_connection_under_sqlalchemy_is_the_drivers_own(tmp_path, seed_workflow):
    with _database("postgres", tmp_path) as db, Session(db) as session:
        store = cw_sa.joining(session)
        engine = _app(seed_workflow).using(store)
        engine.open(seed.WORKFLOW, "S-10", actor=seed.OUTREACH)
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert "password" not in repr(store)
