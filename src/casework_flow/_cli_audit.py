"""The command line's audit commands: keys, checkpoints, and verifying a whole database.

    casework-flow keygen PRIVATE.pem PUBLIC.pem
    casework-flow checkpoint DB --key PRIVATE.pem --out DIR
    casework-flow verify DB --workflow FILE... [--checkpoint FILE --public-key PUBLIC.pem]

``DB`` is an SQLite file or a PostgreSQL DSN (``postgresql://…``). Run ``checkpoint``
from cron on a machine that holds the key and can write to ``DIR`` while the database's
users cannot; run ``verify`` with the newest checkpoint (and older ones) to prove nothing
signed was rewritten.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from ._checkpoint import Checkpoint
from ._checkpoint_files import (
    CheckpointDirectory,
    generate_keys,
    load_private_key,
    load_public_key,
    read_checkpoint,
)
from ._engine import Engine
from ._files import load_workflow
from .exceptions import InvalidInput
from .stores import PostgresStore, SQLiteStore, Store

__all__ = [
    "add_parsers",
    "checkpoint",
    "keygen",
    "moment",
    "open_store",
    "read_checkpoints",
    "verify_database",
]


def moment(text: str) -> datetime:
    """An ISO 8601 time with its zone, as a command-line argument."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add Z or +07:00)")
    return value


def open_store(target: str) -> SQLiteStore | PostgresStore:
    """A store on ``target``: a PostgreSQL DSN, or an SQLite file that must exist."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresStore(target)
    if not Path(target).is_file():
        raise InvalidInput(target, "no such database file (or give a postgresql:// DSN)")
    return SQLiteStore(target)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keygen`` and ``checkpoint`` to the command line."""
    p = sub.add_parser(
        "keygen",
        help="make an Ed25519 key pair for signing checkpoints",
        description="Write a new private key (readable by you only) and its public key, as"
        " PEM. Never overwrites a file. Keep the private key off the database server.",
    )
    p.add_argument("private", type=Path, metavar="PRIVATE.pem")
    p.add_argument("public", type=Path, metavar="PUBLIC.pem")

    p = sub.add_parser(
        "checkpoint",
        help="sign every case's head and write the checkpoint to a directory",
        description="Take a signed checkpoint of a database (SQLite file or PostgreSQL DSN)"
        " and write it into DIR, named by its time. Run it from cron.",
    )
    p.add_argument("db", metavar="DB", help="an SQLite file or a postgresql:// DSN")
    p.add_argument("--key", type=Path, required=True, metavar="PRIVATE.pem")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--format", choices=["text", "json"], default="text")


def keygen(args: argparse.Namespace) -> int:
    """Write a key pair."""
    generate_keys(args.private, args.public)
    print(f"wrote {args.private} (private, keep it off the database server) and {args.public}")
    return 0


def checkpoint(args: argparse.Namespace) -> int:
    """Take a checkpoint into a directory."""
    key = load_private_key(args.key)
    sink = CheckpointDirectory(args.out)
    with open_store(args.db) as store:
        made = Engine(store=store).checkpoint(key)
    path = sink(made)
    if args.format == "json":
        print(json.dumps({"file": str(path), **made.header()}))
    else:
        print(f"{path}: {made.size} cases, root {made.root}, at {made.at.isoformat()}")
    return 0


def read_checkpoints(args: argparse.Namespace) -> list[Checkpoint]:
    if not args.checkpoint:
        return []
    if args.public_key is None:
        raise InvalidInput("--public-key", "is needed to check a checkpoint's signature")
    public = load_public_key(args.public_key)
    return [read_checkpoint(path, public) for path in args.checkpoint]


def verify_database(args: argparse.Namespace) -> int:
    """Verify every case of a database, against checkpoints if given; 1 when any broke."""
    if not args.workflow:
        raise InvalidInput(
            "--workflow", "verifying a database folds each trail: name its workflow files"
        )
    checkpoints = read_checkpoints(args)
    workflows = [load_workflow(path) for path in args.workflow]
    store: Store
    with open_store(args.trail) as store:
        result = Engine(workflows, store=store).verify_store(checkpoint=checkpoints)
    if args.format == "json":
        broken = [
            {"case_id": b.case_id, "broken_at": b.broken_at, "problem": b.problem}
            for b in result.broken
        ]
        print(json.dumps({"ok": result.ok, "checked": result.checked, "broken": broken}))
    else:
        for b in result.broken:
            at = f" at entry {b.broken_at}" if b.broken_at is not None else ""
            print(f"{b.case_id}: BROKEN{at}: {b.problem}")
        against = f" against {len(checkpoints)} checkpoint(s)" if checkpoints else ""
        verdict = "ok" if result.ok else f"{len(result.broken)} broken"
        print(f"{args.trail}: {verdict}: {result.checked} cases checked{against}")
    return 0 if result.ok else 1
