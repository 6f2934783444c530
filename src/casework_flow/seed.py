"""The seed case, shipped with the package: its workflow file, its people, its happy path.

A young man who left home after years of family conflict begs at a traffic light in
Medan. A social worker of the city's social service (Dinas Sosial Kota Medan, social
rehabilitation division) assesses him, tries to reach the family, finds them
indifferent, and with the case urgent refers him to the government shelter unit for
vagrants and beggars in Binjai (UPT Pelayanan Sosial Gelandangan dan Pengemis).

The workflow is one reviewed YAML file inside the package (`workflow_path`, read by
`build_workflow`; it needs the ``yaml`` extra). ``casework-flow demo`` plays
`HAPPY_PATH` on SQLite; the narrated story, with its refused attempts, timers and
transfers, is ``examples/medan_street_beggar.py`` in the source repository. Tests and
benchmarks reuse the actors, the calendar and `HAPPY_PATH`.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Final

from ._audit import verify
from ._calendar import Calendar, load_holidays
from ._case import Actor, Case
from ._clock import ManualClock
from ._definition import Workflow
from ._engine import Engine
from ._files import load_workflow
from ._replay import replay
from ._table import format_trail
from .stores import SQLiteStore

__all__ = [
    "ACCEPT_REFERRAL",
    "APPROVE",
    "BINJAI",
    "CALENDAR",
    "CASE_ID",
    "COMPLETE_REFERRAL",
    "HAPPY_PATH",
    "MEDAN",
    "NATIONAL_HOLIDAYS_2024",
    "OUTREACH",
    "REFER",
    "RETURN_CASE_ID",
    "SHELTER_HEAD_BINJAI",
    "SHELTER_WORKER_BINJAI",
    "STAGED_PATH",
    "STAGED_STATE_MAP",
    "SUPERVISOR",
    "WORKER",
    "WORKFLOW",
    "StoryStep",
    "build_staged_workflow",
    "build_workflow",
    "main",
    "play_happy_path",
    "play_staged_path",
    "run_demo",
    "staged_workflow_path",
    "take",
    "workflow_path",
]

WORKFLOW: Final = "street-beggar-family-conflict"
CASE_ID: Final = "MDN-2024-0173"
_DATA = files("casework_flow") / "seed_data"


def workflow_path() -> Path:
    """Where the seed workflow file is (``street-beggar-family-conflict.yaml``)."""
    return Path(str(_DATA / "street-beggar-family-conflict.yaml"))


def staged_workflow_path() -> Path:
    """Where version 2 of the seed workflow is (``street-beggar-staged.yaml``)."""
    return Path(str(_DATA / "street-beggar-staged.yaml"))


def build_staged_workflow() -> Workflow:
    """Load version 2 of the seed workflow: its seven stages, three tracks in one."""
    return load_workflow(staged_workflow_path())


def build_workflow() -> Workflow:
    """Load version 1 of the seed workflow from the file shipped in the package.

    Raises:
        WorkflowError: if PyYAML is not installed (``pip install 'casework-flow[yaml]'``).
    """
    return load_workflow(workflow_path())


NATIONAL_HOLIDAYS_2024 = load_holidays(Path(str(_DATA / "holidays-id-2024.txt")))
"""Indonesia's national holidays in 2024 (not the collective leave days)."""

CALENDAR = Calendar("Asia/Jakarta", weekend={"sat", "sun"}, holidays=NATIONAL_HOLIDAYS_2024)
"""The office calendar in Medan: Monday to Friday, Western Indonesian Time, and holidays."""

MEDAN, BINJAI = "dinsos-medan", "upt-binjai"
OUTREACH = Actor("oo-04", {"outreach_officer"}, units={MEDAN})
WORKER = Actor("sw-017", {"social_worker"}, units={MEDAN})
SUPERVISOR = Actor("spv-002", {"supervisor"}, units={MEDAN})
SHELTER_HEAD_BINJAI = Actor("upt-bnj-head", {"shelter_head"}, units={BINJAI})
SHELTER_WORKER_BINJAI = Actor("upt-bnj-sw-11", {"shelter_worker"}, units={BINJAI})

_REFERRAL_DOCS = {
    "case_conference_minutes": "D5",
    "referral_letter": "D6",
    "health_certificate": "D7",
    "consent:shelter_referral": "D8",
}
_ATTEMPT: dict[str, object] = {"contact_method": "phone", "contact_outcome": "no answer"}
_FOLLOW: dict[str, object] = {"contact_method": "visit", "contact_outcome": "stable"}

