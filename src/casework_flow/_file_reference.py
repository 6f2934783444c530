"""The reference of workflow files, generated: every key with its type, default and meaning.

Each table comes from the loader's table of keys (`_file_schema.FIELDS`) for the key and
its type, from the value classes' attrs fields for the default, and from their
docstrings for the meaning, so ``docs/file-reference.md`` cannot drift from the code
(the tests compare it with `file_reference`). Regenerate the page with
``python -m casework_flow._file_reference > docs/file-reference.md``, and the table of
check codes in ``docs/files.md`` with ``python -m casework_flow._file_reference checks``.
"""

from __future__ import annotations

import inspect
import re
from enum import Enum
from typing import Any, Final

import attrs

from ._definition import Approval, ConsentOverride, HandoverRule, State, Transition, Workflow
from ._file_schema import FIELDS, REQUIRED
from ._links import LinkRule
from ._property_specs import ATOMS, PropertySpec
from ._requirements import Requirement
from ._timing import Deadline, Retention, Timer

__all__ = ["file_reference"]

CLASSES: Final[dict[str, type]] = {
    "workflow": Workflow, "state": State, "deadline": Deadline, "timer": Timer,
    "transition": Transition, "approval": Approval, "handover": HandoverRule,
    "override": ConsentOverride, "retention": Retention, "link": LinkRule,
    "requirement": Requirement, "property": PropertySpec,
}  # fmt: skip
TITLES: Final = {
    "workflow": "The workflow (top level)",
    "state": "A state (`states:` items; a stage's `states:` too)",
    "deadline": "A deadline (`deadline:` of a state)",
    "timer": "A timer (`timers:` items of a state)",
    "transition": "A transition (`transitions:` items)",
    "approval": "An approval (`approval:` of a transition)",
    "handover": "A handover rule (`handovers: {referral|transfer|transfer_request: ...}`)",
    "override": "A consent override (`override:` of a transition or handover rule)",
    "retention": "How long personal data is kept (`retention:` of the workflow)",
    "link": "A kind of link (`links: {KIND: ...}`)",
    "requirement": "A requirement of the policy (`requirements: {ID: ...}` of the workflow)",
    "property": "A rule over time (`properties:` items of the workflow)",
}
_ARG = re.compile(r"^\s+(\w+): (.*)$")
FILE_ONLY: Final = {
    ("property", "absence"): "A proposition that never holds (in the scope).",
    ("property", "existence"): "A proposition that holds at least once (in the scope).",
    ("property", "universality"): "A proposition that holds at every entry (in the scope).",
    ("property", "precedence"): "`[first, then]`: a `then` happens only after a `first`.",
    ("property", "response"): "`[trigger, answer]`: every trigger is followed by an answer"
    " (within `within`, if given).",
    (
        "transition",
        "stay",
    ): "`true` for a step that keeps the case in its state, instead of `dest`.",
    (
        "retention",
        "keep",
    ): "How long after the case closes: calendar years and any ISO 8601 duration"
    " besides (`P5Y`, `P1Y6W`, `P90D`).",
}


def _type(spec: dict[str, Any]) -> str:  # noqa: C901, PLR0911 - one answer per kind of value
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[1]
        if name == "handovers":
            return "a mapping of handover kind to a handover rule (below)"
        return "a guard (see the guards section)" if name == "guard" else f"a {name} (below)"
    if "enum" in spec:
        return "one of " + ", ".join(f"`{v}`" for v in spec["enum"])
    if "oneOf" in spec:
        return "a name or a list of names"
    if spec.get("pattern", "").startswith("^-?P"):
        return "an ISO 8601 duration (`P14D`)"
    kind = spec.get("type")
    if kind == "array":
        return f"a list of {_type(spec['items']).removeprefix('a ')}"
    if kind == "object":
        inner = spec.get("additionalProperties", {})
        if "$ref" in inner:
            key = "id" if inner["$ref"].endswith("/requirement") else "kind"
            return f"a mapping of {key} to {_type(inner).removesuffix(' (below)')} (below)"
        return "a mapping of locale to text" if inner else "a mapping"
    if kind == ["string", "null"]:
        return "a state id, or null"
    if kind == ["integer", "null"]:
        return "an integer, or null"
    return {"string": "text", "boolean": "true or false", "integer": "an integer"}.get(
        str(kind), str(kind)
    )


