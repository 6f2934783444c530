"""The ``properties:`` section of a workflow file: rules over time, as `PropertySpec` values.

Each item names its rule, one pattern and its propositions, and optionally a scope, a
bound and the requirements it checks::

    properties:
    - name: a referral is answered within 14 days
      response: [{reach: referral_pending}, {not: {inside: referral_pending}}]
      within: P14D
      requirements: [REF-ANSWER-14D]
    - name: a timer never closes a case
      absence: {all: [{by_timer: true}, {terminal: true}]}
    - name: closed only after a termination review since the last reopening
      precedence: [{fires: terminate}, {reach: closed}]
      scope: {after: {any: [{opened: true}, {reopened: true}]}}

``precedence: [first, then]`` says that a ``then`` happens only after a ``first``;
``response: [trigger, answer]`` that every trigger is followed by an answer. The
writer (`_file_writers.properties_doc`) gives back what the reader takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from ._file_readers import join
from ._file_schema import keys
from ._property_specs import ATOMS, PAIRED, PATTERNS, SCOPES, PropertySpec, Term

__all__ = ["read_properties", "term"]

_KEYS: Final = keys("property")
_SCALARS: Final = (str, int, float, bool, type(None))
_WITH: Final = {"entry_kind": "event", "field_is": "value"}
"""The propositions that take a second key beside their own."""


class Builder(Protocol):
    """What the file reader offers this section: its checks, each reporting a problem."""

    def fail(self, path: str, message: str) -> None: ...
    def keys(self, raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None: ...
    def mapping(self, raw: object, path: str) -> Mapping[str, Any] | None: ...
    def text(
        self, raw: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> str: ...
    def names(self, raw: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]: ...
    def flag(self, raw: Mapping[str, Any], key: str, path: str) -> bool: ...
    def duration(self, raw: Mapping[str, Any], key: str, path: str) -> Any: ...  # noqa: ANN401


def _many(builder: Builder, raw: object, path: str, size: int | None) -> list[Term] | None:
    if not isinstance(raw, list) or (size is not None and len(raw) != size) or not raw:
        shape = f"a list of {size} propositions" if size else "a list of propositions"
        builder.fail(path, f"expected {shape}, got {raw!r}")
        return None
    found = [term(builder, item, f"{path}[{i}]") for i, item in enumerate(raw)]
    return None if any(t is None for t in found) else [t for t in found if t is not None]


def _atom(builder: Builder, kind: str, doc: Mapping[str, Any], path: str) -> Term | None:
    value = doc[kind]
    if kind in _WITH:
        builder.keys(doc, (kind, _WITH[kind]), path)
        return _field(builder, doc, path) if kind == "field_is" else _kind(builder, doc, path)
    builder.keys(doc, (kind,), path)
    named = ATOMS[kind]
    if value is True and (named is None or named.endswith("or true")):
        return (kind, None)
    if named is None:
        builder.fail(join(path, kind), f"{kind} takes true, got {value!r}")
        return None
    if not isinstance(value, str) or not value:
        builder.fail(join(path, kind), f"{kind} names a {named}, got {value!r}")
        return None
    return (kind, value)


def _field(builder: Builder, doc: Mapping[str, Any], path: str) -> Term | None:
    name, value = doc["field_is"], doc.get("value")
    if not isinstance(name, str) or not name or not isinstance(value, _SCALARS):
        builder.fail(
            path, "field_is names a data field and gives a value: {field_is: age, value: 18}"
        )
        return None
    return ("field_is", (name, value))


def _kind(builder: Builder, doc: Mapping[str, Any], path: str) -> Term | None:
    kind, event = doc["entry_kind"], doc.get("event")
    if not isinstance(kind, str) or not kind:
        builder.fail(join(path, "entry_kind"), f"entry_kind names an entry kind, got {kind!r}")
        return None
    if event is not None and (not isinstance(event, str) or not event):
        builder.fail(join(path, "event"), f"event must be an event's name, got {event!r}")
        return None
    return ("entry_kind", (kind, event))


def term(builder: Builder, raw: object, path: str) -> Term | None:
    """The proposition a mapping with one kind names (None: a problem was reported)."""
    doc = builder.mapping(raw, path)
    if doc is None:
        return None
    kinds = [k for k in doc if k in ATOMS or k in {"all", "any", "not"}]
    if len(kinds) != 1:
        known = ", ".join([*ATOMS, "all", "any", "not"])
        builder.fail(path, f"a proposition has exactly one of {known}; got {sorted(doc)}")
        return None
    kind = kinds[0]
    if kind in {"all", "any"}:
        builder.keys(doc, (kind,), path)
        parts = _many(builder, doc[kind], join(path, kind), None)
        return None if parts is None else (kind, tuple(parts))
    if kind == "not":
        builder.keys(doc, (kind,), path)
        inner = term(builder, doc[kind], join(path, kind))
        return None if inner is None else (kind, inner)
    return _atom(builder, kind, doc, path)


def _scope(builder: Builder, raw: object, path: str) -> tuple[str, tuple[Term, ...]] | None:
    if raw is None or raw == "globally":
        return ("globally", ())
    doc = builder.mapping(raw, path)
    if doc is None:
        return None
    if len(doc) != 1 or next(iter(doc)) not in SCOPES[1:]:
        builder.fail(
            path, f"a scope is globally or one of {', '.join(SCOPES[1:])}; got {dict(doc)!r}"
        )
        return None
    kind, body = next(iter(doc.items()))
    if kind in {"before", "after"}:
        one = term(builder, body, join(path, kind))
        return None if one is None else (kind, (one,))
    pair = _many(builder, body, join(path, kind), 2)
    return None if pair is None else (kind, tuple(pair))


def _spec(builder: Builder, raw: object, at: str) -> PropertySpec | None:
    item = builder.mapping(raw, at)
    if item is None:
        return None
    builder.keys(item, _KEYS, at)
    name = builder.text(item, "name", at, required=True)
    patterns = [k for k in PATTERNS if k in item]
    if len(patterns) != 1:
        builder.fail(at, f"a property has exactly one of {', '.join(PATTERNS)}; got {patterns}")
        return None
    pattern = patterns[0]
    where = join(at, pattern)
    if pattern in PAIRED:
        found = _many(builder, item[pattern], where, 2)
    else:
        one = term(builder, item[pattern], where)
        found = None if one is None else [one]
    scope = _scope(builder, item.get("scope"), join(at, "scope"))
    within = None
    if "within" in item:
        if pattern != "response":
            builder.fail(join(at, "within"), "within bounds a response only")
        within = builder.duration(item, "within", at)
    working = builder.flag(item, "working", at)
    if working and "within" not in item:
        builder.fail(join(at, "working"), "working counts a response's within on working days")
    requirements = builder.names(item, "requirements", at)
    if found is None or scope is None or not name:
        return None
    return PropertySpec(name, pattern, tuple(found), scope[0], scope[1], within, working,
                        requirements)  # fmt: skip


def read_properties(builder: Builder, raw: object) -> tuple[PropertySpec, ...]:
    """The ``properties:`` list of a workflow file."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        builder.fail("properties", "properties must be a list")
        return ()
    found = [_spec(builder, item, f"properties[{i}]") for i, item in enumerate(raw)]
    return tuple(s for s in found if s is not None)
