"""The ``retention:`` key of a workflow file: how long personal data is kept, and then what."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._file_readers import join
from ._file_schema import keys
from ._timing import Retention

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["read_retention"]

_KEYS: Final = keys("retention")
_YEARS: Final = re.compile(r"^P(\d+)Y(.*)$")


class Builder(Protocol):
    """What the file reader offers this key: its checks, each reporting a problem."""

    def fail(self, path: str, message: str) -> None: ...
    def keys(self, raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None: ...
    def mapping(self, raw: object, path: str) -> Mapping[str, Any] | None: ...
    def flag(self, raw: Mapping[str, Any], key: str, path: str) -> bool: ...
    def duration(self, raw: Mapping[str, Any], key: str, path: str) -> timedelta | None: ...


def read_retention(builder: Builder, raw: object, path: str) -> Retention | None:
    """``{keep: P5Y, erase: true}``: calendar years and any duration besides."""
    doc = builder.mapping(raw, path)
    if doc is None:
        return None
    builder.keys(doc, _KEYS, path)
    keep = doc.get("keep")
    years, rest = 0, keep
    m = _YEARS.match(keep) if isinstance(keep, str) else None
    if m is not None:
        years, rest = int(m.group(1)), ("P" + m.group(2) if m.group(2) else None)
    more = timedelta(0)
    if rest is not None:
        found = builder.duration({"keep": rest}, "keep", path)
        if found is None:
            return None
        more = found
    try:
        return Retention(years, more, builder.flag(doc, "erase", path))
    except ValueError as exc:
        builder.fail(join(path, "keep"), str(exc))
        return None
