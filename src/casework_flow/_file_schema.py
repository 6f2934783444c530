"""The keys of a workflow file and what each holds: one table, read by the loader and the schema.

The loader takes its lists of known keys from `FIELDS` (so a key the schema does not
know is one the loader refuses), and `workflow_schema` turns the same table, the
enums' own values and the guard language's kinds and operators into a JSON Schema
(draft 2020-12) for editors and CI. The tests hold the two to each other: every
example and test workflow validates, and a document the loader refuses for its
structure the schema refuses too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from ._definition import AssignScope
from ._guard_data import GUARD_KINDS, MEASURES, OPS
from ._handover import HandoverKind, OnClose, OnTransfer
from ._links import Closing, LinkType
from ._parts import OnMove
from ._property_specs import ATOMS

__all__ = ["FIELDS", "keys", "workflow_schema"]

SCHEMA_ID: Final = "https://casework-flow.readthedocs.io/schema/workflow.json"

TEXT: Final = {"type": "string"}
NAMES: Final = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ]
}
FLAG: Final = {"type": "boolean"}
DURATION: Final = {
    "type": "string",
    "pattern": r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$",
    "description": "An ISO 8601 duration such as P14D, PT4H or P1Y6M.",
}
LABELS: Final = {"type": "object", "additionalProperties": {"type": "string"}}
PAIR: Final = {
    "type": "array",
    "items": {"$ref": "#/$defs/proposition"},
    "minItems": 2,
    "maxItems": 2,
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _choice(enum: type[StrEnum]) -> dict[str, Any]:
    return {"enum": [str(e) for e in enum]}


FIELDS: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "workflow": {
        "name": TEXT, "version": {"type": "integer", "minimum": 1}, "initial": TEXT,
        "locales": NAMES, "personal": NAMES, "roles": NAMES, "description": TEXT,
        "record_roles": NAMES, "assign_roles": NAMES, "assign_scope": _choice(AssignScope),
        "unit_follows_assignee": FLAG, "handovers": _ref("handovers"),
        "personal_roles": NAMES, "log_personal_reads": FLAG, "cross_unit_roles": NAMES,
        "erase_roles": NAMES, "retention": _ref("retention"),
        "links": {"type": "object", "additionalProperties": _ref("link")},
        "requirements": {"type": "object", "additionalProperties": _ref("requirement")},
        "states": {"type": "array", "items": _ref("state"), "minItems": 1},
        "transitions": {"type": "array", "items": _ref("transition")},
        "properties": {"type": "array", "items": _ref("property")},
    },
    "state": {
        "id": {"type": "string", "minLength": 1}, "labels": LABELS, "description": TEXT,
        "terminal": FLAG, "deadline": _ref("deadline"),
        "timers": {"type": "array", "items": _ref("timer")},
        "states": {"type": "array", "items": _ref("state")}, "initial": TEXT,
        "parallel": FLAG, "history": FLAG, "final": FLAG, "on_done": TEXT,
        "requirements": NAMES, "invariant": _ref("guard"),
    },
    "deadline": {"within": DURATION, "working": FLAG, "pause_in": NAMES},
    "timer": {
        "after": DURATION, "event": {"type": "string", "minLength": 1}, "working": FLAG,
        "reason": TEXT, "reason_code": TEXT, "name": TEXT,
    },
    "transition": {
        "event": {"type": "string", "minLength": 1}, "source": NAMES,
        "dest": {"type": ["string", "null"]}, "stay": FLAG, "guard": _ref("guard"),
        "roles": NAMES, "requires": NAMES, "reason_required": FLAG, "reason_codes": NAMES,
        "priority": {"type": ["integer", "null"]}, "labels": LABELS, "description": TEXT,
        "approval": _ref("approval"), "override": _ref("override"), "reopens": FLAG,
        "requirements": NAMES, "pre": _ref("guard"), "post": _ref("guard"),
    },
    "approval": {
        "roles": NAMES, "kind": TEXT, "not_assignee": FLAG, "self_approve": NAMES,
        "direct": FLAG, "on_move": _choice(OnMove), "on_transfer": _choice(OnTransfer),
        "quorum": {"type": "integer", "minimum": 1},
        "rejections": {"type": "integer", "minimum": 1},
    },
    "handover": {
        "send": NAMES, "answer": NAMES, "on_behalf": NAMES, "guard": _ref("guard"),
        "override": _ref("override"), "access": NAMES, "on_close": _choice(OnClose),
        "on_transfer": _choice(OnTransfer),
    },
    "override": {"roles": NAMES, "reason_codes": NAMES},
    "retention": {"keep": DURATION, "erase": FLAG},
    "link": {
        "type": _choice(LinkType), "roles": NAMES, "on_close": _choice(Closing),
        "close_event": TEXT,
    },
    "requirement": {"title": TEXT, "source": TEXT},
    "property": {
        "name": TEXT, "absence": _ref("proposition"), "existence": _ref("proposition"),
        "universality": _ref("proposition"), "precedence": PAIR, "response": PAIR,
        "within": DURATION, "working": FLAG, "scope": _ref("scope"), "requirements": NAMES,
    },
}  # fmt: skip
REQUIRED: Final = {
    "workflow": ["name", "version", "initial", "states"],
    "state": ["id"],
    "deadline": ["within"],
    "timer": ["after", "event"],
    "transition": ["event", "source"],
    "override": ["roles"],
    "retention": ["keep"],
    "property": ["name"],
}


def keys(kind: str) -> tuple[str, ...]:
    """The keys a ``kind`` of object may hold in a workflow file."""
    return tuple(FIELDS[kind])


def _object(kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": dict(FIELDS[kind]),
        "additionalProperties": False,
    }
    if kind in REQUIRED:
        out["required"] = REQUIRED[kind]
    return out


def _guard() -> dict[str, Any]:
    """Each guard is a mapping with exactly one kind (the loader's `GUARD_KINDS`)."""
    name = {"type": "string", "minLength": 1}
    true = {"const": True}
    op = {"enum": list(OPS)}
    forms: list[dict[str, Any]] = []

    def form(kind: str, body: dict[str, Any], **more: dict[str, Any]) -> None:
        shape: dict[str, Any] = {
            "type": "object",
            "properties": {kind: body, **more, "requirements": NAMES},
            "required": [kind],
            "additionalProperties": False,
        }
        if "op" in more:
            shape["required"].append("op")
            shape["if"] = {"properties": {"op": {"enum": ["present", "absent"]}}}
            shape["then"] = {"not": {"required": ["value"]}}
            shape["else"] = {"required": ["value"]}
        forms.append(shape)

    for kind in GUARD_KINDS:
        if kind in {"all", "any"}:
            form(kind, {"type": "array", "items": _ref("guard"), "minItems": 1})
        elif kind == "not":
            form(kind, _ref("guard"))
        elif kind in {"always", "not_assignee"}:
            form(kind, true)
        elif kind == "evidence":
            form(kind, {"oneOf": [name, {"type": "array", "items": name, "minItems": 1}]})
        elif kind in MEASURES:
            subject = true if kind in {"time_in_state", "time_since_opened"} else name
            extra = {"within": DURATION} if kind == "linked" else {}
            form(kind, subject, op=op, value={}, **extra)
        else:
            form(kind, name)
    return {"oneOf": forms}


def _one(kind: str, body: object, **more: object) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {kind: body, **more},
        "required": [kind],
        "additionalProperties": False,
    }


