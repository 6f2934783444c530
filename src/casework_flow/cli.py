"""The ``casework-flow`` command line (also ``python -m casework_flow``).

    casework-flow check FILE...      static checks; exit 1 when any file has errors
    casework-flow diagram FILE       Mermaid or DOT, optionally with one case's path
    casework-flow verify TRAIL.jsonl verify an exported trail's hash chain
    casework-flow verify DB          verify every case of a database (with checkpoints)
    casework-flow keygen PRIV PUB    make a key pair for signing checkpoints
    casework-flow checkpoint DB      sign every case's head into a checkpoint file
    casework-flow export DB          every case as XES, OCEL 2.0 or JSON Lines
    casework-flow report DB          time in state, opened and closed, rates: CSV/JSON/HTML
    casework-flow overdue DB         cases past their deadline, by state and assignee
    casework-flow run-due DB         fire the timers due (for cron), given the workflows
    casework-flow demo [--staged]    play the seed case's happy path on SQLite

Each command takes ``--help``. Where a script would read the output, ``--format json``
gives machine-readable results.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from . import _cli_audit, _cli_export, _cli_trace
from ._audit import ChainHead, verify
from ._calendar import Calendar, load_holidays
from ._check import Finding, check_workflow
from ._diagram import to_dot, to_mermaid
from ._engine import Engine
from ._export import read_jsonl
from ._file_readers import READERS, SUFFIXES
from ._file_schema import workflow_schema
from ._files import load_workflow
from ._verification import against_checkpoint
from .exceptions import CaseworkError, TrailBroken, WorkflowError
from .stores import Query

__all__ = ["main"]

_SHA256_HEX = 64


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework-flow",
        description="Check, draw and verify casework workflows and their audit trails.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "check",
        help="check workflow files for defects",
        description="Load each workflow file and check it statically. Exit"
        " status 1 when any file has an error (warnings alone exit 0).",
    )
    p.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="workflow files (.yaml, .yml, .json, .toml)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "lines", "github"],
        default="text",
        help="lines: FILE:LINE:COL: SEVERITY CODE MESSAGE, one per finding, for editors"
        " and CI logs; github: GitHub Actions annotations (::error file=...)",
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of workflow files",
        description="Print the JSON Schema (draft 2020-12) of workflow files, for editor"
        " validation and completion (VS Code's YAML extension reads it) or CI.",
    )
    p.add_argument("--out", type=Path, help="write it to this file instead")

    p = sub.add_parser(
        "diagram",
        help="draw a workflow as Mermaid or DOT",
        description="Print a diagram of the workflow in FILE.",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument("--locale", default="en", help="label locale (default: en)")
    p.add_argument(
        "--trail",
        type=Path,
        metavar="TRAIL.jsonl",
        help="draw the path of the case in this exported trail",
    )

    p = sub.add_parser(
        "verify",
        help="verify an exported trail (JSON Lines) or a whole database",
        description="Verify the hash chain of a trail exported with include_personal=True,"
        " or every case of a database (an SQLite file or a postgresql:// DSN, with the"
        " workflow files its cases run on). With checkpoints, also prove that each trail"
        " extends the head they signed. Exit status 1 when anything is broken.",
    )
    p.add_argument("trail", metavar="TRAIL.jsonl|DB")
    p.add_argument(
        "--head", metavar="SEQ:HASH", help="the last head known to be good, to detect truncation"
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        metavar="FILE",
        help="a checkpoint file to verify against (repeat for several)",
    )
    p.add_argument("--public-key", type=Path, metavar="PUBLIC.pem", help="the checkpoints' key")
    p.add_argument(
        "--workflow",
        type=Path,
        action="append",
        metavar="FILE",
        help="for a database: a workflow file its cases run on (repeat for several)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    _cli_audit.add_parsers(sub)
    _cli_export.add_parser(sub)
    _cli_trace.add_parser(sub)
    _cli_export.add_report_parser(sub)

    p = sub.add_parser(
        "overdue",
        help="report overdue cases in an SQLite database",
        description="List every case past its state's deadline, grouped by state, with"
        " its assignee and how late it is.",
    )
    p.add_argument("db", metavar="DB", help="an SQLite file or a postgresql:// DSN")
    p.add_argument("--at", type=_cli_audit.moment, help="report as of this ISO time (default: now)")
    p.add_argument("--workflow", help="only cases of this workflow")
    p.add_argument("--state", help="only cases in this state")
    p.add_argument("--assignee", help="only this worker's cases")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser(
        "run-due",
        help="fire the timers that are due (run it from cron)",
        description="Fire every timer due in an SQLite database, each exactly once, as the"
        " system actor. Safe to run from several places at once.",
    )
    p.add_argument("db", metavar="DB", help="an SQLite file or a postgresql:// DSN")
    p.add_argument(
        "--workflow",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="a workflow file the cases run on (repeat for several)",
    )
    p.add_argument("--at", type=_cli_audit.moment, help="fire as of this ISO time (default: now)")
    p.add_argument("--timezone", default="UTC", help="the office's time zone (Asia/Jakarta)")
    p.add_argument("--holidays", type=Path, help="a holiday list for working-day timers")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser(
        "demo",
        help="play the seed case (Medan street-beggar referral)",
        description="Play the seed case on an SQLite database and print its trail.",
    )
    p.add_argument("--db", type=Path, help="SQLite file (a new temporary one by default)")
    p.add_argument(
        "--staged", action="store_true", help="play it on version 2: stages and parallel tracks"
    )
    return parser


def _overdue(args: argparse.Namespace) -> int:
    with _cli_audit.open_store(args.db) as store:
        query = Query(workflow=args.workflow, state=args.state, assignee=args.assignee)
        report = Engine(store=store).overdue(args.at, query=query)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "at": report.at.isoformat(),
                    "overdue": [
                        {
                            "case_id": o.case_id,
                            "workflow": o.workflow,
                            "state": o.state,
                            "assignee": o.assignee,
                            "due_at": o.due_at.isoformat(),
                            "late_seconds": int(o.late.total_seconds()),
                        }
                        for o in report.cases
                    ],
                },
                indent=2,
            )
        )
    else:
        print(report.table())
    return 0


def _run_due(args: argparse.Namespace) -> int:
    workflows = [load_workflow(path) for path in args.workflow]
    holidays = load_holidays(args.holidays) if args.holidays else frozenset()
    calendar = Calendar(args.timezone, holidays=holidays)
    with _cli_audit.open_store(args.db) as store:
        report = Engine(workflows, store=store, calendar=calendar).run_due(args.at)
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "case_id": r.case_id,
                        "timer": r.timer,
                        "event": r.event,
                        "outcome": r.outcome.value,
                        "from": r.from_state,
                        "to": r.to_state,
                        "why": list(r.why),
                    }
                    for r in report.runs
                ],
                indent=2,
            )
        )
    else:
        for r in report.runs:
            print(f"{r.case_id}: {r.timer} {r.outcome}: {r.event} {r.from_state} -> {r.to_state}")
        print(
            f"{len(report.fired)} fired, {len(report.refused)} refused,"
            f" {len(report.skipped)} skipped at {report.at:%Y-%m-%d %H:%M} UTC"
        )
    return 0


def _check(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    failed = False
    for path in args.files:
        try:
            findings: tuple[Finding, ...] = check_workflow(load_workflow(path))
            problems: list[str] = []
            places: list[dict[str, Any]] = []
        except WorkflowError as exc:
            findings, problems = (), list(exc.problems)
            places = [
                {"path": p.path, "message": p.message, "line": p.line, "column": p.column}
                for p in exc.details
            ]
        errors = bool(problems) or any(
            f.severity == "error" or (args.strict and f.severity == "warning") for f in findings
        )
        failed = failed or errors
        where = _positions(path) if findings else {}
        results.append(
            {
                "file": str(path),
                "ok": not errors,
                "load_errors": problems,
                "load_error_places": places,
                "findings": [
                    {"severity": f.severity, "code": f.code, "path": f.path, "message": f.message,
                     **_located(where, f.path)}
                    for f in findings
                ],
            }
        )  # fmt: skip
    if args.format in {"lines", "github"}:
        for line in _annotations(results, github=args.format == "github"):
            print(line)
    elif args.format == "json":
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(f"{r['file']}: {'ok' if r['ok'] else 'FAILED'}")
            for problem in r["load_errors"]:
                print(f"  error: {problem}")
            for f in r["findings"]:
                print(f"  {f['severity']}: {f['path']}: {f['message']} [{f['code']}]")
    return 1 if failed else 0


def _positions(path: Path) -> dict[str, tuple[int, int]]:
    """Line and column of each key path in a workflow file (empty if it cannot tell)."""
    fmt = SUFFIXES.get(path.suffix.lower())
    try:
        _, positions = READERS[fmt](path.read_text(encoding="utf-8"), str(path))  # type: ignore[index]
    except (KeyError, OSError, ValueError, WorkflowError):
        return {}
    return positions


def _located(positions: dict[str, tuple[int, int]], path: str) -> dict[str, int]:
    """Where the nearest key on ``path`` sits (``transitions[3].guard``, then ``[3]``...)."""
    while True:
        if path in positions:
            line, column = positions[path]
            return {"line": line, "column": column}
        if not path:
            return {}
        cut = max(path.rfind("."), path.rfind("["))
        path = path[: max(cut, 0)]


_LEVELS: Final = {"error": "error", "warning": "warning", "info": "notice"}


def _annotations(results: list[dict[str, Any]], *, github: bool) -> Iterator[str]:
    """One line per load error and finding, as editors or GitHub Actions read them."""
    for r in results:
        located = [
            ("error", "invalid", f"{p['path']}: {p['message']}" if p["path"] else p["message"], p)
            for p in r["load_error_places"]
        ] + [(f["severity"], f["code"], f"{f['path']}: {f['message']}", f) for f in r["findings"]]
        for severity, code, message, at in located:
            line, column = at.get("line") or 1, at.get("column") or 1
            if github:
                text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
                yield (
                    f"::{_LEVELS[severity]} file={r['file']},line={line},col={column},"
                    f"title={code}::{text}"
                )
            else:
                yield f"{r['file']}:{line}:{column}: {severity} {code} {message}"


def _diagram(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.file)
    trail = (
        read_jsonl(args.trail.read_bytes().splitlines(), source=str(args.trail))
        if args.trail
        else None
    )
    draw = to_mermaid if args.format == "mermaid" else to_dot
    sys.stdout.write(draw(workflow, locale=args.locale, trail=trail))
    return 0


def _verify(args: argparse.Namespace) -> int:
    if not args.trail.endswith((".jsonl", ".ndjson")):
        return _cli_audit.verify_database(args)
    head = None
    if args.head:
        seq, _, digest = args.head.partition(":")
        if not seq.isdigit() or len(digest) != _SHA256_HEX:
            print("casework-flow verify: --head takes SEQ:HASH, e.g. 23:6e6e75…", file=sys.stderr)
            return 2
        head = ChainHead(int(seq), digest)
    checkpoints = _cli_audit.read_checkpoints(args)
    try:
        entries = read_jsonl(Path(args.trail).read_bytes().splitlines(), source=args.trail)
    except TrailBroken as exc:
        return _report_broken(args, exc.seq, exc.problem)
    result = verify(entries, head=head)
    if not result.ok or result.head is None:
        return _report_broken(args, result.broken_at, result.problem or "")
    for checkpoint in checkpoints:
        departs = against_checkpoint(entries, entries[0].case_id, checkpoint)
        if departs is not None:
            return _report_broken(args, *departs)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "ok": True,
                    "case_id": result.case_id,
                    "entries": result.entries,
                    "head": {"seq": result.head.seq, "hash": result.head.hash},
                }
            )
        )
    else:
        print(
            f"{args.trail}: ok: case {result.case_id}, {result.entries} entries,"
            f" head {result.head.seq}:{result.head.hash}"
        )
    return 0


def _report_broken(args: argparse.Namespace, seq: int | None, problem: str) -> int:
    if args.format == "json":
        print(json.dumps({"ok": False, "broken_at": seq, "problem": problem}))
    else:
        at = f" at entry {seq}" if seq is not None else ""
        print(f"{args.trail}: BROKEN{at}: {problem}")
    return 1


def _schema(args: argparse.Namespace) -> int:
    text = json.dumps(workflow_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "schema": _schema,
    "diagram": _diagram,
    "verify": _verify,
    "keygen": _cli_audit.keygen,
    "checkpoint": _cli_audit.checkpoint,
    "export": _cli_export.export,
    "report": _cli_export.report,
    "trace": _cli_trace.trace,
    "overdue": _overdue,
    "run-due": _run_due,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        command = _COMMANDS.get(args.command)
        if command is not None:
            return command(args)
        from . import seed  # noqa: PLC0415 - only the demo needs it

        seed.main(
            [*(["--db", str(args.db)] if args.db else []), *(["--staged"] if args.staged else [])]
        )
    except OSError as exc:
        print(f"casework-flow: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except CaseworkError as exc:
        print(f"casework-flow {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - python -m casework_flow.cli
    sys.exit(main())
