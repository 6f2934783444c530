"""Immutable JSON-shaped data, so a case's data cannot be changed behind the store's back.

Case data is whatever a host records (aliases, places, outcomes); it must survive a JSON
round trip unchanged, because it is hashed into the audit trail and replayed from it. So
it is checked and deep-frozen once at the boundary: mappings become `FrozenMap`, lists
become tuples, and anything that JSON cannot carry is refused with the path to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar, final

from .exceptions import InvalidInput

__all__ = ["EMPTY", "FrozenMap", "freeze", "thaw"]

V = TypeVar("V")

_MAX_DEPTH = 32


@final
class FrozenMap(Mapping[str, V]):
    """A read-only, hashable mapping with string keys, equal to a dict with the same items.

    >>> m = FrozenMap({"b": 1, "a": 2})
    >>> m["a"], m == {"a": 2, "b": 1}, len(m)
    (2, True, 2)
    """

    __slots__ = ("_d", "_h")

    def __init__(self, items: Mapping[str, V] | None = None) -> None:
        self._d: dict[str, V] = dict(items) if items else {}
        self._h: int | None = None

    def __getitem__(self, key: str) -> V:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._d == other._d
        if isinstance(other, Mapping):
            return self._d == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._d!r})"

    def merged(self, other: Mapping[str, V]) -> FrozenMap[V]:
        """Return a new map with ``other``'s items laid over these."""
        if not other:
            return self
        return FrozenMap({**self._d, **other})

    def as_dict(self) -> dict[str, V]:
        """Return a shallow, mutable copy."""
        return dict(self._d)


EMPTY: FrozenMap[Any] = FrozenMap()


def freeze(value: object, where: str = "data", _depth: int = 0) -> Any:  # noqa: ANN401 - JSON is untyped
    """Check that ``value`` is JSON data and return a deep-frozen copy of it.

    Accepted: None, bool, int, finite float, str, and lists/tuples and string-keyed
    mappings of these. Anything else raises `InvalidInput` naming the path to it.

    >>> freeze({"visits": [1, 2], "note": None})
    FrozenMap({'visits': (1, 2), 'note': None})
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(where, f"{value!r} is not a finite number")
        return value
    if _depth >= _MAX_DEPTH:
        raise InvalidInput(where, f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(where, f"key {key!r} is not a string")
            out[key] = freeze(item, f"{where}.{key}", _depth + 1)
        return FrozenMap(out)
    if isinstance(value, list | tuple):
        return tuple(freeze(item, f"{where}[{i}]", _depth + 1) for i, item in enumerate(value))
    raise InvalidInput(
        where, f"{type(value).__name__} value {value!r} cannot be stored; use JSON data"
    )


def thaw(value: object) -> Any:  # noqa: ANN401 - JSON is untyped
    """Turn frozen data back into plain dicts and lists (for JSON encoding)."""
    if isinstance(value, FrozenMap):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
