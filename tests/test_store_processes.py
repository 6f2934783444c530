"""Real processes against SQLite and PostgreSQL: racing writers, and SIGKILL mid-stream."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from casework_flow import Actor, Engine, PostgresStore, SQLiteStore, replay, verify
from casework_flow.stores import Query, Store

from .conftest import ROOT, load_example
from .stores import pg_schema

pytestmark = pytest.mark.slow

seed = load_example("medan_street_beggar")
WORKFLOW = seed.build_workflow()
WORKER_SCRIPT = str(ROOT / "tests" / "worker.py")
WORKER = Actor("sw-017", {"social_worker"})


@pytest.fixture(params=["sqlite", "postgres"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'shared.sqlite3'}"
    else:
        with pg_schema() as dsn:
            yield f"postgres:{dsn}"


def open_store(spec: str) -> Store:
    kind, _, where = spec.partition(":")
    return SQLiteStore(where) if kind == "sqlite" else PostgresStore(where)


def all_cases(store: Store) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = store.find(Query(), limit=500, after=cursor)
        ids += [c.id for c in page.cases]
        if page.cursor is None:
            return ids
        cursor = page.cursor


def test_four_processes_racing_lose_nothing(spec: str):
    store = open_store(spec)
    engine = Engine([WORKFLOW], store=store)
    cases = ["R-0", "R-1", "R-2"]
    for case_id in cases:
        engine.open(seed.WORKFLOW, case_id, actor=WORKER)
        for event, actor, data, evidence, code, _ in seed.HAPPY_PATH[:5]:
            engine.fire(case_id, event, actor=actor, data=data, evidence=evidence, reason_code=code)
    base = {c: store.load(c).case.revision for c in cases}
    attempts = 60
    workers = [
        subprocess.Popen(
            [sys.executable, WORKER_SCRIPT, "race", spec, ",".join(cases), str(attempts)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        results.append(json.loads(out))
    assert (
        sum(r["losses"] for r in results) + sum(sum(r["wins"].values()) for r in results)
        == 4 * attempts
    )
    for case_id in cases:
        wins = sum(r["wins"][case_id] for r in results)
        snap = store.load(case_id)
        trail = store.trail(case_id)
        assert snap.case.revision == base[case_id] + wins
        assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
        assert verify(trail, head=snap.head).ok
        assert replay(WORKFLOW, trail, head=snap.head) == snap.case
        assert len([e for e in trail if e.event == "record_contact_attempt"]) == wins
    store.close()  # type: ignore[attr-defined]


def test_sigkill_at_random_moments_leaves_every_case_whole(spec: str, tmp_path: Path):
    log = tmp_path / "committed.log"
    rng = random.Random(20241129)  # noqa: S311 - kill timing, not secrets
    store = open_store(spec)
    for round_ in range(5):
        worker = subprocess.Popen(
            [sys.executable, WORKER_SCRIPT, "stream", spec, f"K{round_}", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not log.exists() or f"K{round_}-" not in log.read_text():
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 0.6))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        if worker.stderr is not None:
            worker.stderr.close()
        assert worker.returncode == -signal.SIGKILL
    logged: dict[str, int] = {}
    for line in log.read_text().splitlines():
        case_id, revision = line.split()
        logged[case_id] = max(logged.get(case_id, 0), int(revision))
    ids = all_cases(store)
    assert set(logged) <= set(ids)
    assert len(ids) >= 5
    for case_id in ids:
        snap = store.load(case_id)
        trail = store.trail(case_id)
        assert verify(trail, head=snap.head).ok, case_id
        assert replay(WORKFLOW, trail, head=snap.head) == snap.case
        assert trail[-1].to_state == snap.case.state
        assert snap.case.revision >= logged.get(case_id, 1)
        assert len([e for e in trail if e.kind.value != "refused"]) == snap.case.revision
    store.close()  # type: ignore[attr-defined]
