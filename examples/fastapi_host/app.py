"""A FastAPI service around casework_flow: open, fire, the events open now, the trail, timers.

Run it (SQLite by default, PostgreSQL when ``CASEWORK_DSN`` is a ``postgresql://`` URL)::

    pip install 'casework-flow[postgres]' fastapi uvicorn
    export CASEWORK_DSN=postgresql://casework@db/social_service
    uvicorn app:create_app --factory --app-dir examples/fastapi_host

One `AsyncEngine` and one store serve every request from ``async def`` handlers: on
PostgreSQL an `AsyncPostgresStore` on psycopg's async pool (``CASEWORK_POOL_MAX`` caps
its connections, default 10), so no request blocks the event loop; on SQLite each call
runs in a worker thread. What a request gets back:

- ``201`` with the case for ``POST /cases``; ``409`` if the id is taken.
- ``200`` with the case after ``POST /cases/{id}/events/{event}``; ``422`` listing every
  refusal reason, in words, when the workflow refuses; ``409`` when the case moved past
  the ``expected_revision`` the caller decided on (or under it, at the same moment).
- ``GET /cases/{id}/events``: what the caller may fire now; ``GET /cases/{id}/trail``:
  the audit trail (its steps and hashes, not the client's data).
- ``GET /cases/{id}/page?actor=...&locale=id``: the case page, for a person to look at
  (the diagram with the case's path, what they may do, the trail).
- ``POST /cases/{id}/approvals`` approves a waiting request; ``POST /cases/{id}/handovers``
  refers (or transfers) the case to another unit, and
  ``POST /cases/{id}/handovers/{handover}/accept`` (or ``/reject``) answers it there.
- ``POST /timers/run`` fires every due timer; ``CASEWORK_TIMER_SECONDS`` also runs them
  in the background (an asyncio task) every so many seconds.

Who calls is the ``X-Actor`` header, looked up among the seed workflow's people; a real
host takes the actor from its own authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from casework_flow import Actor, AsyncEngine, Case, SQLiteStore, Workflow, seed
from casework_flow.actions import Action, ActionStatus
from casework_flow.checks import to_mermaid
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
from casework_flow.stores import AsyncPostgresStore, Store
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
    override_by: str | None = None


class Approval(BaseModel):
    """``POST /cases/{id}/approvals``: approve the request waiting under ``kind``."""

    kind: str | None = None
    note: str | None = None


class Sending(BaseModel):
    """``POST /cases/{id}/handovers``: refer or transfer the case to another unit."""

    kind: str = "referral"
    to_unit: str
    reason: str
    evidence: dict[str, str] = Field(default_factory=dict)


class Answer(BaseModel):
    """``POST /cases/{id}/handovers/{handover}/accept`` (or ``/reject``, with a reason)."""

    reason: str | None = None
    evidence: dict[str, str] = Field(default_factory=dict)


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


async def store_from_environment() -> Store:
    """``CASEWORK_DSN``: a ``postgresql://`` URL, or an SQLite file (``cases.sqlite3``)."""
    dsn = os.environ.get("CASEWORK_DSN", "cases.sqlite3")
    if dsn.startswith(("postgresql://", "postgres://")):
        size = int(os.environ.get("CASEWORK_POOL_MAX", "10"))
        return await AsyncPostgresStore.open(dsn, max_size=size)
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


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _actor(x_actor: Annotated[str, Header()]) -> Actor:
    if x_actor not in PEOPLE:
        raise HTTPException(401, f"unknown actor {x_actor!r}")
    return PEOPLE[x_actor]


Caseload = Annotated[AsyncEngine, Depends(_engine)]
Caller = Annotated[Actor, Depends(_actor)]
router = APIRouter()


@router.post("/cases", status_code=201)
async def open_case(new: Opening, who: Caller, engine: Caseload) -> dict[str, Any]:
    """Open a case of the seed workflow."""
    case = await engine.open(
        seed.WORKFLOW, new.case_id, actor=who, assignee=new.assignee, unit=new.unit
    )
    return summary(case)


@router.post("/cases/{case_id}/events/{event}")
async def fire(
    case_id: str,
    event: str,
    who: Caller,
    engine: Caseload,
    step: Annotated[Step | None, Body()] = None,
) -> dict[str, Any]:
    """Fire ``event``: 200 with the case moved, 422 with every reason, 409 on a race."""
    step = step or Step()
    case = await engine.fire(
        case_id,
        event,
        actor=who,
        data=step.data,
        evidence=step.evidence,
        reason=step.reason,
        reason_code=step.reason_code,
        expected_revision=step.expected_revision,
        override_by=None if step.override_by is None else _actor(step.override_by),
    )
    return summary(case)


@router.post("/cases/{case_id}/approvals")
async def approve(
    case_id: str, who: Caller, engine: Caseload, approval: Approval
) -> dict[str, Any]:
    """Approve a waiting request: the transition it asked for happens now (or 422)."""
    return summary(await engine.approve(case_id, actor=who, kind=approval.kind, note=approval.note))