StoryStep = tuple[str, Actor, dict[str, object], dict[str, str], str | None, float]
APPROVE: Final = "(approve)"
"""In `HAPPY_PATH`, the step where the actor approves the pending request."""
REFER: Final = "(refer)"
"""In `HAPPY_PATH`, the referral sent to the unit its data names (``to_unit``)."""
ACCEPT_REFERRAL: Final = "(accept referral)"
"""In `HAPPY_PATH`, the addressee accepting the open referral, with its evidence."""
COMPLETE_REFERRAL: Final = "(referral done)"
"""In `HAPPY_PATH`, the addressee marking the open referral done."""
_REFERRAL: dict[str, object] = {"to_unit": BINJAI, "service": "shelter_placement"}
HAPPY_PATH: tuple[StoryStep, ...] = (
    ("first_contact", WORKER, {"client_alias": "R.", "found_at": "Pos", "age": 23}, {}, None, 0),
    ("admit_to_shelter", WORKER, {}, {"consent:shelter_admission": "D1"}, None, 0),
    ("begin_assessment", WORKER, {}, {}, None, 1),
    ("complete_assessment", WORKER, {}, {"assessment_report": "D2"}, None, 1),
    ("family_found", WORKER, {"family_contact_person": "father"}, {}, None, 1),
    ("record_contact_attempt", WORKER, _ATTEMPT, {}, None, 0),
    ("record_contact_attempt", WORKER, _ATTEMPT, {}, None, 4),
    ("record_contact_attempt", WORKER, _ATTEMPT, {}, None, 4),
    ("family_unresponsive", WORKER, {}, {}, "FAMILY_UNRESPONSIVE", 0),
    ("refer_to_shelter_unit", WORKER, {"shelter_unit": "UPT Binjai"}, _REFERRAL_DOCS, None, 1),
    (APPROVE, SUPERVISOR, {}, {}, None, 0),
    (REFER, WORKER, _REFERRAL, {}, None, 0),
    (ACCEPT_REFERRAL, SHELTER_HEAD_BINJAI, {}, {"handover_record": "D9"}, None, 2),
    ("unit_accepts", SHELTER_HEAD_BINJAI, {}, {}, None, 0),
    ("start_rehabilitation", SHELTER_WORKER_BINJAI, {}, {"service_contract": "U1", "service_plan": "U2"}, None, 3),
    ("ready_for_reintegration", SHELTER_WORKER_BINJAI, {}, {"evaluation_report": "U3"}, None, 60),
    (COMPLETE_REFERRAL, SHELTER_HEAD_BINJAI, {}, {}, None, 0),
    ("handover_done", WORKER, {"outcome": "independent"}, {"handover_record": "D12"}, None, 10),
    ("terminate", SUPERVISOR, {}, {"termination_report": "D13"}, None, 2),
    ("record_follow_up_contact", WORKER, _FOLLOW, {}, None, 14),
    ("record_follow_up_contact", WORKER, _FOLLOW, {}, None, 28),
    ("record_follow_up_contact", WORKER, _FOLLOW, {}, None, 42),
    ("complete_follow_up", WORKER, {}, {}, None, 0),
)  # fmt: skip
"""The story without its refused attempts, as data: (event, actor, data, evidence,
reason code, days that pass before the step). Benchmarks and load tests replay it."""

_INTERVENTION: tuple[StoryStep, ...] = (
    ("start_intervention", WORKER, {}, {"case_plan": "D3"}, None, 1),
    ("family_found", WORKER, {"family_contact_person": "father"}, {}, None, 1),
    ("ktp_issued", WORKER, {}, {"identity_document": "D4"}, None, 0),
    ("record_contact_attempt", WORKER, _ATTEMPT, {}, None, 0),
    ("record_contact_attempt", WORKER, _ATTEMPT, {}, None, 4),
    ("health_cleared", WORKER, {}, {"health_certificate": "D7"}, None, 1),
    ("record_contact_attempt", WORKER, _ATTEMPT, {}, None, 3),
    ("family_unresponsive", WORKER, {}, {}, "FAMILY_UNRESPONSIVE", 0),
)  # fmt: skip
STAGED_PATH: tuple[StoryStep, ...] = (
    *HAPPY_PATH[:4],
    *_INTERVENTION,
    *(s for s in HAPPY_PATH[9:]),
)
"""`HAPPY_PATH` on version 2: the same story, with the intervention's three tracks
(the family traced, the KTP issued, the health screening cleared) side by side; the
shelter referral waits for the health track."""


def take(engine: Engine, case_id: str, step: StoryStep) -> Case:
    """Take one step of `HAPPY_PATH` on a case (the clock is the caller's to move)."""
    event, actor, data, evidence, code, _ = step
    if event == APPROVE:
        return engine.approve(case_id, actor=actor)
    if event == REFER:
        return engine.refer(
            case_id, actor=actor, to_unit=str(data["to_unit"]), service=str(data["service"]),
            reason="Family unresponsive; the case conference chose the shelter unit.",
        )  # fmt: skip
    if event in {ACCEPT_REFERRAL, COMPLETE_REFERRAL}:
        referral = engine.get(case_id).handover("referral")
        if referral is None:  # pragma: no cover - the story always has one open here
            raise LookupError(f"{case_id} has no open referral")
        if event == ACCEPT_REFERRAL:
            return engine.accept_handover(case_id, referral.id, actor=actor, evidence=evidence)
        return engine.complete_handover(case_id, referral.id, actor=actor, evidence=evidence)
    return engine.fire(case_id, event, actor=actor, data=data, evidence=evidence, reason_code=code)


