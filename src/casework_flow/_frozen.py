"""Immutable JSON-shaped data, so a case's data cannot be changed behind the store's back.

Case data is whatever a host records (aliases, places, outcomes); it must survive a JSON
round trip unchanged, because it is hashed into the audit trail and replayed from it. So
it is checked and deep-frozen once at the boundary: mappings become `FrozenMap`, lists
become tuples, and anything that JSON cannot carry is refused with the path to it.
"""

from __future__ import annotations

import math
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar, final

from .exceptions import InvalidInput

__all__ = [
    "EMPTY",
    "MAX_SAFE_INT",
    "FrozenMap",
    "adopt",
    "freeze",
    "frozen_map",
    "text_problem",
    "thaw",
]

V = TypeVar("V")

_MAX_DEPTH = 32
MAX_SAFE_INT = 2**53 - 1
"""The largest integer every JSON reader keeps exactly (I-JSON, RFC 7493)."""


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored and hashed as text (None: it can).

    A NUL character is refused by PostgreSQL and a lone surrogate cannot be encoded
    as UTF-8; both are refused where text comes in, so no store sees them.
    """
    if "\x00" in value:
        return "contains a NUL character"
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not text"
    return None


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

    def get(self, key: str, default: Any = None) -> Any:  # noqa: ANN401 - as dict.get
        """Return the value for ``key``, or ``default``."""
        return self._d.get(key, default)

    def keys(self) -> KeysView[str]:
        """Return the keys, as dict does."""
        return self._d.keys()

    def values(self) -> ValuesView[V]:
        """Return the values, as dict does."""
        return self._d.values()

    def items(self) -> ItemsView[str, V]:
        """Return the items, as dict does."""
        return self._d.items()

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
        extra = other._d if other.__class__ is FrozenMap else other  # noqa: SLF001 - same class
        if not extra:
            return self
        if not self._d:
            return other if other.__class__ is FrozenMap else FrozenMap(other)
        return adopt({**self._d, **extra})

    def without(self, key: str) -> FrozenMap[V]:
        """Return a new map without ``key`` (this one when it has no such key)."""
        if key not in self._d:
            return self
        return adopt({k: v for k, v in self._d.items() if k != key})

    def as_dict(self) -> dict[str, V]:
        """Return a shallow, mutable copy."""
        return dict(self._d)


def frozen_map(value: Mapping[str, Any] | None) -> FrozenMap[Any]:
    """A field converter: a frozen map is kept as it is, any other mapping is copied."""
    return (
        value if isinstance(value, FrozenMap) else FrozenMap(value)
    )  # pragma: no mutate - a frozen map's copy equals it


def adopt(items: dict[str, V]) -> FrozenMap[V]:
    """Wrap a dict that nobody else holds, without copying it (the engine's fast path)."""
    m: FrozenMap[V] = object.__new__(FrozenMap)
    m._d = items  # noqa: SLF001 - this module's own class
    m._h = None  # noqa: SLF001
    return m


EMPTY: FrozenMap[Any] = FrozenMap()


class _Unusable(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        self.path: list[str] = []


def freeze(value: object, where: str = "data") -> Any:  # noqa: ANN401 - JSON is untyped
    """Check that ``value`` is JSON data and return a deep-frozen copy of it.

    Accepted: None, bool, int, finite float, str, and lists/tuples and string-keyed
    mappings of these. Anything else raises `InvalidInput` naming the path to it.

    >>> freeze({"visits": [1, 2], "note": None})
    FrozenMap({'visits': (1, 2), 'note': None})
    """
    try:
        return _freeze(value, 0)
    except _Unusable as bad:
        raise InvalidInput(where + "".join(reversed(bad.path)), bad.message) from None


def _freeze(value: object, depth: int) -> Any:  # noqa: ANN401 - JSON is untyped
    if isinstance(value, Mapping):
        return _freeze_mapping(value, depth)
    if isinstance(value, list | tuple):
        return _freeze_sequence(value, depth)
    return _scalar(value)


def _scalar(value: object) -> Any:  # noqa: ANN401 - JSON is untyped
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        why = text_problem(value)
        if why is not None:
            raise _Unusable(why)
        return str(value)
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise _Unusable("an integer beyond ±(2**53 - 1) cannot be kept exactly in JSON")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unusable(f"{value!r} is not a finite number")
        return float(value)
    raise _Unusable(f"{type(value).__name__} value {value!r} cannot be stored; use JSON data")


def _freeze_sequence(value: list[Any] | tuple[Any, ...], depth: int) -> tuple[Any, ...]:
    if depth >= _MAX_DEPTH:
        raise _Unusable(f"nested deeper than {_MAX_DEPTH} levels")
    items = []
    for i, item in enumerate(value):
        try:
            items.append(_freeze(item, depth + 1))
        except _Unusable as bad:
            bad.path.append(f"[{i}]")
            raise
    return tuple(items)


def _freeze_mapping(value: Mapping[Any, Any], depth: int) -> FrozenMap[Any]:
    if depth >= _MAX_DEPTH:
        raise _Unusable(f"nested deeper than {_MAX_DEPTH} levels")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            raise _Unusable(f"key {key!r} is not a string")
        why = text_problem(key)
        if why is not None:
            raise _Unusable(f"key {key!r} {why}")
        try:
            out[key] = _freeze(item, depth + 1)
        except _Unusable as bad:
            bad.path.append(f".{key}")
            raise
    return adopt(out)


def thaw(value: object) -> Any:  # noqa: ANN401 - JSON is untyped
    """Turn frozen data back into plain dicts and lists (for JSON encoding)."""
    if isinstance(value, FrozenMap):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
