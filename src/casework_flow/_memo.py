"""A bounded memo for values the hot path meets again and again.

Guard verdicts and the JSON of ids, states, events and roles recur from step to step, so
the engine keeps them rather than building them anew. Bounded: once full, a memo is
emptied and refilled, so what is met once (a client's reason, a hash) costs a lookup
more but never grows it without end. Safe to share between threads: what it holds is
always what ``make`` would build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

__all__ = ["MEMO_SIZE", "Memo"]

K = TypeVar("K")
V = TypeVar("V")

MEMO_SIZE: Final = 4096
"""How many values a memo holds before it starts again."""


class Memo(dict[K, V]):
    """``memo[key]`` is ``make(key)``, kept for the next time."""

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[K], V]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: K) -> V:
        if len(self) >= MEMO_SIZE:
            self.clear()
        value = self[key] = self._make(key)
        return value
