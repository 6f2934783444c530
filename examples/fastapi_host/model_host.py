"""The FastAPI service as a `casework_flow.testing.Host`: the workflow tests the host's API.

`ServiceHost` sends each command of a model test to the service over HTTP (an httpx
client on the app's ASGI interface, in process, with the app's lifespan run as a
server runs it), as a client of the service would, and reads each
answer back as the model test compares it: 201/200 allowed, 422 with ``"error":
"refused"`` a refusal with its checks, 409 a conflict, 404 not found, another 422
invalid input. ``look`` asks ``GET /cases/{id}`` (the service shows the state and the
revision, not the client's data). Each run starts on a fresh SQLite file with the
service's clock at the run's start; the model test's clock moves it, and
``POST /timers/run`` fires what fell due::

    from casework_flow import seed
    from casework_flow.testing import model_test
    from app import PEOPLE, create_app
    from model_host import ServiceHost

    def test_the_service_keeps_the_workflow(tmp_path):
        model_test(seed.build_workflow(), ServiceHost(create_app, tmp_path),
                   people=list(PEOPLE.values()), calendar=seed.CALENDAR,
                   save_to="tests/model_fixtures")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from casework_flow import SQLiteStore
from casework_flow.testing import (
    AnswerHandover,
    ApproveRequest,
    FireEvent,
    HostCommand,
    OpenCase,
    PassTime,
    Reply,
    Seen,
    SendHandover,
)
from casework_flow.time import ManualClock

AppFactory = Callable[..., FastAPI]


class ServiceHost:
    """The service made by ``create_app(store, clock=...)``, on SQLite files in ``folder``."""

    def __init__(self, create_app: AppFactory, folder: str | Path | None = None) -> None:
        self.create_app = create_app
        self.folder = Path(folder or tempfile.mkdtemp(prefix="model-host-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runs = itertools.count()
        self.runner: asyncio.Runner | None = None
        self.client: httpx.AsyncClient | None = None
        self.lifespan: contextlib.AbstractAsyncContextManager[Any] | None = None
        self.store: SQLiteStore | None = None
        self.clock = ManualClock(datetime.now().astimezone())

    def start(self, at: datetime) -> None:
        """A fresh service on a new SQLite file, its clock at ``at``, its lifespan entered."""
        self.clock = ManualClock(at)
        path = self.folder / f"run-{next(self.runs)}.sqlite3"
        self.store = SQLiteStore(path, synchronous="NORMAL")
        app = self.create_app(self.store, clock=self.clock)
        self.runner = asyncio.Runner()
        self.lifespan = app.router.lifespan_context(app)
        self.runner.run(self.lifespan.__aenter__())
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://service.test")

    def stop(self) -> None:
        """Leave the lifespan (the timer task ends), close the client and the store."""
        if self.runner is not None:
            if self.client is not None:
                self.runner.run(self.client.aclose())
            if self.lifespan is not None:
                self.runner.run(self.lifespan.__aexit__(None, None, None))
            self.runner.close()
        if self.store is not None:
            self.store.close()
        self.runner = self.client = self.lifespan = self.store = None

    def _call(self, method: str, url: str, actor: str, body: Any = None) -> httpx.Response:  # noqa: ANN401
        assert self.runner is not None
        assert self.client is not None
        request = self.client.request(method, url, json=body, headers={"X-Actor": actor})
        return self.runner.run(request)

    def _post(self, url: str, actor: str, body: dict[str, Any]) -> Reply:
        answer = self._call("POST", url, actor, body)
        if answer.status_code in (200, 201):
            return Reply("allowed")
        payload = answer.json()
        if answer.status_code == 422 and payload.get("error") == "refused":
            return Reply("refused", {r["check"] for r in payload["reasons"]})
        kinds = {409: "conflict", 404: "not_found"}
        return Reply(kinds.get(answer.status_code, "invalid"))

    def apply(self, command: HostCommand) -> Reply:
        """Send ``command`` as the service's own client would, and read its answer."""
        match command:
            case OpenCase(case_id=case_id, actor=actor, assignee=assignee, unit=unit):
                body = {"case_id": case_id, "assignee": assignee, "unit": unit}
                return self._post("/cases", actor.id, body)
            case FireEvent():
                body = {
                    "data": dict(command.data),
                    "evidence": dict(command.evidence),
                    "reason": command.reason,
                    "reason_code": command.reason_code,
                    "expected_revision": command.expected_revision,
                    "override_by": command.override_by.id if command.override_by else None,
                }
                url = f"/cases/{command.case_id}/events/{command.event}"
                return self._post(url, command.actor.id, body)
            case ApproveRequest(case_id=case_id, actor=actor, kind=kind):
                return self._post(f"/cases/{case_id}/approvals", actor.id, {"kind": kind})
            case SendHandover():
                body = {"kind": command.kind, "to_unit": command.to_unit,
                        "reason": command.reason, "evidence": dict(command.evidence)}  # fmt: skip
                return self._post(f"/cases/{command.case_id}/handovers", command.actor.id, body)
            case AnswerHandover():
                verb = "accept" if command.accept else "reject"
                url = f"/cases/{command.case_id}/handovers/{command.handover}/{verb}"
                body = {"reason": command.reason, "evidence": dict(command.evidence)}
                return self._post(url, command.actor.id, body)
            case PassTime(to=to):
                self.clock.set(max(to, self.clock()))
                self._call("POST", "/timers/run", "system").raise_for_status()
                return Reply("allowed")

    def look(self, case_id: str) -> Seen | None:
        """What ``GET /cases/{id}`` shows: the state and the revision."""
        answer = self._call("GET", f"/cases/{case_id}", "sw-017")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        case = answer.json()
        return Seen(case["state"], case["revision"])
