"""Checking what a caller hands a shell, before anything is decided or read.

Wrong types and shapes are the caller's mistake, not a refusal by a rule: they raise
`InvalidInput` naming the argument, and nothing is written or recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._case import Actor
from ._frozen import EMPTY, FrozenMap, adopt, freeze, text_problem
from .exceptions import InvalidInput

__all__ = [
    "actor",
    "case_id",
    "data",
    "evidence",
    "optional_id",
    "reason",
    "record_name",
    "required_text",
    "text",
]

MAX_ID: Final = 200
_RECORD_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def case_id(value: object) -> str:
    """A case id: printable, non-blank, at most 200 characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("case_id", f"must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID or not value.isprintable():
        raise InvalidInput(
            "case_id", f"must be printable and at most {MAX_ID} characters: {value[:40]!r}"
        )
    return value


def text(value: str, where: str) -> str:
    """Text a store can keep and a hash can cover: no NUL, no lone surrogate."""
    why = text_problem(value)
    if why is not None:
        raise InvalidInput(where, f"{why}: {value[:40]!r}")
    return value


def actor(value: object, where: str = "actor") -> Actor:
    """An `Actor` with a non-empty id, and roles and units that are text."""
    if not isinstance(value, Actor):
        raise InvalidInput(where, f"expected an Actor, got {type(value).__name__}")
    if not isinstance(value.id, str) or not value.id:
        raise InvalidInput(where, "an actor needs a non-empty id")
    text(value.id, f"{where}.id")
    for part, names in (("roles", value.roles), ("units", value.units)):
        for name in names:
            if not isinstance(name, str):
                raise InvalidInput(f"{where}.{part}", f"expected text, got {name!r}")
            text(name, f"{where}.{part}")
    return value


def reason(value: object, where: str = "reason") -> str | None:
    """Optional text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(where, f"expected text, got {type(value).__name__}")
    return text(value, where)


def required_text(value: object, where: str, why: str) -> str:
    """Text that must not be blank; ``why`` says what needs it."""
    text = reason(value, where)
    if not (text and text.strip()):
        raise InvalidInput(where, why)
    return text


def optional_id(value: object, where: str) -> str | None:
    """An optional worker or unit id: a non-blank string or None."""
    if value is None:
        return None
    if not (isinstance(value, str) and value.strip()):
        raise InvalidInput(where, "must be a non-empty string or None")
    return text(value, where)


def data(value: Mapping[str, Any] | None) -> FrozenMap[Any]:
    """Case data: a mapping of field names to JSON values, deep-frozen."""
    if not value:
        if value is not None and not isinstance(value, Mapping):
            raise InvalidInput("data", "must be a mapping of field names to values")
        return EMPTY
    frozen: object = freeze(value, "data")
    if frozen.__class__ is not FrozenMap:
        raise InvalidInput("data", "must be a mapping of field names to values")
    return frozen


def evidence(value: Mapping[str, str] | None) -> FrozenMap[str]:
    """Documents: a mapping of non-empty document kinds to non-empty references."""
    if not value:
        return EMPTY
    if not isinstance(value, Mapping):
        raise InvalidInput("evidence", "must map document kinds to references")
    for kind, ref in value.items():
        if not (isinstance(kind, str) and kind and isinstance(ref, str) and ref):
            raise InvalidInput(
                f"evidence.{kind}", "document kind and reference must be non-empty strings"
            )
        text(kind, "evidence")
        text(ref, f"evidence.{kind}")
    return adopt(dict(value))


def record_name(value: object) -> str:
    """The name of a record (``home_visit_observation``)."""
    if not isinstance(value, str) or not _RECORD_NAME.match(value):
        raise InvalidInput("what", f"{value!r} must be an identifier like home_visit")
    return value