@router.post("/cases/{case_id}/handovers")
async def send_handover(
    case_id: str, who: Caller, engine: Caseload, sending: Sending
) -> dict[str, Any]:
    """Refer the case to another unit, or ask it to take the case over (a transfer)."""
    if sending.kind == "referral":
        case = await engine.refer(case_id, actor=who, to_unit=sending.to_unit,
                                  reason=sending.reason, evidence=sending.evidence)  # fmt: skip
    else:
        case = await engine.transfer(case_id, sending.to_unit, actor=who,
                                     reason=sending.reason, evidence=sending.evidence)  # fmt: skip
    return summary(case)


@router.post("/cases/{case_id}/handovers/{handover}/{answer}")
async def answer_handover(
    case_id: str, handover: str, answer: str, *, who: Caller, engine: Caseload, body: Answer
) -> dict[str, Any]:
    """``accept`` or ``reject`` an open handover, as the unit it was sent to."""
    if answer == "accept":
        case = await engine.accept_handover(case_id, handover, actor=who, evidence=body.evidence)
    elif answer == "reject":
        case = await engine.reject_handover(case_id, handover, actor=who, reason=body.reason or "")
    else:
        raise HTTPException(404, f"no answer {answer!r}: accept or reject")
    return summary(case)


@router.get("/cases/{case_id}")
async def get_case(case_id: str, _: Caller, engine: Caseload) -> dict[str, Any]:
    """Where the case is."""
    return summary(await engine.get(case_id))


@router.get("/cases/{case_id}/events")
async def available(case_id: str, who: Caller, engine: Caseload) -> dict[str, Any]:
    """The events the caller may fire on the case now."""
    return {"case_id": case_id, "events": list(await engine.available_events(case_id, who))}


