"""What the SQL stores share: schema migrations, row codecs and query building.

Cases are kept as their JSON form plus the columns queries need, each indexed; times in
those columns are integer microseconds since the epoch, so ranges compare as numbers.
Entries are kept as their JSON form under the primary key (case id, sequence number),
which is what makes a forked trail impossible.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .._audit import AuditEntry, ChainHead, EntryKind
from .._case import Case
from ..exceptions import StoreError, TrailBroken
from . import _cursor, _waiting
from ._protocol import Query, Stored

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "case_from_body",
    "case_row",
    "entry_row",
    "micros",
    "select_cases",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# Each step takes the schema from version i to i + 1; {big} is the 64-bit integer type.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE casework_cases (
            id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            revision INTEGER NOT NULL,
            assignee TEXT,
            opened_at {big} NOT NULL,
            changed_at {big} NOT NULL,
            head_seq INTEGER NOT NULL,
            head_hash TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE casework_entries (
            case_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (case_id, seq)
        )""",
        "CREATE INDEX casework_cases_state ON casework_cases (state, id)",
        "CREATE INDEX casework_cases_workflow ON casework_cases (workflow, version, state, id)",
        "CREATE INDEX casework_cases_assignee ON casework_cases (assignee, id)",
        "CREATE INDEX casework_cases_opened ON casework_cases (opened_at)",
        "CREATE INDEX casework_cases_changed ON casework_cases (changed_at)",
    ),
    (
        "ALTER TABLE casework_cases ADD COLUMN due_at {big}",
        "CREATE INDEX casework_cases_due ON casework_cases (due_at, id) WHERE due_at IS NOT NULL",
    ),
    (
        "ALTER TABLE casework_cases ADD COLUMN timer_at {big}",
        "ALTER TABLE casework_cases ADD COLUMN lease_until {big}",
        (
            "CREATE INDEX casework_cases_timer ON casework_cases (timer_at, id)"
            " WHERE timer_at IS NOT NULL"
        ),
    ),
    (
        "ALTER TABLE casework_cases ADD COLUMN unit TEXT",
        "CREATE INDEX casework_cases_unit ON casework_cases (unit, id)",
    ),
    (
        # The change feed: entries stored before it are numbered case by case.
        "ALTER TABLE casework_entries ADD COLUMN position {big}",
        (
            "UPDATE casework_entries SET position = r.n FROM (SELECT case_id AS c, seq AS s,"
            " ROW_NUMBER() OVER (ORDER BY case_id, seq) AS n FROM casework_entries) AS r"
            " WHERE casework_entries.case_id = r.c AND casework_entries.seq = r.s"
        ),
        "CREATE UNIQUE INDEX casework_entries_position ON casework_entries (position)",
        "CREATE TABLE casework_feed (id INTEGER NOT NULL PRIMARY KEY, position {big} NOT NULL)",
        (
            "INSERT INTO casework_feed (id, position)"
            " SELECT 1, COALESCE(MAX(position), 0) FROM casework_entries"
        ),
        (
            "CREATE TABLE casework_feed_positions"
            " (consumer TEXT NOT NULL PRIMARY KEY, position {big} NOT NULL)"
        ),
    ),
    # Requests waiting for approval, by role (filled from the cases by `_backfill`).
    _waiting.SCHEMA,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)
_WAITING_VERSION: Final = 6


WAITING_CASES: Final = "SELECT id, body FROM casework_cases WHERE body LIKE {m}"
"""The cases stored before the waiting table that may wait for approval (`WAITING_LIKE`)."""
WAITING_LIKE: Final = '%"approvals":{"%'


def waiting_rows(
    found: Sequence[tuple[str, str]],
) -> list[tuple[str, str, str, str, int, str | None]]:
    """The waiting table's rows for the (id, body) rows of `WAITING_CASES`."""
    return [
        r
        for case_id, body in found
        for r in _waiting.rows(case_from_body(body, "filling casework_waiting", case_id))
    ]


def _backfill(conn: Any, mark: str) -> None:  # noqa: ANN401 - a DB-API connection
    """Fill the waiting table from the cases stored before it."""
    rows = waiting_rows(conn.execute(WAITING_CASES.format(m=mark), (WAITING_LIKE,)).fetchall())
    if rows:
        conn.cursor().executemany(_waiting.INSERT.format(m=mark), rows)


def migrate(conn: Any, version: int, *, where: str, big: str, mark: str) -> None:  # noqa: ANN401
    """Take the schema from ``version`` to `SCHEMA_VERSION` inside the caller's transaction.

    Raises:
        StoreError: if the database is newer than this library.
    """
    if version > SCHEMA_VERSION:
        msg = (
            f"{where} has schema version {version}, newer than this casework_flow"
            f" understands ({SCHEMA_VERSION}); upgrade the library"
        )
        raise StoreError(msg)
    for number, steps in enumerate(MIGRATIONS[version:], version + 1):
        for statement in steps:
            conn.execute(statement.format(big=big))
        if number == _WAITING_VERSION:
            _backfill(conn, mark)
    conn.execute(
        f"INSERT INTO casework_meta (key, value) VALUES ('schema_version', {mark})"  # noqa: S608 - mark is ? or %s
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(SCHEMA_VERSION),),
    )