def _proposition() -> dict[str, Any]:
    """Each proposition of a property is a mapping with exactly one kind (`ATOMS`)."""
    name = {"type": "string", "minLength": 1}
    true = {"const": True}
    forms = [
        _one("all", {"type": "array", "items": _ref("proposition"), "minItems": 1}),
        _one("any", {"type": "array", "items": _ref("proposition"), "minItems": 1}),
        _one("not", _ref("proposition")),
        _one("entry_kind", name, event=name),
        _one("field_is", name, value={"type": ["string", "number", "boolean", "null"]}),
    ]
    for kind, named in ATOMS.items():
        if kind in {"entry_kind", "field_is"}:
            continue
        body: dict[str, Any] = true if named is None else name
        if named is not None and named.endswith("or true"):
            body = {"oneOf": [name, true]}
        forms.append(_one(kind, body))
    return {"oneOf": forms}


def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow file (YAML, JSON or TOML, once parsed)."""
    defs = {kind: _object(kind) for kind in FIELDS if kind != "workflow"}
    defs["handovers"] = {
        "type": "object",
        "propertyNames": _choice(HandoverKind),
        "additionalProperties": _ref("handover"),
    }
    defs["guard"] = _guard()
    defs["proposition"] = _proposition()
    defs["scope"] = {
        "oneOf": [
            {"const": "globally"},
            *(_one(k, _ref("proposition")) for k in ("before", "after")),
            *(_one(k, PAIR) for k in ("between", "after_until")),
        ]
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "casework_flow workflow",
        "description": "A workflow definition for casework_flow: states, transitions, guards.",
        **_object("workflow"),
        "$defs": defs,
    }