@router.get("/cases/{case_id}/trail")
async def trail(case_id: str, _: Caller, engine: Caseload) -> dict[str, Any]:
    """The case's audit trail: each step and its hash, and whether the chain verifies."""
    entries = await engine.trail(case_id)
    if not entries:
        raise UnknownCase(case_id)
    return {
        "case_id": case_id,
        "verified": (await engine.verify(case_id)).ok,
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
async def run_timers(engine: Caseload) -> dict[str, Any]:
    """Fire every timer that is due now (each exactly once, however many workers call)."""
    report = await engine.run_due()
    return {
        "at": report.at.isoformat(),
        "fired": [{"case_id": r.case_id, "event": r.event} for r in report.fired],
        "refused": [{"case_id": r.case_id, "why": list(r.why)} for r in report.refused],
    }


# --- the case page -----------------------------------------------------------------------
#
# One HTML page per case, in Indonesian or English (``?locale=id``): the workflow as a
# Mermaid diagram with the states the case went through and the one it is in
# highlighted, every event of its state from `Engine.actions` (what can be done now,
# what it needs, what blocks it, with every reason), and the trail as a timeline read
# with `Engine.read_trail`, so personal values stay masked for whom may not see them. A
# button fires its event through the service's own endpoint and shows the refusal's
# reasons when the workflow refuses. Mermaid's script comes from CASEWORK_MERMAID_JS (a
# local mermaid.min.js, served at /static/mermaid.min.js) or else from a CDN. The
# browser names its person with ``?actor=`` (a real host has its own sign-in).

CDN = "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.min.js"
WORDS = {
    "en": {
        "state": "State", "actions": "What you can do", "trail": "Trail", "do": "Do it",
        "allowed": "can be done now", "needs_input": "needs", "blocked": "blocked",
        "refused": "Refused", "by": "by",
    },
    "id": {
        "state": "Status", "actions": "Yang dapat Anda lakukan", "trail": "Riwayat",
        "do": "Lakukan", "allowed": "dapat dilakukan sekarang", "needs_input": "memerlukan",
        "blocked": "terhalang", "refused": "Ditolak", "by": "oleh",
    },
}  # fmt: skip

_SCRIPT = """
mermaid.initialize({startOnLoad: true, securityLevel: "strict"});
document.querySelectorAll("button[data-event]").forEach((button) => {
  button.addEventListener("click", async () => {
    const out = button.parentElement.querySelector(".refusal");
    const answer = await fetch(button.dataset.url, {
      method: "POST", headers: {"X-Actor": button.dataset.actor},
    });
    if (answer.ok) { location.reload(); return; }
    const body = await answer.json();
    out.replaceChildren(...(body.reasons || [{why: body.message}]).map((r) => {
      const li = document.createElement("li"); li.textContent = r.why; return li;
    }));
    out.hidden = false;
  });
});
"""


def mermaid_src() -> str:
    """Where the page loads Mermaid from."""
    return "/static/mermaid.min.js" if os.environ.get("CASEWORK_MERMAID_JS") else CDN


def _event_label(wf: Workflow, event: str, locale: str) -> str:
    for t in wf.transitions:
        if t.event == event:
            return t.label(locale)
    return event


def _action(a: Action, case_id: str, actor: str, words: dict[str, str]) -> str:
    e = html.escape
    status = f'<span class="status">{e(words[a.status])}</span>'
    parts = [f'<li class="action {e(a.status)}" data-event="{e(a.event)}">',
             f"<strong>{e(a.label)}</strong> {status}"]  # fmt: skip
    if a.status is ActionStatus.NEEDS_INPUT:
        needed = [*a.needs.data, *a.needs.evidence, *a.needs.reason_codes]
        if a.needs.reason:
            needed.append("reason")
        parts.append(f' <span class="needs">{e(", ".join(needed))}</span>')
    if a.reasons:
        items = "".join(f"<li>{e(v.why)}</li>" for v in a.reasons)
        parts.append(f'<ul class="reasons">{items}</ul>')
    if a.status is not ActionStatus.BLOCKED:
        url = f"/cases/{case_id}/events/{a.event}"
        parts.append(
            f' <button data-event="{e(a.event)}" data-url="{e(url)}" data-actor="{e(actor)}">'
            f"{e(words['do'])}</button>"
        )
    parts.append(f'<ul class="refusal" hidden aria-label="{e(words["refused"])}"></ul></li>')
    return "".join(parts)


def _entry(raw: dict[str, Any], wf: Workflow, locale: str, words: dict[str, str]) -> str:
    e = html.escape
    to = wf.state(raw["to"]).label(locale) if raw.get("to") else ""
    masked = " (masked)" if raw.get("masked") else ""
    return (
        f'<li class="entry {e(raw["kind"])}"><time>{e(raw["at"])}</time> '
        f"<strong>{e(_event_label(wf, raw['event'], locale))}</strong> → {e(to)} "
        f"{e(words['by'])} {e(raw['actor']['id'])}{e(masked)}</li>"
    )


async def render(engine: AsyncEngine, case_id: str, who: Actor, locale: str = "en") -> str:
    """The case page as ``who`` may see it, in ``locale``."""
    words = WORDS.get(locale, WORDS["en"])
    case = await engine.get(case_id)
    wf = engine.workflow(case.workflow, case.version)
    trail = await engine.read_trail(case_id, actor=who, purpose="case page")
    diagram = to_mermaid(wf, locale=locale, trail=await engine.trail(case_id))
    actions = await engine.actions(case_id, actor=who, locale=locale)
    facts = {"id": case.id, "state": case.state}
    e = html.escape
    return f"""<!doctype html>
<html lang="{e(locale)}"><head><meta charset="utf-8"><title>{e(case.id)}</title>
<style>
.action.blocked {{ color: #6b7280; }} .reasons, .refusal {{ color: #b91c1c; }}
</style></head>
<body>
<h1>{e(case.id)}</h1>
<p>{e(words["state"])}: <span id="state">{e(wf.state(case.state).label(locale))}</span></p>
<pre class="mermaid" id="diagram">{e(diagram)}</pre>
<h2>{e(words["actions"])}</h2>
<ul id="actions">{"".join(_action(a, case.id, who.id, words) for a in actions)}</ul>
<h2>{e(words["trail"])}</h2>
<ol id="trail">{"".join(_entry(r, wf, locale, words) for r in trail)}</ol>
<script src="{e(mermaid_src())}"></script>
<script>{_SCRIPT}</script>
<script type="application/json" id="case">{e(json.dumps(facts))}</script>
</body></html>
"""


@router.get("/cases/{case_id}/page", response_class=HTMLResponse)
async def case_page(case_id: str, actor: str, engine: Caseload, locale: str = "en") -> str:
    """The case page for the person ``actor``."""
    return await render(engine, case_id, _actor(actor), locale)


@router.get("/static/mermaid.min.js")
def mermaid_js() -> FileResponse:
    """The local copy of Mermaid named by CASEWORK_MERMAID_JS."""
    path = os.environ.get("CASEWORK_MERMAID_JS")
    if not path:
        raise HTTPException(404, "no local Mermaid; the page loads it from the CDN")
    return FileResponse(path, media_type="text/javascript")


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
    if timer_seconds is None and os.environ.get("CASEWORK_TIMER_SECONDS"):
        timer_seconds = float(os.environ["CASEWORK_TIMER_SECONDS"])

    def engine_on(chosen: Store) -> AsyncEngine:
        return AsyncEngine(
            [seed.build_workflow()], store=chosen, calendar=seed.CALENDAR,
            clock=clock or system_clock,
        )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = store if store is not None else await store_from_environment()
        engine = app.state.engine = engine_on(chosen)
        runner = asyncio.create_task(_run_timers(engine, timer_seconds)) if timer_seconds else None
        try:
            yield
        finally:
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            if store is None:
                await _close(chosen)

    app = FastAPI(title="casework_flow example host", lifespan=lifespan)
    app.add_exception_handler(CaseworkError, casework_error)
    app.include_router(router)
    return app


async def _close(store: Store) -> None:
    if isinstance(store, AsyncPostgresStore):
        await store.aclose()
    else:
        store.close()  # type: ignore[attr-defined]


async def _run_timers(engine: AsyncEngine, every: float) -> None:
    """Fire due timers every ``every`` seconds until cancelled."""
    while True:
        await asyncio.sleep(every)
        try:
            await engine.run_due()
        except CaseworkError:  # a store outage: the next round tries again
            continue
