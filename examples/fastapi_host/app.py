"""A FastAPI service around casework_flow: open, fire, the events open now, the trail, timers.

Run it (SQLite by default, PostgreSQL when ``CASEWORK_DSN`` is a ``postgresql://`` URL)::

    pip install 'casework-flow[postgres]' fastapi uvicorn
    export CASEWORK_DSN=postgresql://casework@db/social_service
    uvicorn app:create_app --factory --app-dir examples/fastapi_host

One engine and one store serve every request: FastAPI runs these plain ``def`` handlers
on a thread pool, and the store borrows a pooled connection per call
(``CASEWORK_POOL_MAX`` caps them, default 10), so threads coming and going never grow
the number of connections. What a request gets back:

- ``201`` with the case for ``POST /cases``; ``409`` if the id is taken.
- ``200`` with the case after ``POST /cases/{id}/events/{event}``; ``422`` listing every
  refusal reason, in words, when the workflow refuses; ``409`` when the case moved past
  the ``expected_revision`` the caller decided on (or under it, at the same moment).
- ``GET /cases/{id}/events``: what the caller may fire now; ``GET /cases/{id}/trail``:
  the audit trail (its steps and hashes, not the client's data).
- ``POST /timers/run`` fires every due timer; ``CASEWORK_TIMER_SECONDS`` also runs them
  in the background every so many seconds.

Who calls is the ``X-Actor`` header, looked up among the seed workflow's people; a real
host takes the actor from its own authentication.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from casework_flow import Actor, Case, Engine, PostgresStore, SQLiteStore, seed
from casework_flow.exceptions import (
    CaseExists,
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    StoreError,
    TransitionRejected,
    UnknownCase,
    UnknownEvent,
)
from casework_flow.stores import Store
from casework_flow.time import Clock, system_clock

PEOPLE = {
    a.id: a
    for a in (
        seed.OUTREACH,
        seed.WORKER,
        seed.SUPERVISOR,
        seed.SHELTER_HEAD_BINJAI,
        seed.SHELTER_WORKER_BINJAI,
    )
}


class Opening(BaseModel):
    """``POST /cases``."""

    case_id: str
    assignee: str | None = None
    unit: str | None = seed.MEDAN


class Step(BaseModel):
    """``POST /cases/{id}/events/{event}``."""

    data: dict[str, Any] = Field(default_factory=dict)
    evidence: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    reason_code: str | None = None
    expected_revision: int | None = None


def summary(case: Case) -> dict[str, Any]:
    """What a response shows of a case: where it is, not the client's data."""
    return {
        "id": case.id,
        "workflow": case.workflow,
        "version": case.version,
        "state": case.state,
        "revision": case.revision,
        "assignee": case.assignee,
    }


def store_from_environment() -> Store:
    """``CASEWORK_DSN``: a ``postgresql://`` URL, or an SQLite file (``cases.sqlite3``)."""
    dsn = os.environ.get("CASEWORK_DSN", "cases.sqlite3")
    if dsn.startswith(("postgresql://", "postgres://")):
        return PostgresStore(dsn, max_size=int(os.environ.get("CASEWORK_POOL_MAX", "10")))
    return SQLiteStore(dsn)


def _refused(error: TransitionRejected) -> dict[str, Any]:
    return {
        "error": "refused",
        "case_id": error.case_id,
        "event": error.event,
        "state": error.state,
        "reasons": [{"check": r.check, "why": r.why} for r in error.reasons],
    }


