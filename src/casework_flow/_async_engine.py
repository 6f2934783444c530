"""`AsyncEngine`: every engine command as a coroutine, with no second copy of any of them.

Each method awaits the synchronous `Engine` method of the same name. On a store that
blocks (`SQLiteStore`, `InMemoryStore`, `PostgresStore`) it runs in a worker thread; on
`AsyncPostgresStore` it runs in a greenlet on the event loop, the store awaiting
psycopg's async pool wherever it would block (`_bridge`). Either way the load, the
pure decision and the commit are the ones `Engine` runs. Commands on one case take
turns (an asyncio lock per case), so the tasks of one process do not race each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from ._bridge import greenlet_spawn
from ._definition import Workflow
from ._engine import Engine
from ._observe import RefusalListener
from ._shell import Listener
from .stores import FeedPage, Store

__all__ = ["AsyncEngine"]

P = ParamSpec("P")
R = TypeVar("R")
_TURNS: Final = 64


def _bridged(
    method: Callable[Concatenate[Engine, P], R], *, case_arg: int | None = 0
) -> Callable[Concatenate[AsyncEngine, P], Coroutine[Any, Any, R]]:
    """The coroutine of ``method``: awaited in a thread or a greenlet, in the case's turn."""

    async def call(self: AsyncEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        case_id = args[case_arg] if case_arg is not None and len(args) > case_arg else None
        return await self._call(method, case_id, *args, **kwargs)

    call.__name__ = call.__qualname__ = method.__name__
    call.__doc__ = f"Await `Engine.{method.__name__}`.\n\n{method.__doc__ or ''}"
    return call


class AsyncEngine:
    """The engine for asyncio hosts (FastAPI ``async def`` endpoints, aiohttp, workers).

    Takes what `Engine` takes; every command of `Engine` is here as a coroutine with the
    same arguments and results (``await engine.fire(case_id, event, actor=...)``).
    Registering workflows and listeners stays synchronous. With `AsyncPostgresStore`
    no call blocks the event loop; with another store each call runs in a worker
    thread.

    >>> import asyncio
    >>> from casework_flow import Actor, State, Transition, Workflow
    >>> wf = Workflow("demo", 1, "open_", states=[State("open_"), State("done", terminal=True)],
    ...               transitions=[Transition("close", "open_", "done")])
    >>> engine = AsyncEngine([wf])
    >>> async def story():
    ...     await engine.open("demo", "C-1", actor=Actor("sw-1", {"social_worker"}))
    ...     return await engine.fire("C-1", "close", actor=Actor("sw-1", {"social_worker"}))
    >>> asyncio.run(story())
    <Case C-1 done rev=2>
    """

    __slots__ = ("_bridge", "_engine", "_turns")

    def __init__(self, workflows: Iterable[Workflow] = (), **engine_args: Any) -> None:  # noqa: ANN401
        self._face(Engine(workflows, **engine_args))

    @classmethod
    def around(cls, engine: Engine) -> AsyncEngine:
        """The async face of an existing engine (its store, workflows and listeners)."""
        self = cls.__new__(cls)
        self._face(engine)
        return self

    def _face(self, engine: Engine) -> None:
        self._bridge = bool(getattr(engine.store, "_async", False))
        self._engine = engine._without_turns() if self._bridge else engine  # noqa: SLF001
        self._turns = tuple(asyncio.Lock() for _ in range(_TURNS))

    def __repr__(self) -> str:
        return f"<AsyncEngine {self._engine!r}>"

    @property
    def engine(self) -> Engine:
        """The synchronous engine underneath (for its workflows, calendar, catalog)."""
        return self._engine

    @property
    def store(self) -> Store:
        """The store cases live in."""
        return self._engine.store

    async def _call(
        self,
        method: Callable[..., R],
        case_id: object,
        *args: Any,  # noqa: ANN401
        **kwargs: Any,  # noqa: ANN401
    ) -> R:
        turn = (
            self._turns[hash(case_id) % _TURNS]
            if isinstance(case_id, str)
            else contextlib.nullcontext()
        )
        async with turn:
            if self._bridge:
                return await greenlet_spawn(method, self._engine, *args, **kwargs)
            return await asyncio.to_thread(method, self._engine, *args, **kwargs)

    def register(self, workflow: Workflow) -> None:
        """Register (and compile) a workflow version (see `Engine.register`)."""
        self._engine.register(workflow)

    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """Return a registered workflow (see `Engine.workflow`)."""
        return self._engine.workflow(name, version)

    def on_commit(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(Committed)`` after every committed step (see `Engine.on_commit`)."""
        return self._engine.on_commit(listener)

    def on_refusal(self, listener: RefusalListener) -> Callable[[], None]:
        """Call ``listener(Refused)`` after every refusal (see `Engine.on_refusal`)."""
        return self._engine.on_refusal(listener)

    def retrying(self, attempts: int) -> AsyncEngine:
        """This engine with ``attempts`` tries per command (see `Engine.retrying`)."""
        other = type(self).around(self._engine.retrying(attempts))
        other._turns = self._turns  # noqa: SLF001 - the same turns for the same cases
        return other

    open = _bridged(Engine.open, case_arg=1)
    open_many = _bridged(Engine.open_many, case_arg=None)
    fire = _bridged(Engine.fire)
    fire_retrying = _bridged(Engine.fire_retrying)
    can_fire = _bridged(Engine.can_fire)
    available_events = _bridged(Engine.available_events)
    actions = _bridged(Engine.actions)
    get = _bridged(Engine.get)
    trail = _bridged(Engine.trail)
    relatives = _bridged(Engine.relatives)
    record = _bridged(Engine.record)
    approve = _bridged(Engine.approve)
    reject = _bridged(Engine.reject)
    assign = _bridged(Engine.assign)
    reassign = _bridged(Engine.reassign, case_arg=None)
    read = _bridged(Engine.read)
    read_trail = _bridged(Engine.read_trail)
    link = _bridged(Engine.link)
    refer = _bridged(Engine.refer)
    transfer = _bridged(Engine.transfer)
    request_transfer = _bridged(Engine.request_transfer)
    accept_transfer = _bridged(Engine.accept_transfer)
    refuse_transfer = _bridged(Engine.refuse_transfer)
    accept_handover = _bridged(Engine.accept_handover)
    reject_handover = _bridged(Engine.reject_handover)
    complete_handover = _bridged(Engine.complete_handover)
    revoke_handover = _bridged(Engine.revoke_handover)
    run_timer = _bridged(Engine.run_timer)
    run_due = _bridged(Engine.run_due, case_arg=None)
    run_retention = _bridged(Engine.run_retention, case_arg=None)
    erase = _bridged(Engine.erase)
    due = _bridged(Engine.due, case_arg=None)
    overdue = _bridged(Engine.overdue, case_arg=None)
    awaiting_decision = _bridged(Engine.awaiting_decision, case_arg=None)
    count_awaiting = _bridged(Engine.count_awaiting, case_arg=None)
    due_soon = _bridged(Engine.due_soon, case_arg=None)
    overdue_cases = _bridged(Engine.overdue_cases, case_arg=None)
    idle = _bridged(Engine.idle, case_arg=None)
    caseload = _bridged(Engine.caseload, case_arg=None)
    report = _bridged(Engine.report, case_arg=None)
    plan_migration = _bridged(Engine.plan_migration, case_arg=None)
    migrate = _bridged(Engine.migrate, case_arg=None)
    import_trail = _bridged(Engine.import_trail, case_arg=None)
    verify = _bridged(Engine.verify)
    verify_store = _bridged(Engine.verify_store, case_arg=None)
    checkpoint = _bridged(Engine.checkpoint, case_arg=None)

    async def feed(self, *, after: int = 0, limit: int = 500) -> FeedPage:
        """The store's change feed after ``after`` (see `Store.feed`)."""
        store = self._engine.store
        return await self._call(lambda _e: store.feed(after=after, limit=limit), None)

    async def tracked(self, consumer: str) -> int:
        """The feed position stored for ``consumer`` (see `Store.tracked`)."""
        store = self._engine.store
        return await self._call(lambda _e: store.tracked(consumer), None)

    async def track(self, consumer: str, position: int, *, expected: int) -> None:
        """Store ``consumer``'s feed position (see `Store.track`)."""
        store = self._engine.store
        await self._call(lambda _e: store.track(consumer, position, expected=expected), None)
