"""Workflow files: YAML, JSON and TOML documents (and plain dicts) to `Workflow`.

Loading never evaluates anything: guards are data in the vocabulary of `_guard_data`, and
named Python checks come from a registry the host passes in. Every problem in a document
is reported at once, each with the file, line and column (YAML and JSON) and the path
into the document (``transitions[3].guard.fact``), and a suggestion for a misspelt name.
Writing is in `_file_writers`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from ._definition import (
    Approval,
    AssignScope,
    ConsentOverride,
    HandoverRule,
    State,
    Transition,
    Workflow,
)
from ._file_readers import READERS, SUFFIXES, Format, Positions, join
from ._file_schema import keys
from ._file_writers import dump_workflow, workflow_to_dict
from ._guard_data import CheckFunction, guard_from_data, parse_duration
from ._guards import ALWAYS, Guard
from ._handover import HandoverKind, OnClose, OnTransfer
from ._link_files import read_links
from ._parts import OnMove
from ._property_files import read_properties
from ._requirement_files import read_requirements
from ._retention_files import read_retention
from ._timing import Deadline, Timer
from .exceptions import Problem, WorkflowError

_E = TypeVar("_E", bound=StrEnum)

__all__ = [
    "dump_workflow",
    "load_workflow",
    "loads_workflow",
    "workflow_from_dict",
    "workflow_to_dict",
]

_WORKFLOW_KEYS: Final = keys("workflow")
_STATE_KEYS: Final = keys("state")
_DEADLINE_KEYS: Final = keys("deadline")
_TIMER_KEYS: Final = keys("timer")
_TRANSITION_KEYS: Final = keys("transition")
_APPROVAL_KEYS: Final = keys("approval")
_HANDOVER_KEYS: Final = keys("handover")
_OVERRIDE_KEYS: Final = keys("override")


class _Builder:
    def __init__(self, checks: Mapping[str, CheckFunction]) -> None:
        self.checks = checks
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(message, path))

    def keys(self, raw: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(join(path, key), f"unknown key {key!r}{hint}")

    def text(self, raw: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.fail(path, f"{key} is required")
            return ""
        if not isinstance(value, str):
            self.fail(join(path, key), f"{key} must be text, got {type(value).__name__}")
            return ""
        return value

    def names(self, raw: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(join(path, key), f"{key} must be a list of names")
            return ()
        return tuple(value)

    def labels(self, raw: Mapping[str, Any], path: str) -> dict[str, str]:
        value = raw.get("labels", {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            self.fail(
                join(path, "labels"), "labels must map locales to text, like {en: ..., id: ...}"
            )
            return {}
        return dict(value)

    def flag(self, raw: Mapping[str, Any], key: str, path: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.fail(join(path, key), f"{key} must be true or false, got {value!r}")
            return False
        return value

    def mapping(self, raw: object, path: str) -> Mapping[str, Any] | None:
        if isinstance(raw, Mapping):
            return raw
        self.fail(path, f"expected a mapping, got {type(raw).__name__}")
        return None

    def state(self, raw: object, path: str) -> State | None:
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _STATE_KEYS, path)
        timers = doc.get("timers", [])
        if not isinstance(timers, list):
            self.fail(join(path, "timers"), "timers must be a list")
            timers = []
        built = [self.timer(t, f"{join(path, 'timers')}[{i}]") for i, t in enumerate(timers)]
        inner = doc.get("states", [])
        if not isinstance(inner, list):
            self.fail(join(path, "states"), "states must be a list of states")
            inner = []
        held = [self.state(s, f"{join(path, 'states')}[{i}]") for i, s in enumerate(inner)]
        return State(
            self.text(doc, "id", path, required=True),
            labels=self.labels(doc, path),
            description=self.text(doc, "description", path),
            terminal=self.flag(doc, "terminal", path),
            deadline=self.deadline(doc["deadline"], join(path, "deadline"))
            if "deadline" in doc
            else None,
            timers=[t for t in built if t is not None],
            states=[s for s in held if s is not None],
            initial=self.text(doc, "initial", path) or None,
            parallel=self.flag(doc, "parallel", path),
            history=self.flag(doc, "history", path),
            final=self.flag(doc, "final", path),
            on_done=self.text(doc, "on_done", path) or None,
            requirements=self.names(doc, "requirements", path),
            invariant=self.guard(doc, "invariant", path),
        )

    def guard(self, doc: Mapping[str, Any], key: str, path: str) -> Guard:
        """The guard under ``key`` (``always`` when absent or unreadable: reported)."""
        if key not in doc:
            return ALWAYS
        built = guard_from_data(
            doc[key], join(path, key), checks=self.checks, problems=self.problems
        )
        return built if built is not None else ALWAYS

    def duration(self, raw: Mapping[str, Any], key: str, path: str) -> timedelta | None:
        value = raw.get(key)
        if value is None:
            self.fail(path, f"{key} is required (an ISO 8601 duration such as P3D)")
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(join(path, key), str(exc))
            return None

    def deadline(self, raw: object, path: str) -> Deadline | None:
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _DEADLINE_KEYS, path)
        within = self.duration(doc, "within", path)
        if within is None:
            return None
        return Deadline(
            within,
            working=self.flag(doc, "working", path),
            pause_in=self.names(doc, "pause_in", path),
        )

    def timer(self, raw: object, path: str) -> Timer | None:
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _TIMER_KEYS, path)
        after = self.duration(doc, "after", path)
        event = self.text(doc, "event", path, required=True)
        if after is None or not event:
            return None
        return Timer(
            after,
            event,
            working=self.flag(doc, "working", path),
            reason=self.text(doc, "reason", path) or None,
            reason_code=self.text(doc, "reason_code", path) or None,
            name=self.text(doc, "name", path) or event,
        )

    def transition(self, raw: object, path: str) -> Transition | None:
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _TRANSITION_KEYS, path)
        stay = self.flag(doc, "stay", path)
        if "dest" not in doc and not stay:
            self.fail(path, "dest is required (or stay: true for a step that keeps the state)")
        elif "dest" in doc and stay:
            self.fail(join(path, "stay"), "give dest or stay: true, not both")
        dest = self.text(doc, "dest", path) or None
        priority = doc.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
            self.fail(join(path, "priority"), f"priority must be an integer, got {priority!r}")
            priority = None
        return Transition(
            self.text(doc, "event", path, required=True),
            source=self.names(doc, "source", path),
            dest=dest,
            guard=self.guard(doc, "guard", path),
            roles=self.names(doc, "roles", path),
            requires=self.names(doc, "requires", path),
            reason_required=self.flag(doc, "reason_required", path),
            reason_codes=self.names(doc, "reason_codes", path),
            priority=priority,
            labels=self.labels(doc, path),
            description=self.text(doc, "description", path),
            approval=self.approval(doc.get("approval"), join(path, "approval")),
            override=self.override(doc.get("override"), join(path, "override")),
            reopens=self.flag(doc, "reopens", path),
            requirements=self.names(doc, "requirements", path),
            pre=self.guard(doc, "pre", path),
            post=self.guard(doc, "post", path),
        )

    def approval(self, raw: object, path: str) -> Approval | None:
        if raw is None:
            return None
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _APPROVAL_KEYS, path)
        return Approval(
            self.names(doc, "roles", path),
            kind=self.text(doc, "kind", path) or None,
            not_assignee=self.flag(doc, "not_assignee", path),
            self_approve=self.names(doc, "self_approve", path),
            direct=self.flag(doc, "direct", path),
            on_move=self.choice(doc, "on_move", path, OnMove, OnMove.REFUSE),
            on_transfer=self.choice(doc, "on_transfer", path, OnTransfer, OnTransfer.CANCEL),
            quorum=self.count(doc, "quorum", path),
            rejections=self.count(doc, "rejections", path),
        )

    def count(self, doc: Mapping[str, Any], key: str, path: str) -> int:
        """A positive whole number, 1 when absent."""
        value = doc.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.fail(join(path, key), f"{key} must be a whole number of 1 or more, got {value!r}")
            return 1
        return value

    def choice(
        self, doc: Mapping[str, Any], key: str, path: str, enum: type[_E], default: _E
    ) -> _E:
        """One of an enum's values, by its text; the default when absent."""
        raw = doc.get(key)
        if raw is None:
            return default
        try:
            return enum(raw)
        except ValueError:
            allowed = ", ".join(str(e) for e in enum)
            self.fail(join(path, key), f"{key} must be one of {allowed}, got {raw!r}")
            return default

    def handovers(self, raw: object) -> dict[str, HandoverRule] | None:
        if raw is None:
            return None
        doc = self.mapping(raw, "handovers")
        if doc is None:
            return None
        out = {}
        for kind, item in doc.items():
            path = join("handovers", kind)
            try:
                kind_ = HandoverKind(kind)
            except ValueError:
                allowed = ", ".join(str(k) for k in HandoverKind)
                self.fail(path, f"{kind!r} is not a kind of handover; use {allowed}")
                continue
            rule = self.mapping(item, path)
            if rule is None:
                continue
            self.keys(rule, _HANDOVER_KEYS, path)
            guard = self.guard(rule, "guard", path)
            out[kind] = HandoverRule(
                kind_,
                send=self.names(rule, "send", path),
                answer=self.names(rule, "answer", path),
                on_behalf=self.names(rule, "on_behalf", path),
                guard=guard,
                override=self.override(rule.get("override"), join(path, "override")),
                access=self.names(rule, "access", path),
                on_close=self.choice(rule, "on_close", path, OnClose, OnClose.CANCEL),
                on_transfer=self.choice(rule, "on_transfer", path, OnTransfer, OnTransfer.CANCEL),
            )
        return out

    def override(self, raw: object, path: str) -> ConsentOverride | None:
        if raw is None:
            return None
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _OVERRIDE_KEYS, path)
        return ConsentOverride(
            self.names(doc, "roles", path), self.names(doc, "reason_codes", path)
        )

    def operation_roles(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Who may assign and hand cases over, where the document says (defaults else)."""
        out: dict[str, Any] = {
            "personal_roles": self.names(doc, "personal_roles", ""),
            "log_personal_reads": self.flag(doc, "log_personal_reads", ""),
            "cross_unit_roles": self.names(doc, "cross_unit_roles", ""),
            "assign_scope": self.choice(doc, "assign_scope", "", AssignScope, AssignScope.UNIT),
            "unit_follows_assignee": self.flag(doc, "unit_follows_assignee", ""),
        }
        if "assign_roles" in doc:
            out["assign_roles"] = self.names(doc, "assign_roles", "")
        if "erase_roles" in doc:
            out["erase_roles"] = self.names(doc, "erase_roles", "")
        if doc.get("retention") is not None:
            out["retention"] = read_retention(self, doc["retention"], "retention")
        rules = self.handovers(doc.get("handovers"))
        if rules is not None:
            out["handovers"] = rules
        links = read_links(self, doc.get("links"))
        if links:
            out["links"] = links
        return out

    def workflow(self, raw: object) -> Workflow | None:
        doc = self.mapping(raw, "")
        if doc is None:
            return None
        self.keys(doc, _WORKFLOW_KEYS, "")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            self.fail("version", f"version must be a whole number, got {version!r}")
            version = 1
        states: list[State] = []
        transitions: list[Transition] = []
        for key, build, out in (
            ("states", self.state, states),
            ("transitions", self.transition, transitions),
        ):
            items = doc.get(key)
            if not isinstance(items, list):
                self.fail(key, f"{key} must be a list")
                continue
            for i, item in enumerate(items):
                built = build(item, f"{key}[{i}]")
                if built is not None:
                    out.append(built)  # type: ignore[arg-type]
        fields = {
            "name": self.text(doc, "name", "", required=True),
            "version": version,
            "initial": self.text(doc, "initial", "", required=True),
            "locales": self.names(doc, "locales", "") or ("en", "id"),
            "personal": self.names(doc, "personal", ""),
            "roles": self.names(doc, "roles", ""),
            "description": self.text(doc, "description", ""),
            "record_roles": self.names(doc, "record_roles", ""),
            "requirements": read_requirements(self, doc.get("requirements")),
            "properties": read_properties(self, doc.get("properties")),
        }
        fields.update(self.operation_roles(doc))
        if self.problems:
            return None
        try:
            return Workflow(states=states, transitions=transitions, **fields)  # type: ignore[arg-type]
        except WorkflowError as exc:
            self.problems.extend(exc.details)
        return None


def _locate(problems: list[Problem], source: str | None, positions: Positions) -> list[Problem]:
    out = []
    for p in problems:
        path = p.path
        while path and path not in positions:
            shorter = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path)
            path = "" if shorter == path else shorter
        line, col = positions.get(path, (p.line, p.column))
        out.append(attrs.evolve(p, file=source, line=line, column=col))
    return out


def workflow_from_dict(
    raw: object,
    *,
    checks: Mapping[str, CheckFunction] | None = None,
    source: str | None = None,
    positions: Positions | None = None,
) -> Workflow:
    """Build a workflow from a plain document (what YAML, JSON or TOML decode to).

    Args:
        raw: The document.
        checks: Host functions that ``{check: name}`` guards may name.
        source: A file name to put in errors.
        positions: Where each path starts in the source (line, column).

    Raises:
        WorkflowError: with every problem found, each with its location.
    """
    builder = _Builder(checks or {})
    try:
        wf = builder.workflow(raw)
    except RecursionError:
        builder.problems.append(Problem("the document is nested too deeply"))
        wf = None
    if wf is None:
        name = raw.get("name") if isinstance(raw, Mapping) else None
        problems = _locate(builder.problems, source, positions or {})
        raise WorkflowError(name if isinstance(name, str) else None, problems)
    return wf


def loads_workflow(
    text: str | bytes,
    format: Format,  # noqa: A002 - the natural name for the document format
    *,
    checks: Mapping[str, CheckFunction] | None = None,
    source: str = "<string>",
) -> Workflow:
    """Load a workflow from YAML, JSON or TOML text."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"not UTF-8 text (byte {exc.start} is {text[exc.start]:#04x})"
            raise WorkflowError(None, [Problem(msg, "", source)]) from None
    if format not in READERS:
        raise WorkflowError(
            None, [Problem(f"unknown format {format!r}; use yaml, json or toml", "", source)]
        )
    try:
        data, positions = READERS[format](text, source)
    except RecursionError:
        raise WorkflowError(
            None, [Problem("the document is nested too deeply", "", source)]
        ) from None
    return workflow_from_dict(data, checks=checks, source=source, positions=positions)


def load_workflow(
    path: str | Path,
    *,
    checks: Mapping[str, CheckFunction] | None = None,
    format: Format | None = None,  # noqa: A002 - the natural name for the document format
) -> Workflow:
    """Load a workflow file; the format comes from the suffix unless given.

    Raises:
        WorkflowError: for a file that cannot be read or a definition that is invalid,
            naming file, line, column and path for each problem.
    """
    path = Path(path)
    fmt = format or SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        msg = f"cannot tell the format from {path.suffix!r}; use .yaml, .yml, .json or .toml"
        raise WorkflowError(None, [Problem(msg, "", str(path))])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WorkflowError(
            None, [Problem(f"cannot read it: {exc.strerror}", "", str(path))]
        ) from None
    return loads_workflow(raw, fmt, checks=checks, source=str(path))


# --- workflows to documents -------------------------------------------------------------