Story = Callable[[Engine, ManualClock], object]
"""Something that plays a story on an engine, moving the clock as the days pass."""


def play_happy_path(engine: Engine, clock: ManualClock) -> None:
    """Open the seed case and take it through `HAPPY_PATH`."""
    engine.open(WORKFLOW, CASE_ID, actor=OUTREACH, assignee=WORKER.id, unit=MEDAN, version=1)
    for step in HAPPY_PATH:
        clock.advance(timedelta(days=step[-1], hours=1))
        take(engine, CASE_ID, step)


STAGED_STATE_MAP: Final = {
    "assessment": "assessing",
    "case_conference": "family_unavailable",
    "termination": "termination_review",
    "follow_up": "follow_up_visits",
}
"""Where a version-1 case goes on version 2 (`Engine.plan_migration`): every other state
keeps its id. A case in family tracing or visits goes to that state of the family track,
its identity and health tracks starting at their first states; a case at its case
conference goes there with no family to return to."""


RETURN_CASE_ID: Final = "MDN-2025-0041"
"""The same client's second case, when he is found begging again after release."""


def play_staged_path(engine: Engine, clock: ManualClock) -> None:
    """Open the seed case on version 2 and take it through `STAGED_PATH`.

    Five months later the client is back on the street: his new case is opened and
    linked to this one as a re-entry.
    """
    engine.open(WORKFLOW, CASE_ID, actor=OUTREACH, assignee=WORKER.id, unit=MEDAN, version=2)
    for step in STAGED_PATH:
        clock.advance(timedelta(days=step[-1], hours=1))
        take(engine, CASE_ID, step)
    clock.advance(timedelta(days=150))
    engine.open(WORKFLOW, RETURN_CASE_ID, actor=OUTREACH, assignee=WORKER.id, unit=MEDAN, version=2)
    engine.link(
        RETURN_CASE_ID, CASE_ID, kind="re_entry", actor=WORKER,
        reason="The same client, found begging again at the Simpang Pos lights.",
    )  # fmt: skip


def run_demo(
    story: Story, argv: list[str] | None = None, *, prog: str = "casework-flow demo"
) -> None:
    """Play ``story`` on an SQLite database and print the trail, verified and replayed.

    ``--db FILE`` names the database (a new temporary file by default); the clock starts
    on Monday 4 March 2024, 08:30 in Medan.
    """
    parser = argparse.ArgumentParser(prog=prog, description="Play the seed case on SQLite.")
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file to use (must not hold the case yet); a new temporary file by default",
    )
    parser.add_argument(
        "--staged",
        action="store_true",
        help="play the story on version 2 of the workflow: its stages and parallel tracks",
    )
    args = parser.parse_args(argv)
    db = args.db or Path(tempfile.mkdtemp(prefix="casework-demo-")) / "medan.sqlite3"
    versions = [build_workflow(), build_staged_workflow()]
    if args.staged:
        story = play_staged_path
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    with SQLiteStore(db) as store:
        engine = Engine(versions, store=store, clock=clock, calendar=CALENDAR)
        story(engine, clock)
        case = engine.get(CASE_ID)
        workflow = versions[case.version - 1]
        trail = engine.trail(CASE_ID)
        print(f"\nAudit trail of {CASE_ID} ({workflow.name} v{workflow.version}):\n")
        print(format_trail(trail, workflow))
        checked = verify(trail, head=engine.store.load(CASE_ID).head)
        checked.raise_if_broken()
        if replay(workflow, trail, calendar=CALENDAR) != case:  # pragma: no cover - a bug
            msg = "replay differs from the stored case"
            raise AssertionError(msg)
        label = workflow.state(case.state).label("id")
        for link in case.links:
            print(f"Linked: {link.other} ({link.kind}, {link.side}), since {link.at:%Y-%m-%d}")
        print(f"\nStored in {db} (SQLite).")
        print(f"Final state: {case.state} ({label}), revision {case.revision}")
        head = checked.head.hash[:16] if checked.head is not None else "?"
        print(
            f"Chain verified: {checked.entries} entries, head {head}…;"
            " replay equals the stored case."
        )


def main(argv: list[str] | None = None) -> None:
    """``casework-flow demo``: play `HAPPY_PATH` on SQLite (`run_demo`)."""
    run_demo(play_happy_path, argv)