def _conflict(error: CaseworkError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": "conflict", "message": str(error)}
    if isinstance(error, ConcurrentModification):
        body["expected_revision"] = error.expected_revision
        body["actual_revision"] = error.actual_revision
    return body


_STATUS: tuple[tuple[type[CaseworkError], int], ...] = (
    (TransitionRejected, 422),
    (ConcurrentModification, 409),
    (CaseExists, 409),
    (UnknownCase, 404),
    (UnknownEvent, 404),
    (InvalidInput, 422),
    (StoreError, 503),
)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _actor(x_actor: Annotated[str, Header()]) -> Actor:
    if x_actor not in PEOPLE:
        raise HTTPException(401, f"unknown actor {x_actor!r}")
    return PEOPLE[x_actor]


Caseload = Annotated[Engine, Depends(_engine)]
Caller = Annotated[Actor, Depends(_actor)]
router = APIRouter()


@router.post("/cases", status_code=201)
def open_case(new: Opening, who: Caller, engine: Caseload) -> dict[str, Any]:
    """Open a case of the seed workflow."""
    case = engine.open(seed.WORKFLOW, new.case_id, actor=who, assignee=new.assignee, unit=new.unit)
    return summary(case)


@router.post("/cases/{case_id}/events/{event}")
def fire(
    case_id: str,
    event: str,
    who: Caller,
    engine: Caseload,
    step: Annotated[Step | None, Body()] = None,
) -> dict[str, Any]:
    """Fire ``event``: 200 with the case moved, 422 with every reason, 409 on a race."""
    step = step or Step()
    case = engine.fire(
        case_id,
        event,
        actor=who,
        data=step.data,
        evidence=step.evidence,
        reason=step.reason,
        reason_code=step.reason_code,
        expected_revision=step.expected_revision,
    )
    return summary(case)


@router.get("/cases/{case_id}")
def get_case(case_id: str, _: Caller, engine: Caseload) -> dict[str, Any]:
    """Where the case is."""
    return summary(engine.get(case_id))


@router.get("/cases/{case_id}/events")
def available(case_id: str, who: Caller, engine: Caseload) -> dict[str, Any]:
    """The events the caller may fire on the case now."""
    return {"case_id": case_id, "events": list(engine.available_events(case_id, who))}


@router.get("/cases/{case_id}/trail")
def trail(case_id: str, _: Caller, engine: Caseload) -> dict[str, Any]:
    """The case's audit trail: each step and its hash, and whether the chain verifies."""
    entries = engine.trail(case_id)
    if not entries:
        raise UnknownCase(case_id)
    return {
        "case_id": case_id,
        "verified": engine.verify(case_id).ok,
        "entries": [
            {
                "seq": e.seq,
                "kind": e.kind.value,
                "event": e.event,
                "from": e.from_state,
                "to": e.to_state,
                "at": e.at.isoformat(),
                "actor": e.actor_id,
                "hash": e.hash,
            }
            for e in entries
        ],
    }


@router.post("/timers/run")
def run_timers(engine: Caseload) -> dict[str, Any]:
    """Fire every timer that is due now (each exactly once, however many workers call)."""
    report = engine.run_due()
    return {
        "at": report.at.isoformat(),
        "fired": [{"case_id": r.case_id, "event": r.event} for r in report.fired],
        "refused": [{"case_id": r.case_id, "why": list(r.why)} for r in report.refused],
    }


def casework_error(_: Request, error: Exception) -> JSONResponse:
    """Every library error as JSON a client can show a person, with its HTTP status."""
    assert isinstance(error, CaseworkError)
    status = next((code for kind, code in _STATUS if isinstance(error, kind)), 400)
    if isinstance(error, TransitionRejected):
        body = _refused(error)
    elif status == 409:
        body = _conflict(error)
    else:
        body = {"error": type(error).__name__, "message": str(error)}
    return JSONResponse(body, status_code=status)


def create_app(
    store: Store | None = None,
    *,
    clock: Clock | None = None,
    timer_seconds: float | None = None,
) -> FastAPI:
    """The service on ``store`` (from the environment when None), with its own engine."""
    chosen = store if store is not None else store_from_environment()
    engine = Engine(
        [seed.build_workflow()], store=chosen, calendar=seed.CALENDAR, clock=clock or system_clock
    )
    if timer_seconds is None and os.environ.get("CASEWORK_TIMER_SECONDS"):
        timer_seconds = float(os.environ["CASEWORK_TIMER_SECONDS"])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        runner = threading.Thread(target=_run_timers, args=(engine, stop, timer_seconds or 0))
        if timer_seconds:
            runner.start()
        yield
        stop.set()
        if runner.is_alive():
            runner.join()
        if store is None:
            chosen.close()

    app = FastAPI(title="casework_flow example host", lifespan=lifespan)
    app.state.engine = engine
    app.add_exception_handler(CaseworkError, casework_error)
    app.include_router(router)
    return app


def _run_timers(engine: Engine, stop: threading.Event, every: float) -> None:
    """Fire due timers every ``every`` seconds until ``stop`` is set."""
    while not stop.wait(every):
        try:
            engine.run_due()
        except CaseworkError:  # a store outage: the next round tries again
            continue
