"""The ``requirements:`` section of a workflow file: each requirement's title and source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Protocol

from ._file_readers import join
from ._file_schema import keys
from ._requirements import Requirement

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["read_requirements"]

_KEYS: Final = keys("requirement")


class Builder(Protocol):
    """What the file reader offers this section: its checks, each reporting a problem."""

    def fail(self, path: str, message: str) -> None: ...
    def keys(self, raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None: ...
    def mapping(self, raw: object, path: str) -> Mapping[str, Any] | None: ...


def read_requirements(builder: Builder, raw: object) -> dict[str, Requirement]:
    """The requirements by id: ``{SOP-4.2: {title: ..., source: ...}}``."""
    if raw is None:
        return {}
    doc = builder.mapping(raw, "requirements")
    out: dict[str, Requirement] = {}
    for rid, body in (doc or {}).items():
        at = join("requirements", rid)
        item = builder.mapping(body, at)
        if item is None:
            continue
        builder.keys(item, _KEYS, at)
        texts = {}
        for key in _KEYS:
            value = item.get(key, "")
            if not isinstance(value, str):
                builder.fail(join(at, key), f"{key} must be text, got {value!r}")
                value = ""
            texts[key] = value
        out[str(rid)] = Requirement(str(rid), **texts)
    return out
