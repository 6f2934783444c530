"""examples/fastapi_host: the service through httpx, on SQLite and PostgreSQL.

Each test serves the app with uvicorn and talks to it over HTTP with httpx: in a thread
for what each endpoint answers, and in a child process on PostgreSQL under several
concurrent clients, counting the database's connections while they run and after.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from casework_flow import ManualClock, seed
from casework_flow.stores import Store

from .conftest import ROOT, START, load_example_file
from .stores import PG_DSN, make_store, pg_schema

app_module = load_example_file("fastapi_host_app", ROOT / "examples" / "fastapi_host" / "app.py")

WORKER = {"X-Actor": seed.WORKER.id}
OUTREACH = {"X-Actor": seed.OUTREACH.id}
TO_TRACING: list[tuple[str, dict[str, Any]]] = [
    ("first_contact", {"data": {"client_alias": "R.", "found_at": "Pos", "age": 23}}),
    ("admit_to_shelter", {"evidence": {"consent:shelter_admission": "D1"}}),
    ("begin_assessment", {}),
    ("complete_assessment", {"evidence": {"assessment_report": "D2"}}),
]


@contextmanager
def _serving(app: Any) -> Iterator[httpx.Client]:
    """``app`` under a real uvicorn server in a thread; an httpx client on it."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        for _ in range(300):
            if server.started:
                break
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        port = server.config.port
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def _client(kind: str, tmp_path, clock: ManualClock) -> Iterator[tuple[httpx.Client, Store]]:
    with (
        make_store(kind, tmp_path) as store,
        _serving(app_module.create_app(store, clock=clock)) as client,
    ):
        yield client, store


