"""The ``links:`` section of a workflow file: each kind of link, its type, roles, closing."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from ._file_readers import join
from ._file_schema import keys
from ._links import Closing, LinkRule, LinkType

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["read_links"]

_LINK_KEYS: Final = keys("link")
_E = TypeVar("_E", bound=StrEnum)


class Builder(Protocol):
    """What the file reader offers this section: its checks, each reporting a problem."""

    def fail(self, path: str, message: str) -> None: ...
    def keys(self, raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None: ...
    def names(self, raw: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]: ...
    def mapping(self, raw: object, path: str) -> Mapping[str, Any] | None: ...
    def choice(
        self, doc: Mapping[str, Any], key: str, path: str, enum: type[_E], default: _E
    ) -> _E: ...


def read_links(builder: Builder, raw: object) -> dict[str, LinkRule]:
    """The kinds of link, each with its type, roles and what closing a family does."""
    if raw is None:
        return {}
    doc = builder.mapping(raw, "links")
    out: dict[str, LinkRule] = {}
    for kind, body in (doc or {}).items():
        at = join("links", kind)
        rule = builder.mapping(body, at)
        if rule is None:
            continue
        builder.keys(rule, _LINK_KEYS, at)
        kinds = ", ".join(str(t) for t in LinkType)
        link_type = rule.get("type")
        if link_type not in {str(t) for t in LinkType}:
            builder.fail(join(at, "type"), f"type must be one of {kinds}, got {link_type!r}")
            continue
        on_close = builder.choice(rule, "on_close", at, Closing, Closing.LEAVE)
        event = rule.get("close_event")
        if event is not None and not (isinstance(event, str) and event):
            builder.fail(join(at, "close_event"), "close_event must name an event")
            event = None
        roles = builder.names(rule, "roles", at)
        out[str(kind)] = LinkRule(str(kind), link_type, roles, on_close=on_close, close_event=event)
    return out
