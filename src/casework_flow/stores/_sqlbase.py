"""The store protocol in SQL, shared by `SQLiteStore` and `PostgresStore`.

A subclass supplies only its dialect: the parameter mark, how a row is locked for a
commit, its connections, transactions and error translation, and its schema migration.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from .._audit import AuditEntry, ChainHead
from .._case import Case
from .._history import History
from .._reports import Report, Terminal
from ..exceptions import (
    CaseExists,
    ConcurrentModification,
    FeedPositionConflict,
    StoreError,
    TrailBroken,
    UnknownCase,
)
from . import _cursor, _reports_sql, _sql, _waiting
from ._feed import FEED_PAGE, FeedItem, FeedPage, check_consumer, check_page, move_position
from ._memory import _new_ids, _same_case
from ._protocol import DEFAULT_LEASE, Change, Page, Query, Snapshot, Stored, check_group
from ._remembered import Lru, Trails

__all__ = ["SqlStore"]

_HEADS_PAGE = 10_000
_PARSED_ENTRIES = 4096
_PARSED_CASES = 1024


class SqlStore:
    """Base of the SQL stores: every protocol method, written once."""

    _mark: ClassVar[str]
    """The parameter placeholder: ``?`` or ``%s``."""
    _lock_row: ClassVar[str]
    """Appended to the commit's SELECT to lock the case's row (or empty)."""
    _skip_locked: ClassVar[str]
    """Appended to the timer claim's SELECT to pass over rows others hold (or empty)."""
    _unique: ClassVar[tuple[type[BaseException], ...]]
    """The driver's exceptions for a primary-key clash."""
    _where: str
    """How errors name this database."""
    _report_dialect: ClassVar[_reports_sql.Dialect] = _reports_sql.SQLITE
    """How the report's SQL reads an entry's JSON and a time."""
    _one_statement: ClassVar[bool] = False
    """Whether a one-case step is written as one statement (`_commit_one`)."""

    def _read(self, doing: str) -> AbstractContextManager[Any]:
        """A connection for one read, inside the dialect's error translation."""
        raise NotImplementedError

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _write(self, doing: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _step(self, doing: str) -> AbstractContextManager[Any]:
        """A connection for a write that is one statement (a transaction of its own)."""
        return self._write(doing)

    def _insert_entries(self, conn: Any, entries: Sequence[AuditEntry]) -> None:  # noqa: ANN401
        raise NotImplementedError

    def close(self) -> None:
        """Close every connection this store opened."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _parsed(self) -> Callable[[str], AuditEntry]:
        """Parse a stored entry's text, remembering the last few thousand parsed.

        A case's history is read on every step its guards need it; entries never change,
        so the same text always parses to the same entry. The text is the key: an edited
        row is new text and is parsed afresh (and then fails verification as before).
        """
        parse: Callable[[str], AuditEntry] | None = getattr(self, "_parse_cache", None)
        if parse is None:
            parse = functools.lru_cache(maxsize=_PARSED_ENTRIES)(_sql.entry_from_body)
            self._parse_cache = parse
        return parse

    def _trails(self) -> Trails:
        """Each case's trail as last read or written here (see `_remembered`)."""
        trails: Trails | None = getattr(self, "_trail_cache", None)
        if trails is None:
            trails = self._trail_cache = Trails()
        return trails

    def _cases(self) -> Lru[str, Case]:
        """Parsed cases by the text of their row."""
        cases: Lru[str, Case] | None = getattr(self, "_case_cache", None)
        if cases is None:
            cases = Lru[str, Case](_PARSED_CASES)
            self._case_cache = cases
        return cases

    def _rows(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read(doing) as conn:
            rows: list[Any] = conn.execute(sql, params).fetchall()
        return rows

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        rows = self._rows(
            "read the schema version",
            "SELECT value FROM casework_meta WHERE key = 'schema_version'",
        )
        return int(rows[0][0]) if rows else 0

    def create(self, case: Case, entries: Sequence[AuditEntry]) -> None:
        """Store a new case with its trail so far, in one transaction."""
        _same_case(case, entries, new=True)
        marks = ", ".join([self._mark] * 14)
        with self._write("create a case") as conn:
            try:
                conn.execute(
                    f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS}) VALUES ({marks})",  # noqa: S608 - fixed names
                    _sql.case_row(case, _sql.changed_at(entries, 0), entries[-1].head),
                )
            except self._unique:
                raise CaseExists(case.id) from None
            self._insert_entries(conn, entries)
            _waiting.insert(conn, [case], self._mark)
        self._trails().extend(case.id, tuple(entries))

    def create_many(self, cases: Sequence[tuple[Case, Sequence[AuditEntry]]]) -> None:
        """Store new cases with their trails in one transaction, all or none."""
        ids = _new_ids(cases)
        marks = ", ".join([self._mark] * 14)
        rows = [_sql.case_row(c, _sql.changed_at(e, 0), e[-1].head) for c, e in cases]
        try:
            with self._write("create cases") as conn:
                conn.cursor().executemany(
                    f"INSERT INTO casework_cases ({_sql.CASE_COLUMNS}) VALUES ({marks})",  # noqa: S608 - fixed names
                    rows,
                )
                self._insert_entries(conn, [e for _, trail in cases for e in trail])
                _waiting.insert(conn, [c for c, _ in cases], self._mark)
        except StoreError as exc:
            if not isinstance(exc.__cause__, self._unique):
                raise
            taken = self._rows(
                "look for cases that exist",
                f"SELECT id FROM casework_cases WHERE id IN ({', '.join([self._mark] * len(ids))})",  # noqa: S608
                ids,
            )
            if not taken:
                raise
            raise CaseExists(min(r[0] for r in taken)) from None

    def load(self, case_id: str, *, history: Container[tuple[str, int]] = frozenset()) -> Snapshot:
        """Return the case and its trail's head (and its trail, for ``history`` keys).

        Entries are only ever appended, so reading them after the case row, up to the
        head that row names, gives the history of exactly that revision.
        """
        m = self._mark
        rows = self._rows(
            "load a case",
            f"SELECT body, head_seq, head_hash FROM casework_cases WHERE id = {m}",  # noqa: S608 - fixed names
            (case_id,),
        )
        if not rows:
            raise UnknownCase(case_id)
        body, seq, digest = rows[0]
        cases = self._cases()
        case = cases.get(body)
        if case is None:
            case = _sql.case_from_body(body, self._where, case_id)
            cases.put(body, case)
        head = ChainHead(seq, digest)
        if (case.workflow, case.version) not in history:
            return Snapshot(case, head)
        entries = self._trails().upto(
            case_id,
            head,
            lambda after: self._entries(case_id, seq, after=after),
            lambda: self._entries(case_id, seq),
        )
        return Snapshot(case, head, History(entries))

    def commit(
        self,
        case: Case,
        entries: Sequence[AuditEntry],
        *,
        expected_revision: int,
    ) -> None:
        """Replace the case and append entries, if revision and head are as expected."""
        self.commit_many([(case, entries, expected_revision)])

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Commit several cases in one transaction, all or nothing.

        Rows are locked in case-id order, so two bulk commits cannot deadlock.
        """
        for case, entries, _ in changes:
            _same_case(case, entries)
        one = len(changes) == 1 and changes[0][1] and not _waiting.touches(*changes[0][:2])
        if self._one_statement and one:
            self._commit_one(*changes[0])
            return
        written = []
        ordered = sorted(changes, key=lambda c: c[0].id)
        with self._write("commit a step") as conn:
            for case, entries, expected in ordered:
                written.append((case, entries, self._commit_in(conn, case, entries, expected)))
            # The feed's lock comes after every case row's, so commits cannot deadlock.
            try:
                self._insert_entries(conn, [e for _, entries, _ in ordered for e in entries])
            except self._unique:
                case, _, expected = next(c for c in ordered if c[1])
                raise ConcurrentModification(case.id, expected, expected) from None
        trails, cases = self._trails(), self._cases()
        for case, entries, body in written:
            trails.extend(case.id, tuple(entries))
            cases.put(body, case)

    def _commit_one(
        self, case: Case, entries: Sequence[AuditEntry], expected_revision: int
    ) -> None:
        """One case's step in one statement: one round trip on a networked database.

        The conditional UPDATE of the row, the feed's positions (taken only if the
        UPDATE matched) and the entries' INSERT are one statement, so nothing is written
        unless all of it is, and the feed's row stays locked until the commit as in
        `commit_many`. The row is read again only to say why the UPDATE missed.
        """
        sql, params, body = self._update(case, entries, expected_revision)
        one = _sql.one_step(sql, len(entries), self._mark)
        values = [x for i, e in enumerate(entries, 1) for x in _sql.entry_row(e, i)]
        with self._step("commit a step") as conn:
            try:
                written = conn.execute(one, (*params, len(entries), len(entries), *values))
                done = len(written.fetchall())
            except self._unique:
                raise ConcurrentModification(
                    case.id, expected_revision, expected_revision
                ) from None
            if done != len(entries):
                self._missed(conn, case.id, expected_revision)
        self._trails().extend(case.id, tuple(entries))
        self._cases().put(body, case)

    def _commit_in(
        self,
        conn: Any,  # noqa: ANN401 - a DB-API connection of the dialect
        case: Case,
        entries: Sequence[AuditEntry],
        expected_revision: int,
    ) -> str:
        """One conditional UPDATE of the case's row; return the row's text.

        The UPDATE matches only if the row's revision and head are as expected (and
        locks the row); the row is read again only to say why an UPDATE missed. The
        caller inserts the entries of every case after the last UPDATE.
        """
        sql, params, body = self._update(case, entries, expected_revision)
        if conn.execute(sql, params).rowcount != 1:
            self._missed(conn, case.id, expected_revision)
        if _waiting.touches(case, entries):
            _waiting.replace(conn, case, self._mark)
        return body

    def _numbered(
        self,
        conn: Any,  # noqa: ANN401 - a DB-API connection of the dialect
        entries: Sequence[AuditEntry],
    ) -> list[tuple[str, int, str, int]]:
        """The entries' rows, each at the next feed position, taken in this transaction."""
        if not entries:
            return []
        first = self._first_position(conn, len(entries))
        return [_sql.entry_row(e, first + i) for i, e in enumerate(entries)]

    def _first_position(self, conn: Any, count: int) -> int:  # noqa: ANN401 - a DB-API connection
        """Take ``count`` positions; the feed's row stays locked until the commit (`_feed`)."""
        (top,) = conn.execute(_sql.FEED_TAKE.format(m=self._mark), (count,)).fetchone()
        return int(top) - count + 1

    def feed(self, *, after: int = 0, limit: int = FEED_PAGE) -> FeedPage:
        """Return up to ``limit`` committed entries after position ``after``, in order."""
        after, limit = check_page(after, limit)
        rows = self._rows("read the feed", _sql.FEED_READ.format(m=self._mark), (after, limit))
        parse = self._parsed()
        items = []
        for position, body in rows:
            try:
                items.append(FeedItem(int(position), parse(body)))
            except TrailBroken as exc:
                why = f"the entry at feed position {position} cannot be read: {exc.problem}"
                raise StoreError(f"{self._where}: {why}") from None
        return FeedPage(tuple(items), items[-1].position if items else after)

    def tracked(self, consumer: str) -> int:
        """Return the feed position stored for ``consumer`` (0 when none is)."""
        rows = self._rows(
            "read a feed position",
            f"SELECT position FROM casework_feed_positions WHERE consumer = {self._mark}",  # noqa: S608 - fixed names
            (check_consumer(consumer, 0, 0),),
        )
        return int(rows[0][0]) if rows else 0

    def track(self, consumer: str, position: int, *, expected: int) -> None:
        """Store ``consumer``'s feed position, if it is still at ``expected``."""
        name = check_consumer(consumer, position, expected)
        try:
            with self._write("store a feed position") as conn:
                moved = move_position(conn, self._mark, name, position, expected)
        except StoreError as exc:
            if not isinstance(exc.__cause__, self._unique):
                raise
            moved = False
        if not moved:
            raise FeedPositionConflict(name, expected, self.tracked(name))

    def _update(
        self, case: Case, entries: Sequence[AuditEntry], expected_revision: int
    ) -> tuple[str, tuple[Any, ...], str]:
        """The commit's conditional UPDATE, its parameters, and the row's new text."""
        m = self._mark
        head = entries[-1].head if entries else None
        values = _sql.case_row(case, _sql.changed_at(entries, -1), head or ChainHead(0, ""))
        changed = None if values[7] == -1 else values[7]
        where = f"id = {m} AND revision = {m}"
        params: list[Any] = [case.id, expected_revision]
        if entries:
            where += f" AND head_seq = {m} AND head_hash = {m}"
            params += [entries[0].seq - 1, entries[0].prev_hash]
        sql = (
            f"UPDATE casework_cases SET workflow = {m}, version = {m}, state = {m},"  # noqa: S608 - fixed names
            f" revision = {m}, assignee = {m}, opened_at = {m},"
            f" changed_at = COALESCE({m}, changed_at), head_seq = COALESCE({m}, head_seq),"
            f" head_hash = COALESCE({m}, head_hash), body = {m}, due_at = {m}, timer_at = {m},"
            f" unit = {m}, lease_until = NULL WHERE {where}"
        )
        args = (
            *values[1:7],
            changed,
            None if head is None else head.seq,
            None if head is None else head.hash,
            *values[10:],
            *params,
        )
        return sql, args, values[10]

    def _missed(self, conn: Any, case_id: str, expected_revision: int) -> None:  # noqa: ANN401
        """Raise why a commit's UPDATE matched no row: no such case, or it moved on."""
        row = conn.execute(
            f"SELECT revision FROM casework_cases WHERE id = {self._mark}",  # noqa: S608 - fixed names
            (case_id,),
        ).fetchone()
        if row is None:
            raise UnknownCase(case_id)
        raise ConcurrentModification(case_id, expected_revision, row[0])

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's whole trail, oldest first."""
        entries = self._entries(case_id, None)
        if not entries:
            self.load(case_id)
        return entries

    def _entries(
        self, case_id: str, upto: int | None, *, after: int | None = None
    ) -> tuple[AuditEntry, ...]:
        m = self._mark
        bound = "" if upto is None else f" AND seq <= {m}"
        params: list[Any] = [case_id] if upto is None else [case_id, upto]
        if after is not None:
            bound += f" AND seq > {m}"
            params.append(after)
        rows = self._rows(
            "read a trail",
            f"SELECT seq, body FROM casework_entries WHERE case_id = {m}{bound} ORDER BY seq",  # noqa: S608 - fixed names
            params,
        )
        out = []
        parse = self._parsed()
        for seq, body in rows:
            try:
                out.append(parse(body))
            except TrailBroken as exc:
                msg = (
                    f"{self._where}: stored entry {seq} of {case_id} cannot be read: {exc.problem}"
                )
                raise StoreError(msg, case_id=case_id, seq=seq) from None
        return tuple(out)

    def heads(self) -> Iterator[tuple[str, ChainHead]]:
        """Yield every case's id and head, in id order, ten thousand rows a read."""
        m = self._mark
        sql = (
            f"SELECT id, head_seq, head_hash FROM casework_cases WHERE id > {m}"  # noqa: S608 - fixed names
            f" ORDER BY id LIMIT {m}"
        )
        after = ""
        while True:
            rows = self._rows("read the heads", sql, (after, _HEADS_PAGE))
            for case_id, seq, digest in rows:
                yield case_id, ChainHead(seq, digest)
            if len(rows) < _HEADS_PAGE:
                return
            after = rows[-1][0]

    def scan(self, *, after: str | None = None, limit: int = 500) -> Sequence[Stored]:
        """Return up to ``limit`` cases after ``after`` with their trails, in one read."""
        _cursor.check_limit(limit)
        rows = self._rows(
            "read cases and trails", _sql.SCAN.format(m=self._mark), (after or "", limit)
        )
        return [
            _sql.stored(case_id, list(group), self._where)
            for case_id, group in itertools.groupby(rows, key=lambda r: r[0])
        ]

    def stray_trails(self) -> Sequence[str]:
        """The case ids that have entries but no case row."""
        rows = self._rows("look for stray trails", _sql.STRAYS)
        return tuple(sorted(r[0] for r in rows))

    def find(
        self, query: Query | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page:
        """Return one page of matching cases, through the indexes."""
        q = query or Query()
        sql, params = _sql.select_cases(q, limit=limit, after=after, mark=self._mark)
        rows = self._rows("find cases", sql, params)
        return Page(
            tuple(_sql.case_from_body(r[10], self._where, r[0]) for r in rows[:limit]),
            _sql.page_cursor(rows, limit, column=_sql.order_column(q)),
        )

    def claim_timers(
        self, now: datetime, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> tuple[str, ...]:
        """Lease up to ``limit`` cases whose timer is due, skipping cases leased already."""
        _cursor.check_limit(limit)
        m = self._mark
        at, until = _sql.micros(now), _sql.micros(now + lease)
        pick = (
            f"SELECT id FROM casework_cases WHERE timer_at IS NOT NULL AND timer_at <= {m}"  # noqa: S608 - fixed names
            f" AND (lease_until IS NULL OR lease_until <= {m})"
            f" ORDER BY timer_at, id LIMIT {m}{self._skip_locked}"
        )
        with self._write("claim due timers") as conn:
            rows = conn.execute(
                f"UPDATE casework_cases SET lease_until = {m} WHERE id IN ({pick}) RETURNING id",  # noqa: S608 - fixed names
                (until, at, at, limit),
            ).fetchall()
        return tuple(sorted(r[0] for r in rows))

    def count_by_state(self, query: Query | None = None) -> Mapping[str, int]:
        """Return how many matching cases are in each state."""
        return {str(k): n for k, n in self.count_by(query, by="state").items()}

    def count_by(self, query: Query | None = None, *, by: str) -> Mapping[str | None, int]:
        """Return how many matching cases have each value of ``by`` (see `GROUPS`)."""
        column = check_group(by)
        where, params = _sql.filters(query or Query(), self._mark)
        sql = f"SELECT {column}, COUNT(*) FROM casework_cases"  # noqa: S608 - one of GROUPS
        if where:
            sql += " WHERE " + " AND ".join(where)  # pragma: no mutate - SQL ignores case
        grouped = sql + f" GROUP BY {column}"  # pragma: no mutate - SQL ignores case
        return {k: int(n) for k, n in self._rows("count cases", grouped, params)}

    def report(self, terminal: Terminal, **window: Any) -> Report:  # noqa: ANN401 - as Engine.report
        """The oversight report, computed in the database (see `Engine.report`)."""
        run, dialect = functools.partial(self._rows, "compute a report"), self._report_dialect
        return _reports_sql.report(run, dialect, terminal, mark=self._mark, **window)

    def __len__(self) -> int:
        count = "SELECT COUNT(*) FROM casework_cases"  # pragma: no mutate - SQL ignores case
        return int(self._rows("count cases", count)[0][0])
