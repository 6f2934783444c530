"""The feed relayed to Redis Streams: a relay killed mid-way loses and repeats nothing.

Redis runs on this machine's loopback (``CASEWORK_TEST_REDIS_URL``); without it these
tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casework_flow import Engine, ManualClock, SQLiteStore, seed

from .stores import UNDER_CI

redis = pytest.importorskip("redis")

ROOT = Path(__file__).resolve().parent.parent
RELAY = ROOT / "examples" / "feed_to_redis.py"
URL = os.environ.get("CASEWORK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def stream() -> Iterator[tuple[object, str]]:
    client = redis.Redis.from_url(URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        if UNDER_CI:
            pytest.fail(f"Redis at {URL} is not reachable: {exc}")
        pytest.skip(f"Redis at {URL} is not reachable: {exc}")
    name = f"casework-test-{uuid.uuid4().hex[:10]}"
    try:
        yield client, name
    finally:
        client.delete(name)
        client.close()


def _database(path: Path, cases: int) -> Engine:
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    engine = Engine([seed.build_workflow()], store=SQLiteStore(path), clock=clock)
    seed.play_happy_path(engine, clock)
    _more(engine, 0, cases)
    return engine


def _more(engine: Engine, start: int, cases: int) -> None:
    for n in range(start, start + cases):
        engine.open(
            seed.WORKFLOW,
            f"EXTRA-{n:04d}",
            actor=seed.OUTREACH,
            assignee=seed.WORKER.id,
            data={"client_alias": f"Budi {n}", "found_at": "Pasar Petisah"},
        )


def _relay(db: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CASEWORK_REDIS_URL": URL}
    return subprocess.Popen(
        [sys.executable, str(RELAY), str(db), "--stream", name, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _assert_exactly_the_feed(engine: Engine, client: object, name: str) -> None:
    feed = engine.store.feed(limit=100_000).items
    sent = client.xrange(name)  # type: ignore[attr-defined]
    assert [m[0].decode() for m in sent] == [f"{i.position}-0" for i in feed]
    for (_, fields), item in zip(sent, feed, strict=True):
        assert fields[b"case_id"].decode() == item.entry.case_id
        assert int(fields[b"seq"]) == item.entry.seq
        assert json.loads(fields[b"entry"])["hash"] == item.entry.hash


def test_a_relay_killed_mid_way_and_restarted_sends_each_entry_once(tmp_path, stream):
    client, name = stream
    db = tmp_path / "cases.sqlite3"
    engine = _database(db, 120)
    total = len(engine.store.feed(limit=100_000).items)
    first = _relay(db, name, "--limit", "4", "--pause", "0.02")
    deadline = time.monotonic() + 60
    while client.xlen(name) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    cut = client.xlen(name)
    assert 40 <= cut < total, "killed mid-way"
    _more(engine, 120, 30)
    again = _relay(db, name)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"relayed {total + 30 - cut} entries" in out
    _assert_exactly_the_feed(engine, client, name)


def test_two_relays_at_once_still_send_each_entry_once(tmp_path, stream):
    client, name = stream
    db = tmp_path / "cases.sqlite3"
    engine = _database(db, 80)
    relays = [_relay(db, name, "--limit", "3", "--pause", "0.005") for _ in range(2)]
    for r in relays:
        _, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
    _assert_exactly_the_feed(engine, client, name)


def test_personal_fields_are_masked_in_the_stream(tmp_path, stream):
    client, name = stream
    db = tmp_path / "cases.sqlite3"
    _database(db, 3)
    done = _relay(db, name)
    _, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    raw = b" ".join(v for _, fields in client.xrange(name) for v in fields.values())
    assert b"Budi" not in raw
    assert b"Pasar Petisah" not in raw
    opened = [json.loads(f[b"entry"]) for _, f in client.xrange(name) if b"EXTRA" in f[b"case_id"]]
    assert {tuple(e["masked"]) for e in opened} == {("changes.client_alias", "changes.found_at")}
