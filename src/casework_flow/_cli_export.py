"""The command line's ``export`` and ``report``: a whole database for analysts and managers.

    casework-flow export DB --workflow FILE... --format xes|ocel|jsonl --out FILE
    casework-flow report DB --workflow FILE... --format csv|json|html --out FILE

The output is written beside ``FILE`` under a temporary name and renamed into place only
once it is complete, so an export that is interrupted (or meets a trail it cannot read)
leaves no partial file under the final name. Personal fields are masked unless
``--include-personal`` is given, and then only for the workflows whose personal roles
include one of the ``--role`` options (when any is given).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from ._audit import AuditEntry, EntryKind
from ._case import Actor
from ._catalog import Catalog
from ._cli_audit import moment, open_store
from ._engine import Engine
from ._export import export_jsonl
from ._files import load_workflow
from ._mining import DEFAULT_KINDS, export_ocel, export_xes, stored_trails
from ._privacy import may_see_personal
from ._report_page import report_page
from .exceptions import InvalidInput

__all__ = ["add_parser", "add_report_parser", "export", "report"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export`` to the command line."""
    p = sub.add_parser(
        "export",
        help="export every case of a database: XES, OCEL 2.0 or JSON Lines",
        description="Write every case of a database (an SQLite file or a postgresql://"
        " DSN) as an event log for process mining (XES, IEEE 1849; OCEL 2.0 JSON) or as"
        " the trail's JSON Lines, personal fields masked. Nothing is left under the"
        " output's name unless the export completes.",
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
    p.add_argument("--format", choices=["xes", "ocel", "jsonl"], default="xes")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    p.add_argument(
        "--kind",
        action="append",
        choices=[k.value for k in EntryKind],
        metavar="KIND",
        help="the kinds of entry written as events (repeat; default: transition)."
        " Ignored by jsonl, which writes every entry",
    )
    p.add_argument(
        "--include-personal",
        action="store_true",
        help="write personal values instead of *** (sealed values stay sealed)",
    )
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE",
        help="the roles the export is for: personal values only where one may read them",
    )


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report`` to the command line."""
    p = sub.add_parser(
        "report",
        help="time in state, cases opened and closed per month, rates: CSV, JSON or HTML",
        description="Compute the oversight report of a database (an SQLite file or a"
        " postgresql:// DSN) in the database, by workflow version and unit, and write it"
        " as CSV, JSON or an HTML page with charts. No personal value is read.",
    )
    p.add_argument("db", metavar="DB", help="an SQLite file or a postgresql:// DSN")
    p.add_argument("--workflow", type=Path, action="append", required=True, metavar="FILE",
                   help="a workflow file the cases run on (repeat for several)")  # fmt: skip
    p.add_argument("--format", choices=["csv", "json", "html"], default="csv")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--since", type=moment, help="only what happened from this ISO time")
    p.add_argument("--until", type=moment, help="... and before this ISO time")
    p.add_argument("--unit", action="append", metavar="UNIT",
                   help="only cases of this unit (repeat for several)")  # fmt: skip


def report(args: argparse.Namespace) -> int:
    """Write the report; nothing is left under ``--out`` unless it is complete."""
    workflows = [load_workflow(path) for path in args.workflow]
    with open_store(args.db) as store:
        engine = Engine(workflows, store=store)
        found = engine.report(since=args.since, until=args.until, units=args.unit)
    with _target(args.out) as out:
        if args.format == "json":
            out.write(json.dumps(found.to_json(), indent=2, ensure_ascii=False) + "\n")
        elif args.format == "html":
            out.write(report_page(found, title=f"Casework report: {Path(args.db).name}"))
        else:
            found.write_csv(out)
    return 0


def _jsonl(
    trails: Iterable[Sequence[AuditEntry]],
    out: IO[str],
    catalog: Catalog,
    reader: Actor | None,
    *,
    personal: bool,
) -> int:
    written = 0
    for trail in trails:
        if trail:
            wf = catalog.workflow(trail[-1].workflow, trail[-1].workflow_version)
            shown = personal and (reader is None or may_see_personal(wf, reader))
            written += export_jsonl(trail, out, workflow=wf, include_personal=shown)
    return written


@contextlib.contextmanager
def _target(out: Path | None) -> Iterator[IO[str]]:
    """Stdout, or a temporary file beside ``out`` renamed onto it once all is written."""
    if out is None:
        yield sys.stdout
        return
    if out.is_dir():
        raise InvalidInput(str(out), "is a directory; name the file to write")
    fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        Path(partial).replace(out)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def export(args: argparse.Namespace) -> int:
    """Export a database; the count goes to stderr so stdout can carry the log."""
    workflows = [load_workflow(path) for path in args.workflow]
    catalog = Catalog(workflows)
    kinds = frozenset(EntryKind(k) for k in args.kind) if args.kind else DEFAULT_KINDS
    reader = Actor("casework-flow export", set(args.role)) if args.role else None
    personal = bool(args.include_personal)
    with open_store(args.db) as store, _target(args.out) as out:
        trails = stored_trails(store)
        if args.format == "jsonl":
            written = _jsonl(trails, out, catalog, reader, personal=personal)
        else:
            write = export_xes if args.format == "xes" else export_ocel
            written = write(
                trails,
                out,
                workflows=catalog,
                kinds=kinds,
                reader=reader,
                include_personal=personal,
            )
    noun = "entries" if args.format == "jsonl" else "events"
    where = args.out if args.out is not None else "stdout"
    sys.stderr.write(f"{where}: {written} {noun}\n")
    return 0
