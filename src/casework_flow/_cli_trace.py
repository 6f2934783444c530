"""The command line's ``trace``: the traceability matrix of a workflow file.

    casework-flow trace FILE [--properties MODULE:NAME] [--tested JSON] [--explore DEPTH]
                             [--format md|html] [--out FILE]

Each requirement the file declares (or a property names), the states and transitions
that enforce it, the properties that check it and what exercised them: the tests of a
pytest run with ``--casework-coverage-json`` (``--tested``), and ``explore`` to a depth
run here (``--explore``). It needs the ``testing`` extra (hypothesis).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ._cli_export import _target
from ._files import load_workflow
from .exceptions import InvalidInput

if TYPE_CHECKING:
    from ._definition import Workflow
    from .testing import Property

__all__ = ["add_parser", "trace"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``trace`` to the command line."""
    p = sub.add_parser(
        "trace",
        help="write a workflow's traceability matrix: requirements, rules, properties, tests",
        description="For each requirement a workflow file declares: the states and"
        " transitions that enforce it, the properties that check it, and the tests that"
        " exercised them; then the requirements nothing enforces, checks or tests."
        " Needs the testing extra.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the workflow file")
    p.add_argument(
        "--properties",
        action="append",
        default=[],
        metavar="MODULE:NAME",
        help="properties to trace: an importable sequence, or a function returning one"
        " (casework_flow.testing:seed_properties); repeat for several",
    )
    p.add_argument(
        "--tested",
        type=Path,
        metavar="JSON",
        help="what a pytest run wrote with --casework-coverage-json",
    )
    p.add_argument(
        "--explore",
        type=int,
        metavar="DEPTH",
        help="also explore the workflow with the properties to DEPTH, here and now",
    )
    p.add_argument("--format", choices=["md", "html"], default="md")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")


def _properties(spec: str) -> list[Property]:
    """The properties ``MODULE:NAME`` names (a sequence, or a function returning one)."""
    from .testing import Property  # noqa: PLC0415 - the testing extra only when used

    module, _, name = spec.partition(":")
    if not module or not name:
        raise InvalidInput("--properties", f"{spec!r} is not MODULE:NAME")
    try:
        found: object = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput("--properties", f"cannot load {spec}: {exc}") from None
    if callable(found):
        try:
            found = found()
        except Exception as exc:  # noqa: BLE001 - the host's function, reported as it failed
            raise InvalidInput("--properties", f"calling {spec} failed: {exc}") from None
    if not isinstance(found, Iterable) or isinstance(found, str):
        raise InvalidInput("--properties", f"{spec} is not a sequence of properties")
    props = list(found)
    wrong = [p for p in props if not isinstance(p, Property)]
    if wrong:
        raise InvalidInput("--properties", f"{spec} holds {wrong[0]!r}, not a Property")
    return props


def _tested(path: Path, workflow: Workflow) -> dict[str, list[str]]:
    """What the JSON of a pytest run says exercised each requirement of ``workflow``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        exercised = data["exercised"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidInput(
            str(path), f"is not what --casework-coverage-json writes: {exc}"
        ) from None
    found = exercised.get(f"{workflow.name}@{workflow.version}", {})
    return {str(k): [str(t) for t in v] for k, v in found.items()}


def trace(args: argparse.Namespace) -> int:
    """Write the matrix; 1 (and why, on stderr) when ``--explore`` finds a rule broken."""
    try:
        from .testing import explore, recording  # noqa: PLC0415
        from .testing import trace as matrix  # noqa: PLC0415
    except ImportError as exc:
        raise InvalidInput(
            "trace", f"needs the testing extra: pip install 'casework-flow[testing]' ({exc})"
        ) from None
    workflow = load_workflow(args.file)
    props = [p for spec in args.properties for p in _properties(spec)]
    tested = _tested(args.tested, workflow) if args.tested else {}
    if args.explore is not None:
        with recording() as rec:
            rec.test = f"explore to depth {args.explore}"
            found = explore(workflow, *props, depth=args.explore)
        if not found.ok:
            print(f"casework-flow trace: {found}", file=sys.stderr)
            return 1
        for rid, tests in rec.exercised().get(found.workflow, {}).items():
            tested.setdefault(rid, []).extend(tests)
    result = matrix(workflow, props, tested=tested)
    with _target(args.out) as out:
        out.write((result.markdown() if args.format == "md" else result.html()) + "\n")
    return 0
