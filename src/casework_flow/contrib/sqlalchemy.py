"""casework_flow inside a SQLAlchemy 2 application: the host's session commits the steps.

`joining(session)` is a store on whatever connection the session's transaction holds, so
the host's ORM rows and the case's step commit or roll back together;
`engine_on(engine, session)` is the engine on that store, its listeners run once the
session's outermost transaction has committed (and dropped if it rolls back, or if the
``begin_nested()`` block that held the step does). A `Connection` works too, with an
``after_commit`` the host runs after it commits (an `AfterCommit`).

The tables are declared on `metadata`, for ``metadata.create_all`` or the host's Alembic
migrations (``target_metadata = [Base.metadata, casework_flow.contrib.sqlalchemy.metadata]``
and, in the migration that creates them, ``op.bulk_insert(casework_meta, [version_row()])``).
Supported: SQLite (pysqlite) and PostgreSQL through psycopg 3 (``postgresql+psycopg``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from .._shell import Shell
from ..exceptions import InvalidInput
from ..stores import Store
from ..stores._joined import JoinedPostgresStore, JoinedSQLiteStore
from ..stores._sql import SCHEMA_VERSION

__all__ = ["casework_meta", "engine_on", "joining", "metadata", "version_row"]

E = TypeVar("E", bound=Shell)

_BIG: Final = BigInteger().with_variant(Integer(), "sqlite")
"""Microseconds since the epoch: BIGINT, and INTEGER (64-bit already) on SQLite."""

metadata: Final = MetaData()
"""The casework tables, as the stores create them (schema version 5).

One difference, on SQLite only: these tables declare their text primary keys NOT NULL,
which SQLite does not imply (the stores' own tables allow a NULL key they never write).
"""

casework_meta: Final = Table(
    "casework_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

Table(
    "casework_cases",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workflow", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("assignee", Text),
    Column("opened_at", _BIG, nullable=False),
    Column("changed_at", _BIG, nullable=False),
    Column("head_seq", Integer, nullable=False),
    Column("head_hash", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("due_at", _BIG),
    Column("timer_at", _BIG),
    Column("lease_until", _BIG),
    Column("unit", Text),
    Index("casework_cases_state", "state", "id"),
    Index("casework_cases_workflow", "workflow", "version", "state", "id"),
    Index("casework_cases_assignee", "assignee", "id"),
    Index("casework_cases_opened", "opened_at"),
    Index("casework_cases_changed", "changed_at"),
    Index(
        "casework_cases_due",
        "due_at",
        "id",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
    Index(
        "casework_cases_timer",
        "timer_at",
        "id",
        sqlite_where=text("timer_at IS NOT NULL"),
        postgresql_where=text("timer_at IS NOT NULL"),
    ),
    Index("casework_cases_unit", "unit", "id"),
    Index(
        "casework_cases_unit_due",
        "unit",
        "due_at",
        "id",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
    Index("casework_cases_unit_state", "unit", "state", "changed_at"),
    Index("casework_cases_unit_assignee", "unit", "assignee"),
)

Table(
    "casework_entries",
    metadata,
    Column("case_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("position", _BIG),
    PrimaryKeyConstraint("case_id", "seq"),
    Index("casework_entries_position", "position", unique=True),
)

Table(
    "casework_feed",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", _BIG, nullable=False),
)

Table(
    "casework_feed_positions",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("position", _BIG, nullable=False),
)

Table(
    "casework_waiting",
    metadata,
    Column("case_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", _BIG, nullable=False),
    Column("unit", Text),
    PrimaryKeyConstraint("case_id", "kind", "role"),
    Index("casework_waiting_role", "role", "unit", "case_id"),
)


def version_row() -> dict[str, str]:
    """The row of `casework_meta` that records the schema version the tables are at."""
    return {"key": "schema_version", "value": str(SCHEMA_VERSION)}


@event.listens_for(casework_meta, "after_create")
def _record_version(target: Table, connection: Connection, **_: object) -> None:
    connection.execute(target.insert().values(version_row()))


def _connection(bind: Session | Connection) -> Connection:
    """The connection the host's unit of work holds now, its transaction begun."""
    if isinstance(bind, Session):
        return bind.connection()
    if not bind.in_transaction():
        bind.begin()
    return bind


def _driver(bind: Session | Connection) -> Any:  # noqa: ANN401 - sqlite3 or psycopg
    return _connection(bind).connection.driver_connection


def joining(bind: Session | Connection) -> Store:
    """A store on ``bind``'s connection: each step joins the session's transaction.

    Steps run in a savepoint inside the transaction the session (or connection) has
    open, begun if none is; the host's ``commit`` or ``rollback`` decides. The tables
    must exist (see `metadata`).

    Raises:
        InvalidInput: for a database or driver other than SQLite and psycopg 3.
    """
    if not isinstance(bind, Session | Connection):
        raise InvalidInput("bind", f"expected a SQLAlchemy Session or Connection, got {bind!r}")
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    url = engine.engine.url
    where = url.render_as_string(hide_password=True)
    source = functools.partial(_driver, bind)
    if url.get_backend_name() == "sqlite" and url.get_driver_name() == "pysqlite":
        return JoinedSQLiteStore(source, where=url.database or ":memory:")
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        return JoinedPostgresStore(source, where=where)
    msg = (
        f"{where}: casework_flow joins SQLite (pysqlite) and PostgreSQL through psycopg 3"
        " (postgresql+psycopg://...), not this database or driver"
    )
    raise InvalidInput("bind", msg)


def engine_on(
    engine: E,
    bind: Session | Connection,
    *,
    after_commit: Callable[[Callable[[], None]], object] | None = None,
) -> E:
    """``engine`` on `joining(bind)`, its listeners run after the host's commit.

    For a `Session` the listeners run when its outermost transaction commits, and are
    dropped when it rolls back. A `Connection` has no hook after its commit: pass
    ``after_commit`` (an `AfterCommit` you run after ``conn.commit()``).

    Raises:
        InvalidInput: for a `Connection` without ``after_commit``.
    """
    if after_commit is None:
        if not isinstance(bind, Session):
            msg = (
                "a Connection has no hook after its commit: pass after_commit="
                "AfterCommit() and call its run() after conn.commit(), or use a Session"
            )
            raise InvalidInput("after_commit", msg)
        after_commit = functools.partial(_keep, bind)
    return engine.using(joining(bind), after_commit=after_commit)


_KEPT: Final = "casework_flow.after_commit"


def _keep(session: Session, run: Callable[[], None]) -> None:
    """Keep ``run`` with the session's innermost transaction until it ends."""
    kept: dict[SessionTransaction, list[Callable[[], None]]] | None = session.info.get(_KEPT)
    if kept is None:
        kept = session.info[_KEPT] = {}
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # pragma: no cover - a step always leaves one open
        run()
        return
    kept.setdefault(transaction, []).append(run)


def _committed(session: Session) -> None:
    """A savepoint's kept steps pass to its parent; the outermost commit runs them."""
    kept: dict[SessionTransaction, list[Callable[[], None]]] = session.info[_KEPT]
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # pragma: no cover - after_commit runs inside one
        return
    waiting = kept.pop(transaction, [])
    if transaction.nested and transaction.parent is not None:
        kept.setdefault(transaction.parent, []).extend(waiting)
        return
    for run in waiting:
        run()


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """What a transaction still keeps when it ends was rolled back: drop it."""
    kept: dict[SessionTransaction, list[Callable[[], None]]] = session.info[_KEPT]
    kept.pop(transaction, None)
