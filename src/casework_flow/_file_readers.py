"""Reading workflow documents: YAML, JSON and TOML text to data, with where each key is.

Every reader returns the parsed document and, for YAML and JSON, the line and column of
every path into it (``transitions[3].guard``), so the loader can say where a problem is.
YAML is always loaded safely, and needs PyYAML (``pip install 'casework-flow[yaml]'``).
"""

from __future__ import annotations

import bisect
import json
import re
import tomllib
from collections.abc import Callable
from typing import Any, Final, Literal

from .exceptions import Problem, WorkflowError

__all__ = ["READERS", "SUFFIXES", "Format", "Positions", "join"]

Format = Literal["yaml", "json", "toml"]
Positions = dict[str, tuple[int, int]]

SUFFIXES: Final[dict[str, Format]] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
}
_MAX_NODES: Final = 200_000


def join(path: str, key: object) -> str:
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
                i = self.value(self.skip(i) + 1, join(path, key), depth + 1)
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
    except (ValueError, RecursionError) as exc:
        raise _unreadable("JSON", exc, source) from None
    return data, _JsonPositions(text).found


def _unreadable(fmt: str, exc: Exception, source: str) -> WorkflowError:
    """A document that parses but holds what no workflow can: too deep, a number too long."""
    why = "it is nested too deep" if isinstance(exc, RecursionError) else f"{exc}".split(";")[0]
    return WorkflowError(None, [Problem(f"not a usable {fmt} document: {why}", "", source)])


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
    except (ValueError, RecursionError) as exc:
        raise _unreadable("YAML", exc, source) from None
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
                            join(path, key),
                            self.source,
                            mark.line + 1,
                            mark.column + 1,
                        )
                    )
                seen.add(key)
                self.walk(v, join(path, key))


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
    except (ValueError, RecursionError) as exc:
        raise _unreadable("TOML", exc, source) from None


READERS: Final[dict[Format, Callable[[str, str], tuple[object, Positions]]]] = {
    "json": _read_json,
    "yaml": _read_yaml,
    "toml": _read_toml,
}


# --- documents to workflows -------------------------------------------------------------
