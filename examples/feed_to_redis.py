"""Relay the change feed to a Redis stream: nothing lost and nothing twice, across crashes.

Each entry goes to the stream under the ID ``<position>-0``, so the stream's last ID is
the relay's position: a relay that starts (or restarts after being killed) reads it and
goes on from there. Redis accepts only IDs above the stream's last, so an entry sent a
second time, by a relay restarted after sending a page it had no time to note, or by
a second relay running by mistake, is refused by Redis and left out; no position has to
be stored anywhere else. Personal fields are masked (as in `export_jsonl`): a message
broker is no place for a client's identity.

Run it: ``python examples/feed_to_redis.py`` plays the seed case into a new SQLite file
and relays it to ``redis://127.0.0.1:6379/0`` (or ``CASEWORK_REDIS_URL``);
``python examples/feed_to_redis.py DB --stream NAME`` relays an existing database.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import redis

from casework_flow import Engine, ManualClock, SQLiteStore, Workflow
from casework_flow.audit import export_jsonl
from casework_flow.seed import CALENDAR, build_workflow, play_happy_path
from casework_flow.stores import FeedItem, Store

REDIS_URL = os.environ.get("CASEWORK_REDIS_URL", "redis://127.0.0.1:6379/0")


def last_relayed(client: redis.Redis, stream: str) -> int:
    """The position of the last entry in the stream (0 when it is empty or missing)."""
    top = client.xrevrange(stream, count=1)
    return int(top[0][0].split(b"-")[0]) if top else 0


def message(item: FeedItem, workflow: Workflow) -> dict[str, str]:
    """The stream message of one feed item: what a consumer routes on, and the entry."""
    out = io.StringIO()
    export_jsonl([item.entry], out, workflow=workflow)
    e = item.entry
    return {
        "position": str(item.position),
        "case_id": e.case_id,
        "seq": str(e.seq),
        "kind": e.kind.value,
        "event": e.event,
        "refused": "1" if item.refused else "0",
        "entry": out.getvalue().strip(),
    }


def relay(
    store: Store,
    client: redis.Redis,
    *,
    stream: str,
    workflow: Callable[[str, int], Workflow],
    limit: int = 100,
    pause: float = 0.0,
) -> int:
    """Send every entry after the stream's last to it, a page per round trip.

    Returns how many entries this call added. ``pause`` (seconds between pages) is for
    the tests, which kill the relay mid-way.
    """
    after, added = last_relayed(client, stream), 0
    while True:
        page = store.feed(after=after, limit=limit)
        if not page.items:
            return added
        pipe = client.pipeline(transaction=True)
        for item in page.items:
            fields = message(item, workflow(item.entry.workflow, item.entry.workflow_version))
            pipe.xadd(stream, fields, id=f"{item.position}-0")  # type: ignore[arg-type]
        for answer in pipe.execute(raise_on_error=False):
            if isinstance(answer, redis.ResponseError):
                if "equal or smaller" not in str(answer):
                    raise answer
            else:
                added += 1
        after = page.position
        if pause:
            time.sleep(pause)


def main(argv: list[str] | None = None) -> int:
    """Relay a database's feed (or the seed case's, played into a new file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", nargs="?", help="an SQLite file (default: play the seed)")
    parser.add_argument("--stream", default="casework-feed")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--pause", type=float, default=0.0)
    args = parser.parse_args(argv)
    path = args.database or Path(tempfile.mkdtemp(prefix="casework-feed-")) / "cases.sqlite3"
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    engine = Engine([build_workflow()], store=SQLiteStore(path), clock=clock, calendar=CALENDAR)
    if args.database is None:
        play_happy_path(engine, clock)
    client = redis.Redis.from_url(args.redis)
    added = relay(
        engine.store,
        client,
        stream=args.stream,
        workflow=engine.workflow,
        limit=args.limit,
        pause=args.pause,
    )
    print(
        f"relayed {added} entries; stream {args.stream} holds {client.xlen(args.stream)}"
        f" up to position {last_relayed(client, args.stream)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
