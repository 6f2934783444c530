"""Canonical JSON for hashing: the bytes an audit entry's hash covers.

Format 2 (the current one) is RFC 8785, the JSON Canonicalization Scheme, as the
``rfc8785`` package writes it: anyone with a JCS library in any language can recompute an
entry's hash from its JSON. Format 1, what casework_flow wrote before format 2 (up to
0.1.0.dev0 of December 2026), is Python's ``json`` with sorted keys, no spaces and
UTF-8; it agrees with JCS except on numbers with a fraction and on key order around
characters beyond U+FFFF, and trails in it still verify.

`canonical` is the one encoder; `AuditEntry.body` is the one definition of what goes in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import rfc8785

__all__ = ["ABSENT", "FORMAT", "FORMATS", "canonical", "plain_text"]

FORMAT: Final = 2
"""The version of the entry encoding that new entries are written in."""

FORMATS: Final = frozenset({1, 2})
"""Every entry encoding this release reads and verifies."""


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Final[Any] = _Absent()
"""The ``before`` of a `Change` to a field that had no value."""

_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)

_FIRST_OUT_OF_ORDER: Final = "\ue000"
"""Keys with a character from here up may sort differently by UTF-16 (JCS) than by code
point (Python); below it, both orders agree."""


def _plain(value: object) -> bool:
    """Whether Python's encoder writes ``value`` exactly as JCS does.

    They differ only on floats and on the order of keys holding characters at or above
    U+E000; everything else (strings, integers in the safe range, booleans, null) is
    written the same. The check is cheaper than the pure-Python JCS encoder.
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if not key.isascii() and max(key) >= _FIRST_OUT_OF_ORDER:
                return False
            if type(item) not in _SCALARS and not _plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) in _SCALARS or _plain(item) for item in value)  # type: ignore[attr-defined]
    return kind is not float


_SCALARS: Final = frozenset({str, int, bool, type(None)})


def canonical(
    value: Mapping[str, Any],
    format: int = FORMAT,  # noqa: A002
    *,
    free: Iterable[object] | None = None,
) -> bytes:
    """Encode JSON data canonically in the given entry format.

    Args:
        value: The JSON object.
        format: The entry format.
        free: The only parts of ``value`` that may hold a float or a key from U+E000
            up, when the caller knows (an entry's data values and the objects keyed by
            the host); without it, all of ``value`` is looked at.

    Raises:
        ValueError: for a format this release does not know.
    """
    text = plain_text(value, format, free=free)
    if text is not None:
        return text.encode()
    if format == FORMAT:
        return rfc8785.dumps(value)
    raise ValueError(f"unknown entry format {format!r}")


def plain_text(
    value: Mapping[str, Any],
    format: int = FORMAT,  # noqa: A002
    *,
    free: Iterable[object] | None = None,
) -> str | None:
    """The canonical encoding as text, when Python's ``json`` writes it; else None.

    That is every format 1 encoding, and a format 2 one with no float and no key from
    U+E000 up. Such text also reads back to the same values (JCS writes ``1.0`` as
    ``1``, so its text for floats is not a faithful copy to store).
    """
    if format == 1 or (
        format == FORMAT and all(_plain(part) for part in ((value,) if free is None else free))
    ):
        return _ENCODER.encode(value)
    return None
