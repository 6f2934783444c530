"""Run the engine's synchronous code on an event loop, its I/O awaited, not copied.

The async engine does not repeat the shell's loop or any command: it runs the very
same synchronous methods inside a greenlet, and the store, where it would block on the
database, hands the awaitable to the event loop instead (`await_only`) and resumes
with its result. This is how SQLAlchemy's asyncio extension runs its ORM; greenlet is
the field's standard for it. Nothing in the pure core knows.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .exceptions import StoreError

__all__ = ["await_only", "greenlet_spawn", "in_bridge"]

T = TypeVar("T")

try:
    import greenlet
except ImportError:  # pragma: no cover - exercised only without the extra installed
    greenlet = None


def _greenlet() -> Any:  # noqa: ANN401 - the greenlet module
    if greenlet is None:  # pragma: no cover - without the extra
        msg = "the async PostgreSQL store needs greenlet: install casework-flow[async]"
        raise StoreError(msg)
    return greenlet


def in_bridge() -> bool:
    """Whether this code runs inside `greenlet_spawn` (so `await_only` may be used)."""
    return greenlet is not None and getattr(greenlet.getcurrent(), "bridged", False)


def await_only(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` on the event loop from synchronous code under `greenlet_spawn`.

    Raises:
        StoreError: when called outside `greenlet_spawn` (an async store used from
            synchronous code: use the `AsyncEngine`).
    """
    if not in_bridge():
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        msg = "an async store can only be used through AsyncEngine (await its methods)"
        raise StoreError(msg)
    current = greenlet.getcurrent()
    result: T = current.parent.switch(awaitable)
    return result


async def greenlet_spawn(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:  # noqa: ANN401
    """Run ``fn(*args, **kwargs)`` in a greenlet, awaiting what it hands to `await_only`."""
    g = _greenlet()

    def run() -> T:
        return fn(*args, **kwargs)

    child = g.greenlet(run)
    child.bridged = True
    result: Any = child.switch()
    while not child.dead:
        try:
            value = await result
        except BaseException:  # noqa: BLE001 - handed back to the code that awaited it
            result = child.throw(*sys.exc_info())
        else:
            result = child.switch(value)
    return result  # type: ignore[no-any-return]