def _meanings(cls: type) -> dict[str, str]:
    """``name: text`` entries of the class docstring's Args or Attributes section."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in (inspect.getdoc(cls) or "").splitlines():
        found = _ARG.match(line)
        if found and line.startswith("    ") and not line.startswith("        "):
            current = found.group(1)
            out[current] = found.group(2).strip()
        elif current and line.startswith("        "):
            out[current] += " " + line.strip()
        elif not line.strip() or not line.startswith(" "):
            current = None
    return out


def _default(cls: type, key: str, kind: str) -> str:  # noqa: C901, PLR0911 - per kind of default
    if key in REQUIRED.get(kind, []):
        return "required"
    field = next((f for f in attrs.fields(cls) if f.name == key), None)
    if field is None or field.default is attrs.NOTHING:
        return "none"
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        if field.default.takes_self:
            return "see meaning"
        value = field.default.factory()
    else:
        value = field.default
    if type(value).__name__ == "Always":
        return "none (always holds)"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value in (None, "", (), frozenset()) or (hasattr(value, "__len__") and not len(value)):
        return "none"
    if hasattr(value, "items"):
        return "see meaning"
    if isinstance(value, tuple | frozenset):
        return "`[" + ", ".join(sorted(map(str, value))) + "]`"
    return f"`{value}`"


def _table(kind: str) -> list[str]:
    cls = CLASSES[kind]
    meanings = _meanings(cls)
    rows = [f"### {TITLES[kind]}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for key, spec in FIELDS[kind].items():
        meaning = meanings.get(key, FILE_ONLY.get((kind, key), "")).replace("|", "\\|")
        rows.append(f"| `{key}` | {_type(spec)} | {_default(cls, key, kind)} | {meaning} |")
    return [*rows, ""]


_GUARD_FORMS: Final = {
    "fact": "`{fact: age, op: '<', value: 18}`: a data field compared",
    "count": "`{count: record_visit, op: '>=', value: 3}`: how often an event was committed",
    "span": "`{span: record_visit, op: '>=', value: P7D}`: time from its first to its last",
    "linked": "`{linked: re_entry, within: P365D, op: '>=', value: 1}`: linked cases of a kind",
    "time_in_state": "`{time_in_state: true, op: '>=', value: P14D}`: time in the current state",
    "time_since_opened": "`{time_since_opened: true, op: '>=', value: P30D}`: time since opening",
    "evidence": "`{evidence: home_visit_report}` (or a list): documents on file",
    "consent": "`{consent: shelter_referral}`: the client's consent to a purpose on file",
    "handover": "`{handover: referral}`: a handover of this kind is open",
    "in_state": "`{in_state: health_cleared}`: the case is in this state, stage or track",
    "not_actor_of": "`{not_actor_of: handover_done}`: the actor did not take that step",
    "not_assignee": "`{not_assignee: true}`: the actor is not the case's assignee",
    "check": "`{check: name}`: a host function registered under that name",
    "always": "`{always: true}`: always holds",
    "all": "`{all: [guard, ...]}`: every guard holds",
    "any": "`{any: [guard, ...]}`: at least one holds",
    "not": "`{not: guard}`: the guard does not hold",
}  # fmt: skip


def _guards() -> list[str]:
    from ._guard_data import GUARD_KINDS, OPS  # noqa: PLC0415 - only the reference needs them

    rows = ["### Guards", "", "A guard is a mapping with exactly one of these keys:", ""]
    rows += [f"- `{kind}`: {_GUARD_FORMS.get(kind, '')}" for kind in GUARD_KINDS]
    ops = ", ".join(f"`{op}`" for op in OPS)
    tail = (
        f"Comparisons take `op`, one of {ops}, and a `value` (none for `present` and"
        " `absent`); times are ISO 8601 durations. Any guard may also name the requirements"
        " it enforces, `requirements: [ID]` beside its kind (the traceability matrix lists"
        " them; what the guard decides does not change)."
    )
    rows += ["", tail, ""]
    return rows


_PROPOSITION_FORMS: Final = {
    "reach": "`{reach: closed}`: a step leaves the case in this state (stage or track)",
    "inside": "`{inside: family_work}`: the case is in this state at the entry",
    "fires": "`{fires: refer}`: this event is committed",
    "refused": "`{refused: true}` (or an event's name): a step is refused",
    "by_timer": "`{by_timer: true}` (or a timer's name): a timer took the step",
    "by_role": "`{by_role: supervisor}`: the actor holds this role",
    "entry_kind": "`{entry_kind: approval_requested, event: refer}`: an entry of this kind",
    "field_is": "`{field_is: outcome, value: reunified}`: a data field has this value",
    "overridden": "`{overridden: true}`: missing consent was overridden",
    "transferred": "`{transferred: true}`: the case moved to another unit",
    "reopened": "`{reopened: true}`: the case was reopened",
    "terminal": "`{terminal: true}`: the case is in a terminal state",
    "opened": "`{opened: true}`: the case's opening entry",
}  # fmt: skip


def _propositions() -> list[str]:
    rows = [
        "### Propositions",
        "",
        "A property's proposition is a mapping with exactly one of",
        "these keys (or `all: [...]`, `any: [...]`, `not: ...` of propositions):",
        "",
    ]
    rows += [f"- `{kind}`: {_PROPOSITION_FORMS.get(kind, '')}" for kind in ATOMS]
    tail = (
        "A `scope:` is `globally` (the default), `{before: P}`, `{after: P}`,"
        " `{between: [P, Q]}` or `{after_until: [P, Q]}`."
    )
    return [*rows, "", tail, ""]  # fmt: skip


def file_reference() -> str:
    """The generated part of the file reference: a table per kind of object, then forms."""
    lines: list[str] = []
    for kind in FIELDS:
        lines += _table(kind)
    return "\n".join([*lines, *_guards(), *_propositions()])


if __name__ == "__main__":  # pragma: no cover - regenerates the docs page
    import sys

    from ._finding import checks_table

    wanted = checks_table() if sys.argv[1:] == ["checks"] else file_reference()
    sys.stdout.write(wanted + "\n")
