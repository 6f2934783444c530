"""The FastAPI example under load: requests per second and errors with 32 clients.

Serves ``examples/fastapi_host`` with uvicorn (one worker process) on PostgreSQL, its
`AsyncEngine` on `AsyncPostgresStore`, and drives it with 32 concurrent clients for a
fixed number of seconds: each opens a case, takes it through the first four steps of
the seed story, then alternates a step it is refused (422) and a read of the trail.
Beside it, in the same run, the floor: a bare FastAPI app on the same uvicorn, with the
same async pool size, whose one endpoint inserts and commits one row per request.

Run: ``python benchmarks/bench_api.py [--seconds 10] [--clients 32] [--pg DSN]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
WORKER = {"X-Actor": "sw-017"}
OUTREACH = {"X-Actor": "oo-04"}
STEPS = [
    ("first_contact", {"data": {"client_alias": "R.", "found_at": "Pos", "age": 23}}),
    ("admit_to_shelter", {"evidence": {"consent:shelter_admission": "D1"}}),
    ("begin_assessment", {}),
    ("complete_assessment", {"evidence": {"assessment_report": "D2"}}),
]
FLOOR_APP = textwrap.dedent(
    """
    import os
    from contextlib import asynccontextmanager
    from fastapi import FastAPI
    from psycopg_pool import AsyncConnectionPool

    @asynccontextmanager
    async def lifespan(app):
        app.state.pool = AsyncConnectionPool(os.environ["CASEWORK_DSN"], max_size=10, open=False)
        await app.state.pool.open()
        async with app.state.pool.connection() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS floor (id BIGSERIAL, body TEXT)")
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/rows")
    async def insert():
        async with app.state.pool.connection() as conn:
            await conn.execute("INSERT INTO floor (body) VALUES (%s)", ("x" * 400,))
        return {"ok": True}
    """
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: str, app_dir: Path, dsn: str) -> tuple[subprocess.Popen[str], str]:
    port = _port()
    env = {**os.environ, "CASEWORK_DSN": dsn, "CASEWORK_POOL_MAX": "10"}
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "error"]
    command += ["--app-dir", str(app_dir), *(["--factory"] if "create_app" in app else [])]
    server = subprocess.Popen(command, env=env, text=True, stderr=subprocess.PIPE)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return server, base
    server.kill()
    raise SystemExit("uvicorn did not start")


async def _casework_client(base: str, n: int, until: float, codes: Counter[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        k = 0
        while time.monotonic() < until:
            case_id = f"B-{n}-{k}"
            k += 1
            answer = await http.post(
                "/cases", json={"case_id": case_id, "assignee": "sw-017"}, headers=OUTREACH
            )
            codes[answer.status_code] += 1
            for event, body in STEPS:
                moved = await http.post(
                    f"/cases/{case_id}/events/{event}", json=body, headers=WORKER
                )
                codes[moved.status_code] += 1
            refused = await http.post(
                f"/cases/{case_id}/events/family_found", json={}, headers=WORKER
            )
            codes[refused.status_code] += 1
            read = await http.get(f"/cases/{case_id}/trail", headers=WORKER)
            codes[read.status_code] += 1


async def _floor_client(base: str, until: float, codes: Counter[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < until:
            codes[(await http.post("/rows")).status_code] += 1


async def _drive(kind: str, base: str, clients: int, seconds: float) -> tuple[Counter[int], float]:
    codes: Counter[int] = Counter()
    start = time.monotonic()
    until = start + seconds
    if kind == "casework":
        await asyncio.gather(*(_casework_client(base, n, until, codes) for n in range(clients)))
    else:
        await asyncio.gather(*(_floor_client(base, until, codes) for _ in range(clients)))
    return codes, time.monotonic() - start


def main() -> None:
    """Serve each app in turn, drive it, print requests per second and status codes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--pg",
        default=os.environ.get("CASEWORK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in args.pg else "?"
    dsn = f"{args.pg}{sep}options={quote(f'-csearch_path={schema}')}"
    floor_dir = Path(__import__("tempfile").mkdtemp(prefix="bench-api-"))
    (floor_dir / "floor.py").write_text(FLOOR_APP)
    print(
        f"{args.clients} concurrent clients, {args.seconds:g} s each,"
        " PostgreSQL, one uvicorn worker"
    )
    try:
        for kind, app, app_dir in (
            ("casework", "app:create_app", ROOT / "examples" / "fastapi_host"),
            ("raw insert", "floor:app", floor_dir),
        ):
            server, base = _serve(app, app_dir, dsn)
            try:
                codes, took = asyncio.run(_drive(kind, base, args.clients, args.seconds))
            finally:
                server.terminate()
                _, errors = server.communicate(timeout=30)
            total = sum(codes.values())
            failed = sum(v for c, v in codes.items() if c >= 500)
            print(
                f"{kind:>11}: {total / took:8.0f} requests/s  {total} requests"
                f"  status {dict(sorted(codes.items()))}  server errors {failed}"
                + ("  (uvicorn printed a traceback)" if "Traceback" in errors else "")
            )
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