def stored_version(conn: Any) -> int:  # noqa: ANN401 - a DB-API connection
    """The schema version recorded in ``casework_meta`` (0 when none is)."""
    row = conn.execute("SELECT value FROM casework_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


CASE_COLUMNS: Final = (
    "id, workflow, version, state, revision, assignee, opened_at, changed_at,"
    " head_seq, head_hash, body, due_at, timer_at, unit"
)


SCAN: Final = (
    "WITH page AS (SELECT id, head_seq, head_hash, body FROM casework_cases"
    " WHERE id > {m} ORDER BY id LIMIT {m})"
    " SELECT page.id, page.head_seq, page.head_hash,"
    " CASE WHEN ROW_NUMBER() OVER (PARTITION BY page.id ORDER BY e.seq) = 1"
    " THEN page.body END, e.seq, e.body"
    " FROM page LEFT JOIN casework_entries e ON e.case_id = page.id"
    " ORDER BY page.id, e.seq"
)
"""One page of cases with their entries, in one statement (so one consistent read);
each case's body comes on its first row only."""

STRAYS: Final = (
    "SELECT DISTINCT case_id FROM casework_entries e"
    " WHERE NOT EXISTS (SELECT 1 FROM casework_cases c WHERE c.id = e.case_id)"
)


def micros(when: datetime) -> int:
    """Return ``when`` as integer microseconds since the epoch."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Invert `micros`."""
    return _EPOCH + timedelta(microseconds=value)


def _dumps(value: Any) -> str:  # noqa: ANN401 - JSON
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def case_row(case: Case, changed_us: int, head: ChainHead) -> tuple[Any, ...]:
    """Return the row for a case, in `CASE_COLUMNS` order.

    ``due_at`` is when the case's running deadline falls due, ``timer_at`` when its
    next timer does; both come from the case itself.
    """
    due_at = case.deadline.due_at if case.deadline is not None else None
    return (
        case.id,
        case.workflow,
        case.version,
        case.state,
        case.revision,
        case.assignee,
        micros(case.opened_at),
        changed_us,
        head.seq,
        head.hash,
        _dumps(case.to_json()),
        None if due_at is None else micros(due_at),
        None if case.timer_at is None else micros(case.timer_at),
        case.unit,
    )


def case_from_body(body: str, where: str, case_id: str) -> Case:
    """Rebuild a case from its stored JSON; `StoreError` naming the case if it cannot be."""
    try:
        return Case.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"{where}: the stored case {case_id} cannot be read: {exc!r}"
        raise StoreError(msg, case_id=case_id) from None


ENTRY_INSERT: Final = (
    "INSERT INTO casework_entries (case_id, seq, body, position) VALUES ({m}, {m}, {m}, {m})"
)
FEED_TAKE: Final = (
    "INSERT INTO casework_feed (id, position) VALUES (1, {m}) ON CONFLICT (id)"
    " DO UPDATE SET position = casework_feed.position + excluded.position RETURNING position"
)
"""Takes the next positions and holds the feed's one row locked until the commit.

An upsert, so tables made by a host's own migrations need no row put in them first."""
FEED_READ: Final = (
    "SELECT position, body FROM casework_entries WHERE position > {m} ORDER BY position LIMIT {m}"
)


def one_step(update: str, count: int, m: str) -> str:
    """One statement for one case's step: the row's UPDATE, the feed, the entries' INSERT.

    Positions are taken only if the UPDATE matched, and entries inserted only if they
    were; the entries' rows come as (case id, seq, body, n) with n from 1, after the
    UPDATE's parameters, the count and the count again.
    """
    rows = ", ".join(f"({m}::text, {m}::bigint, {m}::text, {m}::bigint)" for _ in range(count))
    return (
        f"WITH u AS ({update} RETURNING 1),"  # noqa: S608 - fixed names
        f" f AS (INSERT INTO casework_feed (id, position) SELECT 1, {m}::bigint FROM u"
        " ON CONFLICT (id) DO UPDATE SET position = casework_feed.position"
        " + excluded.position RETURNING position)"
        " INSERT INTO casework_entries (case_id, seq, body, position)"
        f" SELECT v.c, v.s, v.b, f.position - {m}::bigint + v.n FROM f,"
        f" (VALUES {rows}) AS v (c, s, b, n) RETURNING position"
    )


def entry_row(entry: AuditEntry, position: int) -> tuple[str, int, str, int]:
    """Return the row for an entry: (case_id, seq, body, position)."""
    return (entry.case_id, entry.seq, entry.stored_text(), position)


def entry_from_body(body: str) -> AuditEntry:
    """Rebuild an entry from its stored JSON.

    Raises:
        TrailBroken: if the row is not JSON or not an entry.
    """
    try:
        raw = json.loads(body)
    except (ValueError, TypeError) as exc:
        raise TrailBroken(None, None, f"a stored entry is not JSON: {exc}") from None
    return AuditEntry.from_json(raw)


def changed_at(entries: Sequence[AuditEntry], previous: int) -> int:
    """The changed-at column after committing ``entries`` (refusals do not count)."""
    for e in reversed(entries):
        if e.kind is not EntryKind.REFUSED:
            return micros(e.at)
    return previous


def select_cases(
    query: Query, *, limit: int, after: str | None, mark: str
) -> tuple[str, list[Any]]:
    """Build the SELECT for one page of `Store.find`; ``mark`` is the placeholder."""
    _cursor.check_limit(limit)
    where, params = filters(query, mark)
    column = order_column(query)
    if after is not None:
        last_id, last_due = _cursor.decode(after, by_due=column is not None)
        if last_due is not None:
            where.append(f"({column} > {mark} OR ({column} = {mark} AND id > {mark}))")
            params += [micros(last_due), micros(last_due), last_id]
        else:
            where.append(f"id > {mark}")
            params.append(last_id)
    order = f"{column}, id" if column else "id"
    sql = f"SELECT {CASE_COLUMNS} FROM casework_cases"  # noqa: S608 - fixed column names
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT {mark}"
    params.append(limit + 1)
    return sql, params


def order_column(query: Query) -> str | None:
    """The time column a query's pages are ordered by (then id), or None for id alone."""
    if query.timers_due is not None:
        return "timer_at"
    if query.by_due:
        return "due_at"
    return None


def filters(query: Query, mark: str) -> tuple[list[str], list[Any]]:
    """Return the WHERE terms and parameters for ``query``."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("workflow", query.workflow),
        ("version", query.version),
        ("state", query.state),
        ("assignee", query.assignee),
        ("unit", query.unit),
    ):
        if value is not None:
            where.append(f"{column} = {mark}")
            params.append(value)
    if query.states is not None:
        names = sorted(query.states)
        where.append(f"state IN ({', '.join([mark] * len(names))})" if names else "1 = 0")
        params += names
    if query.units is not None:
        term, values = _waiting.unit_filter(query.units, mark)
        where.append(term)
        params += values
    for column, window in (("opened_at", query.opened), ("changed_at", query.changed)):
        if window is not None:
            where.append(f"{column} >= {mark} AND {column} < {mark}")
            params += [micros(window[0]), micros(window[1])]
    _time_filters(query, mark, where, params)
    if query.awaiting_roles is not None:
        roles, not_by = query.awaiting_roles, query.not_requested_by
        term, values = _waiting.term(roles, not_by, query.units, mark)
        where.append(term)
        params += values
    return where, params


def _time_filters(query: Query, mark: str, where: list[str], params: list[Any]) -> None:
    """Add the terms on deadlines, timers and the last step's time."""
    if query.due_before is not None:
        where.append(f"due_at IS NOT NULL AND due_at < {mark}")
        params.append(micros(query.due_before))
    if query.timers_due is not None:
        where.append(f"timer_at IS NOT NULL AND timer_at <= {mark}")
        params.append(micros(query.timers_due))
    if query.due is not None:
        where.append(f"due_at IS NOT NULL AND due_at >= {mark} AND due_at < {mark}")
        params += [micros(query.due[0]), micros(query.due[1])]
    if query.idle_since is not None:
        where.append(f"changed_at < {mark}")
        params.append(micros(query.idle_since))


def page_cursor(rows: list[Any], limit: int, *, column: str | None) -> str | None:
    """The cursor after ``rows[:limit]``, or None when there is no more."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    if column is None:
        return _cursor.encode(last[0], None)
    return _cursor.encode(last[0], from_micros(last[11 if column == "due_at" else 12]))


def stored(case_id: str, rows: list[Any], where: str) -> Stored:
    """One case of a scan from its rows: the case's on the first, an entry on each."""
    _, seq, digest, body, _, _ = rows[0]
    head = ChainHead(seq, digest)
    try:
        case = case_from_body(body, where, case_id)
    except StoreError as exc:
        return Stored(case_id, head, None, (), exc)
    entries: list[AuditEntry] = []
    for *_, entry_seq, entry_body in rows:
        if entry_seq is None:
            break
        try:
            entries.append(entry_from_body(entry_body))
        except TrailBroken as exc:
            msg = f"{where}: stored entry {entry_seq} of {case_id} cannot be read: {exc.problem}"
            problem = StoreError(msg, case_id=case_id, seq=entry_seq)
            return Stored(case_id, head, case, tuple(entries), problem)
    return Stored(case_id, head, case, tuple(entries))
