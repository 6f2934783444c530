"""Workflow files: YAML, JSON and TOML documents (and plain dicts) to and from `Workflow`.

Loading never evaluates anything: guards are data in the vocabulary of `_guard_data`, and
named Python checks come from a registry the host passes in. Every problem in a document
is reported at once, each with the file, line and column (YAML and JSON) and the path
into the document (``transitions[3].guard.fact``), and a suggestion for a misspelt name.
YAML needs PyYAML (``pip install 'casework-flow[yaml]'``) and is always loaded safely.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from ._definition import Approval, ConsentOverride, State, Transition, Workflow
from ._guard_data import (
    CheckFunction,
    duration_text,
    guard_from_data,
    guard_to_data,
    parse_duration,
)
from ._guards import ALWAYS
from ._timing import Deadline, Timer
from .exceptions import Problem, WorkflowError

__all__ = [
    "dump_workflow",
    "load_workflow",
    "loads_workflow",
    "workflow_from_dict",
    "workflow_to_dict",
]

Format = Literal["yaml", "json", "toml"]
Positions = dict[str, tuple[int, int]]
_SUFFIXES: Final[dict[str, Format]] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
}
_WORKFLOW_KEYS: Final = (
    "name", "version", "initial", "locales", "personal", "roles", "description",
    "record_roles", "assign_roles", "transfer_roles", "receive_roles", "personal_roles",
    "log_personal_reads", "states", "transitions",
)  # fmt: skip
_STATE_KEYS: Final = ("id", "labels", "description", "terminal", "deadline", "timers")
_DEADLINE_KEYS: Final = ("within", "working", "pause_in")
_TIMER_KEYS: Final = ("after", "event", "working", "reason", "reason_code", "name")
_TRANSITION_KEYS: Final = (
    "event", "source", "dest", "stay", "guard", "roles", "requires", "reason_required",
    "reason_codes", "priority", "labels", "description", "approval", "override", "reopens",
)  # fmt: skip
_APPROVAL_KEYS: Final = ("roles",)
_OVERRIDE_KEYS: Final = ("roles", "reason_codes")
_MAX_NODES: Final = 200_000
_FLOW_MAX: Final = 4


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


# --- reading documents ------------------------------------------------------------------


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _JsonPositions:
    """Where each value of a (valid) JSON document starts, by path."""

    _WS: Final = re.compile(r"[ \t\n\r]*")
    _DEEPEST: Final = 64

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.decoder = json.JSONDecoder()
        self.found: Positions = {}
        self.value(0, "", 0)

    def skip(self, i: int) -> int:
        m = self._WS.match(self.text, i)
        return m.end() if m else i

    def value(self, i: int, path: str, depth: int) -> int:
        i = self.skip(i)
        line = bisect.bisect_right(self.starts, i)
        self.found[path] = (line, i - self.starts[line - 1] + 1)
        c = self.text[i]
        if depth <= self._DEEPEST and c in "{[":
            return self.container(i, path, depth, close="}" if c == "{" else "]")
        return int(self.decoder.raw_decode(self.text, i)[1])

    def container(self, i: int, path: str, depth: int, close: str) -> int:
        i = self.skip(i + 1)
        if self.text[i] == close:
            return i + 1
        n = 0
        while True:
            if close == "}":
                key, i = self.decoder.raw_decode(self.text, self.skip(i))
                i = self.value(self.skip(i) + 1, _join(path, key), depth + 1)
            else:
                i = self.value(i, f"{path}[{n}]", depth + 1)
                n += 1
            i = self.skip(i)
            if self.text[i] == close:
                return i + 1
            i += 1


def _read_json(text: str, source: str) -> tuple[object, Positions]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            None, [Problem(f"not valid JSON: {exc.msg}", "", source, exc.lineno, exc.colno)]
        ) from None
    return data, _JsonPositions(text).found


def _read_yaml(text: str, source: str) -> tuple[object, Positions]:
    try:
        import yaml  # noqa: PLC0415 - an optional extra
    except ImportError:
        msg = "reading YAML needs PyYAML: pip install 'casework-flow[yaml]'"
        raise WorkflowError(None, [Problem(msg, "", source)]) from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        position = getattr(exc, "position", None)
        if mark is None and isinstance(position, int):
            line, col = _line_col(text, position)
        raise WorkflowError(
            None, [Problem(f"not valid YAML: {what}", "", source, line, col)]
        ) from None
    walker = _YamlPositions(yaml, source)
    if node is not None:
        walker.walk(node, "")
    if walker.budget < 0:
        msg = f"the document has more than {_MAX_NODES} nodes (aliases expanding?)"
        raise WorkflowError(None, [Problem(msg, "", source)])
    if walker.duplicates:
        raise WorkflowError(None, walker.duplicates)
    return data, walker.found


class _YamlPositions:
    """Where each node of a YAML document starts, by path; duplicate keys noted."""

    def __init__(self, yaml: Any, source: str) -> None:  # noqa: ANN401 - the yaml module
        self.yaml = yaml
        self.source = source
        self.found: Positions = {}
        self.duplicates: list[Problem] = []
        self.budget = _MAX_NODES

    def walk(self, node: Any, path: str) -> None:  # noqa: ANN401 - PyYAML nodes are untyped
        self.budget -= 1
        if self.budget < 0:
            return
        self.found.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, self.yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, f"{path}[{i}]")
        elif isinstance(node, self.yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                key = str(k.value)
                if key in seen:
                    mark = k.start_mark
                    self.duplicates.append(
                        Problem(
                            f"key {key!r} appears twice",
                            _join(path, key),
                            self.source,
                            mark.line + 1,
                            mark.column + 1,
                        )
                    )
                seen.add(key)
                self.walk(v, _join(path, key))


def _read_toml(text: str, source: str) -> tuple[object, Positions]:
    try:
        return tomllib.loads(text), {}
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise WorkflowError(
            None, [Problem(f"not valid TOML: {what}", "", source, line, col)]
        ) from None


_READERS: Final[dict[Format, Callable[[str, str], tuple[object, Positions]]]] = {
    "json": _read_json,
    "yaml": _read_yaml,
    "toml": _read_toml,
}


# --- documents to workflows -------------------------------------------------------------


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
                self.fail(_join(path, key), f"unknown key {key!r}{hint}")

    def text(self, raw: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.fail(path, f"{key} is required")
            return ""
        if not isinstance(value, str):
            self.fail(_join(path, key), f"{key} must be text, got {type(value).__name__}")
            return ""
        return value

    def names(self, raw: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(_join(path, key), f"{key} must be a list of names")
            return ()
        return tuple(value)

    def labels(self, raw: Mapping[str, Any], path: str) -> dict[str, str]:
        value = raw.get("labels", {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            self.fail(
                _join(path, "labels"), "labels must map locales to text, like {en: ..., id: ...}"
            )
            return {}
        return dict(value)

    def flag(self, raw: Mapping[str, Any], key: str, path: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.fail(_join(path, key), f"{key} must be true or false, got {value!r}")
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
            self.fail(_join(path, "timers"), "timers must be a list")
            timers = []
        built = [self.timer(t, f"{_join(path, 'timers')}[{i}]") for i, t in enumerate(timers)]
        return State(
            self.text(doc, "id", path, required=True),
            labels=self.labels(doc, path),
            description=self.text(doc, "description", path),
            terminal=self.flag(doc, "terminal", path),
            deadline=self.deadline(doc["deadline"], _join(path, "deadline"))
            if "deadline" in doc
            else None,
            timers=[t for t in built if t is not None],
        )

    def duration(self, raw: Mapping[str, Any], key: str, path: str) -> timedelta | None:
        value = raw.get(key)
        if value is None:
            self.fail(path, f"{key} is required (an ISO 8601 duration such as P3D)")
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(_join(path, key), str(exc))
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
            self.fail(_join(path, "stay"), "give dest or stay: true, not both")
        dest = self.text(doc, "dest", path) or None
        priority = doc.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
            self.fail(_join(path, "priority"), f"priority must be an integer, got {priority!r}")
            priority = None
        guard = ALWAYS
        if "guard" in doc:
            built = guard_from_data(
                doc["guard"], _join(path, "guard"), checks=self.checks, problems=self.problems
            )
            guard = built if built is not None else ALWAYS
        return Transition(
            self.text(doc, "event", path, required=True),
            source=self.names(doc, "source", path),
            dest=dest,
            guard=guard,
            roles=self.names(doc, "roles", path),
            requires=self.names(doc, "requires", path),
            reason_required=self.flag(doc, "reason_required", path),
            reason_codes=self.names(doc, "reason_codes", path),
            priority=priority,
            labels=self.labels(doc, path),
            description=self.text(doc, "description", path),
            approval=self.approval(doc.get("approval"), _join(path, "approval")),
            override=self.override(doc.get("override"), _join(path, "override")),
            reopens=self.flag(doc, "reopens", path),
        )

    def approval(self, raw: object, path: str) -> Approval | None:
        if raw is None:
            return None
        doc = self.mapping(raw, path)
        if doc is None:
            return None
        self.keys(doc, _APPROVAL_KEYS, path)
        return Approval(self.names(doc, "roles", path))

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
        """Who may assign, transfer and receive, where the document says (defaults else)."""
        out: dict[str, Any] = {
            "receive_roles": self.names(doc, "receive_roles", ""),
            "personal_roles": self.names(doc, "personal_roles", ""),
            "log_personal_reads": self.flag(doc, "log_personal_reads", ""),
        }
        for key in ("assign_roles", "transfer_roles"):
            if key in doc:
                out[key] = self.names(doc, key, "")
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
    if format not in _READERS:
        raise WorkflowError(
            None, [Problem(f"unknown format {format!r}; use yaml, json or toml", "", source)]
        )
    try:
        data, positions = _READERS[format](text, source)
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
    fmt = format or _SUFFIXES.get(path.suffix.lower())
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


def workflow_to_dict(workflow: Workflow) -> dict[str, Any]:
    """Return the document form of a workflow (defaults left out)."""
    doc: dict[str, Any] = {"name": workflow.name, "version": workflow.version}
    if workflow.description:
        doc["description"] = workflow.description
    doc["initial"] = workflow.initial
    doc["locales"] = list(workflow.locales)
    if workflow.roles:
        doc["roles"] = sorted(workflow.roles)
    if workflow.personal:
        doc["personal"] = sorted(workflow.personal)
    if workflow.record_roles:
        doc["record_roles"] = sorted(workflow.record_roles)
    if workflow.assign_roles != frozenset({"supervisor"}):
        doc["assign_roles"] = sorted(workflow.assign_roles)
    if workflow.transfer_roles != frozenset({"supervisor"}):
        doc["transfer_roles"] = sorted(workflow.transfer_roles)
    if workflow.receive_roles:
        doc["receive_roles"] = sorted(workflow.receive_roles)
    if workflow.personal_roles:
        doc["personal_roles"] = sorted(workflow.personal_roles)
    if workflow.log_personal_reads:
        doc["log_personal_reads"] = True
    doc["states"] = [_state_doc(s) for s in workflow.states]
    doc["transitions"] = [_transition_doc(t) for t in workflow.transitions]
    return doc


def _state_doc(s: State) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id}
    if s.labels:
        out["labels"] = dict(s.labels)
    if s.description:
        out["description"] = s.description
    if s.terminal:
        out["terminal"] = True
    if s.deadline is not None:
        d: dict[str, Any] = {"within": duration_text(s.deadline.within)}
        if s.deadline.working:
            d["working"] = True
        if s.deadline.pause_in:
            d["pause_in"] = sorted(s.deadline.pause_in)
        out["deadline"] = d
    if s.timers:
        out["timers"] = [_timer_doc(t) for t in s.timers]
    return out


def _timer_doc(t: Timer) -> dict[str, Any]:
    out: dict[str, Any] = {"after": duration_text(t.after), "event": t.event}
    if t.working:
        out["working"] = True
    if t.reason:
        out["reason"] = t.reason
    if t.reason_code:
        out["reason_code"] = t.reason_code
    if t.name != t.event:
        out["name"] = t.name
    return out


def _transition_doc(t: Transition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": t.event,
        "source": t.source[0] if len(t.source) == 1 else list(t.source),
    }
    if t.dest is None:
        out["stay"] = True
    else:
        out["dest"] = t.dest
    if t.roles:
        out["roles"] = sorted(t.roles)
    if t.requires:
        out["requires"] = list(t.requires)
    if t.reason_required:
        out["reason_required"] = True
    if t.reason_codes:
        out["reason_codes"] = list(t.reason_codes)
    if t.priority is not None:
        out["priority"] = t.priority
    if t.guard is not ALWAYS:
        out["guard"] = guard_to_data(t.guard)
    if t.labels:
        out["labels"] = dict(t.labels)
    if t.description:
        out["description"] = t.description
    return out | _operations_doc(t)


def _operations_doc(t: Transition) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.approval is not None:
        out["approval"] = {"roles": sorted(t.approval.roles)}
    if t.override is not None:
        out["override"] = {
            "roles": sorted(t.override.roles),
            "reason_codes": list(t.override.reason_codes),
        }
    if t.reopens:
        out["reopens"] = True
    return out


def dump_workflow(workflow: Workflow, format: Format) -> str:  # noqa: A002 - document format
    """Write a workflow as YAML, JSON or TOML; `loads_workflow` reads it back equal."""
    doc = workflow_to_dict(workflow)
    if format == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if format == "toml":
        return _toml(doc)
    if format == "yaml":
        try:
            import yaml  # noqa: PLC0415 - an optional extra
        except ImportError:
            msg = "writing YAML needs PyYAML: pip install 'casework-flow[yaml]'"
            raise WorkflowError(workflow.name, [msg]) from None
        return _yaml(yaml, doc)
    raise WorkflowError(workflow.name, [f"unknown format {format!r}; use yaml, json or toml"])


def _yaml(yaml: Any, doc: dict[str, Any]) -> str:  # noqa: ANN401 - the yaml module
    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        """Small mappings of plain values (labels, simple guards) on one line."""

    def represent(dumper: Any, data: dict[str, Any]) -> Any:  # noqa: ANN401 - PyYAML API
        flat = len(data) <= _FLOW_MAX and all(
            isinstance(v, str | int | float | bool) or v is None for v in data.values()
        )
        return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flat)

    def represent_list(dumper: Any, data: list[Any]) -> Any:  # noqa: ANN401 - PyYAML API
        flat = all(isinstance(v, str | int | float | bool) for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)

    def represent_str(dumper: Any, data: str) -> Any:  # noqa: ANN401 - PyYAML API
        risky = any(c in "\x85\u2028\u2029\ufeff" or not c.isprintable() for c in data)
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"' if risky else None)

    Dumper.add_representer(str, represent_str)
    Dumper.add_representer(dict, represent)
    Dumper.add_representer(list, represent_list)
    out: str = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
    return out


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise WorkflowError(None, [f"{value!r} cannot be written as TOML"])


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml(doc: dict[str, Any]) -> str:
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}"
        for k, v in doc.items()
        if not isinstance(v, list) or k not in {"states", "transitions"}
    ]
    for table in ("states", "transitions"):
        for item in doc[table]:
            lines += ["", f"[[{table}]]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"