def _open(client: httpx.Client, case_id: str) -> None:
    answer = client.post(
        "/cases", json={"case_id": case_id, "assignee": seed.WORKER.id}, headers=OUTREACH
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_each_endpoint_answers_as_documented(kind, tmp_path):
    clock = ManualClock(START)
    with _client(kind, tmp_path, clock) as (client, _):
        _open(client, "API-1")
        again = client.post("/cases", json={"case_id": "API-1"}, headers=OUTREACH)
        assert again.status_code == 409
        assert "API-1" in again.json()["message"]

        events = client.get("/cases/API-1/events", headers=WORKER).json()["events"]
        assert "first_contact" in events

        refused = client.post("/cases/API-1/events/first_contact", json={}, headers=WORKER)
        assert refused.status_code == 422
        body = refused.json()
        assert body["error"] == "refused"
        assert body["state"] == "reported"
        assert len(body["reasons"]) >= 2, "every missing fact is listed at once"
        assert all(r["why"] for r in body["reasons"])

        step = TO_TRACING[0][1]
        moved = client.post("/cases/API-1/events/first_contact", json=step, headers=WORKER)
        assert moved.status_code == 200, moved.text
        assert moved.json()["state"] == "engaged"
        stale = client.post(
            "/cases/API-1/events/admit_to_shelter",
            json={**TO_TRACING[1][1], "expected_revision": 1},
            headers=WORKER,
        )
        assert stale.status_code == 409
        assert stale.json()["actual_revision"] == moved.json()["revision"]

        trail = client.get("/cases/API-1/trail", headers=WORKER).json()
        assert trail["verified"] is True
        assert [e["kind"] for e in trail["entries"]] == ["opened", "refused", "transition"]
        assert "client_alias" not in str(trail), "the trail endpoint shows no client data"

        assert client.get("/cases/NOPE/trail", headers=WORKER).status_code == 404
        assert client.post("/cases/API-1/events/fly", headers=WORKER).status_code == 404
        assert client.get("/cases/API-1", headers={"X-Actor": "intruder"}).status_code == 401


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_timer_runner_fires_what_is_due_once(kind, tmp_path):
    clock = ManualClock(START)
    with _client(kind, tmp_path, clock) as (client, _):
        _open(client, "API-2")
        for event, step in TO_TRACING:
            clock.advance(hours=2)
            answer = client.post(f"/cases/API-2/events/{event}", json=step, headers=WORKER)
            assert answer.status_code == 200, answer.text
        assert client.post("/timers/run").json()["fired"] == []
        clock.advance(timedelta(days=10))
        fired = client.post("/timers/run").json()["fired"]
        assert fired == [{"case_id": "API-2", "event": "tracing_failed"}]
        assert client.post("/timers/run").json()["fired"] == []
        assert client.get("/cases/API-2", headers=WORKER).json()["state"] != "family_tracing"


def test_the_background_timer_loop_runs_due_timers(tmp_path):
    clock = ManualClock(START)
    with make_store("sqlite", tmp_path) as store:
        app = app_module.create_app(store, clock=clock, timer_seconds=0.05)
        with _serving(app) as client:
            _open(client, "API-3")
            for event, step in TO_TRACING:
                client.post(f"/cases/API-3/events/{event}", json=step, headers=WORKER)
            clock.advance(timedelta(days=10))
            for _ in range(200):
                if client.get("/cases/API-3", headers=WORKER).json()["state"] != "family_tracing":
                    break
                time.sleep(0.05)
            trail = client.get("/cases/API-3/trail", headers=WORKER).json()["entries"]
            assert trail[-1]["event"] == "tracing_failed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _connections(name: str) -> int:
    """How many connections the server named ``name`` holds to PostgreSQL now."""
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def _uvicorn(dsn: str, name: str) -> Iterator[str]:
    """The example served by uvicorn in a child process; its base URL."""
    env = {**os.environ, "CASEWORK_DSN": f"{dsn}&application_name={name}", "CASEWORK_POOL_MAX": "4"}
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "app:create_app", "--factory", "--port", str(port)]
    command += ["--app-dir", str(ROOT / "examples" / "fastapi_host"), "--log-level", "warning"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "uvicorn exited"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors, errors


def _one_client(base: str, n: int) -> list[int]:
    """Open a case, take it to family tracing, race the others on LOAD-0, read the trail."""
    codes = []
    case_id = f"LOAD-{n}"
    with httpx.Client(base_url=base, timeout=30) as http:
        opening = {"case_id": case_id, "assignee": seed.WORKER.id}
        codes.append(http.post("/cases", json=opening, headers=OUTREACH).status_code)
        for event, step in TO_TRACING:
            moved = http.post(f"/cases/{case_id}/events/{event}", json=step, headers=WORKER)
            codes.append(moved.status_code)
        for _ in range(5):
            raced = {**TO_TRACING[0][1], "expected_revision": 1}
            shared = http.post("/cases/LOAD-0/events/first_contact", json=raced, headers=WORKER)
            codes.append(shared.status_code)
            codes.append(http.get(f"/cases/{case_id}/trail", headers=WORKER).status_code)
    return codes


@pytest.mark.slow
def test_uvicorn_on_postgres_under_concurrent_clients_holds_its_connections():
    name = f"casework-api-{os.getpid()}"
    seen: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            seen.append(_connections(name))
            time.sleep(0.05)

    with pg_schema() as dsn:
        with _uvicorn(dsn, name) as base:
            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                with ThreadPoolExecutor(8) as pool:
                    codes = [
                        c for run in pool.map(_one_client, [base] * 24, range(24)) for c in run
                    ]
            finally:
                done.set()
                sampler.join()
            after = _connections(name)
        with psycopg.connect(dsn) as check:
            row = check.execute("SELECT count(*) FROM casework_cases").fetchone()
    assert set(codes) <= {200, 201, 409, 422}, sorted(set(codes))
    assert codes.count(200) > 24 * 4, "most steps went through"
    assert 409 in codes, "the race on LOAD-0 was lost by all but one, as 409s"
    assert seen, "the connections were sampled while the clients ran"
    assert 1 <= max(seen) <= 4, f"at most the pool's 4 connections, saw {max(seen)}"
    assert after <= 4, f"{after} connections after 24 clients: the pool caps them"
    assert row is not None
    assert row[0] == 24
