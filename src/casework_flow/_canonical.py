"""Canonical JSON for hashing: sorted keys, no spaces, UTF-8, no NaN.

`canonical` is the one encoder whose bytes an entry's hash covers; `AuditEntry.body`
is the one definition of what goes in. Changing the entry format is a change to those
two places and to `FORMAT`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ABSENT", "FORMAT", "canonical"]

FORMAT: Final = 1
"""The version of the entry encoding."""


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


def canonical(value: Mapping[str, Any]) -> bytes:
    """Encode JSON data canonically: the bytes an audit entry's hash covers."""
    return _ENCODER.encode(value).encode()
