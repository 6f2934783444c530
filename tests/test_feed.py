"""The change feed: every committed entry at a store-wide position, read without gaps.

A poller must never skip an entry, not even one whose transaction took its position
before another's and committed after it; a consumer's position may commit with its own
writes, which makes a projection exactly once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Engine,
    InvalidInput,
    ManualClock,
    PostgresStore,
    SQLiteStore,
    State,
    Transition,
    TransitionRejected,
    Workflow,
)
from casework_flow.exceptions import FeedPositionConflict
from casework_flow.stores import FeedItem, FeedPage, Store

from .conftest import START
from .stores import KINDS, make_store, pg_schema

WORKER = Actor("sw-017", {"social_worker"})
WORKFLOW = Workflow(
    "feed",
    1,
    "open",
    states=[State("open"), State("working"), State("closed", terminal=True)],
    transitions=[
        Transition("start", "open", "working"),
        Transition("close", "working", "closed", requires=("outcome",)),
    ],
)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with make_store(request.param, tmp_path) as s:
        yield s


def _engine(store: Store) -> Engine:
    return Engine([WORKFLOW], store=store, clock=ManualClock(START))


def _play(engine: Engine, case_id: str) -> None:
    """Open, start, a refused close (no outcome), then the close."""
    engine.open("feed", case_id, actor=WORKER)
    engine.fire(case_id, "start", actor=WORKER)
    with contextlib.suppress(TransitionRejected):
        engine.fire(case_id, "close", actor=WORKER)
    engine.fire(case_id, "close", actor=WORKER, data={"outcome": "reunited"})


def _drain(store: Store, after: int = 0, limit: int = 3) -> list[FeedItem]:
    items: list[FeedItem] = []
    while True:
        page = store.feed(after=after, limit=limit)
        if not page.items:
            assert page.position == after
            return items
        items += page.items
        after = page.position


def test_every_committed_entry_is_in_the_feed_in_commit_order_refusals_marked(store):
    engine = _engine(store)
    _play(engine, "C-1")
    _play(engine, "C-2")
    items = _drain(store)
    assert [i.position for i in items] == list(range(1, 9))
    assert [i.entry for i in items] == [*engine.trail("C-1"), *engine.trail("C-2")]
    assert [i.entry.event for i in items if i.refused] == ["close", "close"]
    assert [i.refused for i in items[:4]] == [False, False, True, False]
    assert store.feed(after=8) == FeedPage((), 8)
    assert store.feed(after=100) == FeedPage((), 100)
    assert store.feed(after=6, limit=5).items == tuple(items[6:])


def test_a_link_commits_both_cases_entries_at_consecutive_positions(store):
    from casework_flow.links import LinkRule  # noqa: PLC0415

    linked = Workflow(
        "feed",
        1,
        "open",
        states=[State("open"), State("closed", terminal=True)],
        transitions=[Transition("close", "open", "closed", roles=["social_worker"])],
        links=[LinkRule("family", "member_of")],
    )
    engine = Engine([linked], store=store, clock=ManualClock(START))
    engine.open("feed", "FAM-1", actor=WORKER)
    engine.open("feed", "CH-1", actor=WORKER)
    engine.link("CH-1", "FAM-1", kind="family", actor=WORKER)
    last = _drain(store)[-2:]
    assert [(i.position, i.entry.case_id, i.entry.kind.value) for i in last] == [
        (3, "CH-1", "linked"),
        (4, "FAM-1", "linked"),
    ]


@pytest.mark.parametrize(
    ("after", "limit", "field"), [(-1, 10, "after"), (True, 10, "after"), (0, 0, "limit")]
)
def test_a_bad_page_is_refused_in_words(store, after, limit, field):
    with pytest.raises(InvalidInput) as info:
        store.feed(after=after, limit=limit)
    assert info.value.field == field


def test_a_consumers_position_moves_only_from_where_it_is(store):
    assert store.tracked("relay") == 0
    store.track("relay", 5, expected=0)
    store.track("relay", 9, expected=5)
    with pytest.raises(FeedPositionConflict) as info:
        store.track("relay", 12, expected=5)
    assert (info.value.consumer, info.value.expected, info.value.stored) == ("relay", 5, 9)
    with pytest.raises(FeedPositionConflict):
        store.track("relay", 3, expected=0)
    with pytest.raises(InvalidInput, match="must not go back"):
        store.track("relay", 4, expected=9)
    with pytest.raises(InvalidInput):
        store.track(" ", 4, expected=0)

    for position, expected, field in (
        (-1, 0, "position"),
        (3, True, "expected"),
        ("3", 0, "position"),
    ):
        with pytest.raises(InvalidInput) as bad:
            store.track("relay", position, expected=expected)  # type: ignore[arg-type]
        assert bad.value.field == field
    assert store.tracked("relay") == 9
    assert store.tracked("projection") == 0


def test_a_consumer_never_tracked_is_not_moved_from_a_later_position(store):
    with pytest.raises(FeedPositionConflict) as info:
        store.track("new-relay", 10, expected=5)
    assert (info.value.expected, info.value.stored) == (5, 0)
    assert store.tracked("new-relay") == 0


@st.composite
def _writers(draw: st.DrawFn) -> list[int]:
    return draw(st.lists(st.integers(1, 4), min_size=2, max_size=5))


@pytest.mark.parametrize("kind", KINDS)
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(writers=_writers())
def test_a_polling_reader_sees_every_entry_of_concurrent_writers_once_in_order(
    kind, tmp_path, writers
):
    with make_store(kind, tmp_path) as store:
        engine = _engine(store)
        done = threading.Event()
        seen: list[FeedItem] = []

        def poll() -> None:
            after = 0
            while True:
                finished = done.is_set()
                page = store.feed(after=after, limit=4)
                seen.extend(page.items)
                after = page.position
                if finished and not page.items:
                    return

        def write(w: int, cases: int) -> None:
            for n in range(cases):
                _play(engine, f"W{w}-{n}")

        reader = threading.Thread(target=poll)
        reader.start()
        threads = [threading.Thread(target=write, args=(w, k)) for w, k in enumerate(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        reader.join()
        assert [i.position for i in seen] == list(range(1, len(seen) + 1))
        every = {(e.case_id, e.seq) for w, k in enumerate(writers) for n in range(k)
                 for e in engine.trail(f"W{w}-{n}")}  # fmt: skip
        assert {(i.entry.case_id, i.entry.seq) for i in seen} == every
        assert len(seen) == len(every) == 4 * sum(writers)
        for case_id in {i.entry.case_id for i in seen}:
            assert [i.entry for i in seen if i.entry.case_id == case_id] == list(
                engine.trail(case_id)
            )


@contextlib.contextmanager
def _two_stores(kind: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    if kind == "sqlite":
        path = tmp_path / "feed.sqlite3"
        with SQLiteStore(path) as a, SQLiteStore(path) as b:
            yield a, b
    else:
        with pg_schema() as dsn, PostgresStore(dsn) as a, PostgresStore(dsn) as b:
            yield a, b


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_writer_that_took_a_lower_position_holds_back_the_higher_until_it_commits(kind, tmp_path):
    """Writer A takes its position and stalls before COMMIT; writer B comes after.

    With a bare sequence B would commit position 2 first and a poller reading then would
    move past A's 1 for ever. Here B cannot take a position until A has committed, so
    the poller sees nothing new while A stalls, then A's entry before B's.
    """
    with _two_stores(kind, tmp_path) as (slow, fast):
        took, release = threading.Event(), threading.Event()
        numbered = slow._numbered  # type: ignore[attr-defined]

        def stall(conn: Any, entries: Any) -> Any:
            rows = numbered(conn, entries)
            took.set()
            assert release.wait(30)
            return rows

        slow._numbered = stall  # type: ignore[attr-defined]
        a = threading.Thread(target=lambda: _engine(slow).open("feed", "A-1", actor=WORKER))
        b = threading.Thread(target=lambda: _engine(fast).open("feed", "B-1", actor=WORKER))
        a.start()
        assert took.wait(30)
        b.start()
        b.join(timeout=1.0)
        assert b.is_alive(), "B waits for A's commit"
        assert fast.feed().items == ()
        release.set()
        a.join()
        b.join()
        assert [(i.position, i.entry.case_id) for i in fast.feed().items] == [
            (1, "A-1"),
            (2, "B-1"),
        ]


def _projection(kind: str, conn: Any) -> Callable[..., int]:
    mark = "?" if kind == "sqlite" else "%s"
    store = SQLiteStore.joining(conn) if kind == "sqlite" else PostgresStore.joining(conn)

    def step(fail: bool = False) -> int:
        """Project one page; its rows and the position commit together."""
        at = store.tracked("counts")
        page = store.feed(after=at, limit=3)
        for item in page.items:
            conn.execute(
                f"INSERT INTO counts VALUES ({mark}, {mark})",  # noqa: S608
                (item.position, item.entry.case_id),
            )
        store.track("counts", page.position, expected=at)
        if fail:
            conn.rollback()
            return 0
        conn.commit()
        return len(page.items)

    return step


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_projection_that_tracks_its_position_with_its_rows_is_exactly_once(kind, tmp_path):
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            path = tmp_path / "host.sqlite3"
            writer = stack.enter_context(SQLiteStore(path))
            conn: Any = stack.enter_context(contextlib.closing(sqlite3.connect(path)))
        else:
            dsn = stack.enter_context(pg_schema())
            writer = stack.enter_context(PostgresStore(dsn))
            conn = stack.enter_context(psycopg.connect(dsn))
        conn.execute("CREATE TABLE counts (position BIGINT PRIMARY KEY, case_id TEXT)")
        conn.commit()
        engine = _engine(writer)
        _play(engine, "C-1")
        step = _projection(kind, conn)
        assert step() == 3
        assert step(fail=True) == 0, "a crash before the commit loses the rows and position"
        _play(engine, "C-2")
        while step():
            pass
        rows = conn.execute("SELECT position, case_id FROM counts ORDER BY position").fetchall()
        conn.commit()
        assert [tuple(r) for r in rows] == [
            *((n, "C-1") for n in range(1, 5)),
            *((n, "C-2") for n in range(5, 9)),
        ]
        assert writer.tracked("counts") == 8
