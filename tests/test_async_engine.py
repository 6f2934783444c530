"""AsyncEngine: the engine's commands as coroutines, on psycopg's async pool or a thread.

The commands are `Engine`'s own, awaited: the same decisions, refusals and trails. Fifty
concurrent tasks lose no update on any store, and on PostgreSQL the event loop stays
free while they run and the pool bounds the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from casework_flow import (
    Actor,
    AsyncEngine,
    Engine,
    InMemoryStore,
    ManualClock,
    SQLiteStore,
    State,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from casework_flow.actions import ActionStatus
from casework_flow.exceptions import InvalidInput, StoreError
from casework_flow.stores import AsyncPostgresStore

from .conftest import START
from .stores import pg_schema

WORKER = Actor("sw-017", {"social_worker"})
WORKFLOW = Workflow(
    "outreach",
    1,
    "found",
    states=[State("found"), State("closed", terminal=True)],
    transitions=[
        Transition("note", "found", None, requires=("note",)),
        Transition("close", "found", "closed", roles=["supervisor"]),
    ],
)


@contextlib.asynccontextmanager
async def _engine(kind: str, tmp_path: Path, **kw: object) -> AsyncIterator[AsyncEngine]:
    clock = ManualClock(START)
    if kind == "memory":
        yield AsyncEngine([WORKFLOW], store=InMemoryStore(), clock=clock)
    elif kind == "sqlite":
        with SQLiteStore(tmp_path / "cases.sqlite3") as store:
            yield AsyncEngine([WORKFLOW], store=store, clock=clock)
    else:
        with pg_schema() as dsn:
            async with await AsyncPostgresStore.open(dsn, **kw) as store:  # type: ignore[arg-type]
                yield AsyncEngine([WORKFLOW], store=store, clock=clock)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_fifty_concurrent_tasks_lose_no_update(kind, tmp_path):
    async def story() -> None:
        async with _engine(kind, tmp_path) as engine:
            await engine.open("outreach", "C-1", actor=WORKER)
            await asyncio.gather(
                *(
                    engine.fire("C-1", "note", actor=WORKER, data={"note": f"n{i}"})
                    for i in range(50)
                )
            )
            await asyncio.gather(
                *(engine.open("outreach", f"D-{i}", actor=WORKER) for i in range(50))
            )
            await asyncio.gather(
                *(
                    engine.fire(f"D-{i}", "note", actor=WORKER, data={"note": "x"})
                    for i in range(50)
                )
            )
            case = await engine.get("C-1")
            assert case.revision == 51
            trail = await engine.trail("C-1")
            assert sorted(e.changes[0].after for e in trail[1:]) == sorted(
                f"n{i}" for i in range(50)
            )
            assert replay(WORKFLOW, trail) == case
            assert (await engine.verify("C-1")).ok
            assert [(await engine.get(f"D-{i}")).revision for i in range(50)] == [2] * 50
            page = await engine.feed(limit=1000)
            assert [i.position for i in page.items] == list(range(1, 152))

    asyncio.run(story())


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_refusals_actions_and_listeners_are_the_engines_own(kind, tmp_path):
    async def story() -> None:
        async with _engine(kind, tmp_path) as engine:
            heard: list[str] = []
            engine.on_commit(lambda c: heard.append(c.entry.event))
            refused: list[str] = []
            engine.on_refusal(lambda r: refused.append(r.event))
            await engine.open("outreach", "C-1", actor=WORKER)
            with pytest.raises(TransitionRejected) as info:
                await engine.fire("C-1", "close", actor=WORKER)
            assert [v.check for v in info.value.reasons] == ["role"]
            actions = {a.event: a.status for a in await engine.actions("C-1", actor=WORKER)}
            assert actions == {"note": ActionStatus.NEEDS_INPUT, "close": ActionStatus.BLOCKED}
            spv = Actor("spv-002", {"supervisor"})
            assert (await engine.retrying(3).fire("C-1", "close", actor=spv)).state == "closed"
            assert heard == ["open", "close"]
            assert refused == ["close"]
            assert [e.kind.value for e in await engine.trail("C-1")] == [
                "opened",
                "refused",
                "transition",
            ]

    asyncio.run(story())


def test_on_postgres_the_loop_stays_free_and_the_pool_bounds_connections():
    async def story(dsn: str) -> None:
        async with await AsyncPostgresStore.open(dsn, max_size=4) as store:
            engine = AsyncEngine([WORKFLOW], store=store, clock=ManualClock(START))
            ticks = 0
            done = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not done.is_set():
                    ticks += 1
                    await asyncio.sleep(0)

            async def load() -> None:
                await asyncio.gather(
                    *(engine.open("outreach", f"L-{i}", actor=WORKER) for i in range(50))
                )
                done.set()

            await asyncio.gather(ticker(), load())
            assert ticks > 50, "the event loop ran other tasks while the steps ran"
            stats = store.pool.get_stats()
            assert 1 <= stats["pool_size"] <= 4
            assert stats.get("requests_num", 0) >= 50
            assert len((await engine.feed(limit=100)).items) == 50

    with pg_schema() as dsn:
        asyncio.run(story(dsn))


def test_an_async_store_used_without_the_async_engine_says_so():
    async def story(dsn: str) -> None:
        async with await AsyncPostgresStore.open(dsn) as store:
            with pytest.raises(StoreError, match="only be used through AsyncEngine"):
                Engine([WORKFLOW], store=store).open("outreach", "C-1", actor=WORKER)
            with pytest.raises(InvalidInput, match="aclose"):
                store.close()
        with pytest.raises(InvalidInput, match="open"):
            AsyncPostgresStore()
        with pytest.raises(StoreError, match="could not connect"):
            await AsyncPostgresStore.open("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)

    with pg_schema() as dsn:
        asyncio.run(story(dsn))


def test_every_command_of_the_engine_has_its_coroutine():
    from casework_flow import Engine  # noqa: PLC0415

    engine = {n for n in dir(Engine) if not n.startswith("_")}
    awaited = {n for n in dir(AsyncEngine) if not n.startswith("_")}
    assert engine - awaited == {"calendar", "catalog", "directory", "system_actor", "using"}


def test_an_erasure_and_the_retention_run_are_awaited():
    import os  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from casework_flow import Actor, ManualClock, State, Transition, Workflow  # noqa: PLC0415
    from casework_flow.keys import ERASED, InMemoryKeyStore  # noqa: PLC0415
    from casework_flow.time import Retention  # noqa: PLC0415

    wf = Workflow(
        name="kept", version=1, initial="open", personal={"name"},
        retention=Retention(years=1, erase=True),
        states=[State("open"), State("closed", terminal=True)],
        transitions=[Transition("close", source="open", dest="closed")],
    )  # fmt: skip
    clock = ManualClock(datetime(2024, 1, 1, tzinfo=UTC))
    engine = AsyncEngine([wf], clock=clock, keys=InMemoryKeyStore(os.urandom(32)))
    worker, spv, deputy = Actor("w"), Actor("s1", {"supervisor"}), Actor("s2", {"supervisor"})

    async def story() -> None:
        for case_id in ("A", "B"):
            await engine.open("kept", case_id, actor=worker, data={"name": "Sari"})
            await engine.fire(case_id, "close", actor=worker)
        erased = await engine.erase("A", actor=spv, second=deputy, reason="Asked.")
        assert erased.data["name"] == ERASED
        clock.set(datetime(2025, 1, 2, tzinfo=UTC))
        assert (await engine.run_retention()).erased == ("B",)

    asyncio.run(story())
