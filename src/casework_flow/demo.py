"""The seed case: a young man begging on the streets of Medan, referred to the Binjai unit.

A social worker at the city's social service (Dinas Sosial Kota Medan, social
rehabilitation division) takes on a young man who left home after years of family
conflict. She assesses him, tries to reach the family, finds them indifferent, and with
the case urgent the supervisor refers him to the government shelter unit for vagrants
and beggars in Binjai (UPT Pelayanan Sosial Gelandangan dan Pengemis).

Run it: ``casework-flow demo [--db FILE]``, ``python examples/medan_street_beggar.py`` or
``make demo``. It plays the story on an SQLite database with a controllable clock, shows
refused attempts and why, prints the trail with Indonesian and English labels, and ends
by verifying the chain and replaying the case. Tests and benchmarks reuse its workflow,
actors and `HAPPY_PATH`.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import (
    Actor,
    Approval,
    Calendar,
    Case,
    ConsentOverride,
    Deadline,
    Engine,
    ManualClock,
    SQLiteStore,
    State,
    Timer,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from .audit import format_trail
from .guards import (
    consent,
    count,
    evidence,
    fact,
    not_actor_of,
    not_assignee,
    span,
    time_in_state,
)

WORKFLOW = "street-beggar-family-conflict"
CASE_ID = "MDN-2024-0173"

SW, SPV, SYSTEM = "social_worker", "supervisor", "system"
SHELTER_WORKER, SHELTER_HEAD = "shelter_worker", "shelter_head"


def _s(state_id: str, en: str, id_: str, **kw: Any) -> State:  # noqa: ANN401 - State's options
    return State(state_id, labels={"en": en, "id": id_}, **kw)


NATIONAL_HOLIDAYS_2024 = frozenset(
    date.fromisoformat(d)
    for d in (
        "2024-01-01", "2024-02-08", "2024-02-10", "2024-03-11", "2024-03-29", "2024-03-31",
        "2024-04-10", "2024-04-11", "2024-05-01", "2024-05-09", "2024-05-23", "2024-06-01",
        "2024-06-17", "2024-07-07", "2024-08-17", "2024-09-16", "2024-12-25",
    )
)  # fmt: skip
"""Indonesia's national holidays in 2024 (not the collective leave days), as in
``examples/holidays-id-2024.txt``."""

CALENDAR = Calendar("Asia/Jakarta", weekend={"sat", "sun"}, holidays=NATIONAL_HOLIDAYS_2024)
"""The office calendar in Medan: Monday to Friday, Western Indonesian Time, and holidays."""


STATES = (
    _s("reported", "Reported on the street", "Laporan / penjangkauan"),
    _s("engaged", "First approach", "Pendekatan awal"),
    _s(
        "sheltered",
        "Temporary shelter",
        "Penampungan sementara",
        deadline=Deadline(timedelta(days=7)),
    ),
    _s("assessment", "Assessment", "Asesmen", deadline=Deadline(timedelta(days=2))),
    _s(
        "family_tracing",
        "Family tracing",
        "Penelusuran keluarga",
        timers=[
            Timer(
                timedelta(days=5),
                "tracing_failed",
                working=True,
                reason="No family found within 5 working days of tracing.",
                name="tracing_5_working_days",
            )
        ],
    ),
    _s(
        "family_work",
        "Family visits and mediation",
        "Kunjungan dan mediasi keluarga",
        timers=[
            Timer(
                timedelta(days=14),
                "family_unresponsive",
                reason="No response from the family for 14 days.",
                reason_code="FAMILY_UNRESPONSIVE",
                name="family_response_14_days",
            )
        ],
    ),
    _s("case_conference", "Case conference", "Temu bahas kasus"),
    _s(
        "referral_pending",
        "Referral sent to the shelter unit",
        "Rujukan ke UPT",
        deadline=Deadline(timedelta(days=3), working=True),
    ),
    _s("placed", "Placed at the shelter unit", "Penempatan di UPT"),
    _s("rehabilitation", "Rehabilitation", "Rehabilitasi sosial"),
    _s("reintegration", "Reintegration", "Resosialisasi dan reintegrasi"),
    _s("termination", "Termination", "Terminasi"),
    _s("follow_up", "Follow-up", "Bimbingan lanjut"),
    _s(
        "closed_reunified",
        "Closed: back with family",
        "Ditutup: kembali ke keluarga",
        terminal=True,
    ),
    _s("closed_independent", "Closed: living independently", "Ditutup: mandiri", terminal=True),
    _s(
        "closed_returned_to_origin",
        "Closed: returned to home region",
        "Ditutup: dipulangkan ke daerah asal",
        terminal=True,
    ),
    _s(
        "closed_transferred",
        "Closed: transferred to another service",
        "Ditutup: dialihkan",
        terminal=True,
    ),
    _s("closed_declined", "Closed: client declined", "Ditutup: klien menolak", terminal=True),
    _s(
        "closed_left",
        "Closed: client left the service",
        "Ditutup: klien meninggalkan layanan",
        terminal=True,
    ),
)


def _t(
    event: str, source: str | tuple[str, ...], dest: str | None, en: str, id_: str, **kw: object
) -> Transition:
    return Transition(event, source=source, dest=dest, labels={"en": en, "id": id_}, **kw)  # type: ignore[arg-type]


FAMILY_SILENT = (count("record_contact_attempt") >= 3) & (
    span("record_contact_attempt") >= timedelta(days=7)
)

TRANSITIONS = (
    _t(
        "first_contact",
        "reported",
        "engaged",
        "First contact",
        "Kontak pertama",
        roles={SW},
        requires=("client_alias", "found_at"),
    ),
    _t(
        "decline",
        "engaged",
        "closed_declined",
        "Client declines",
        "Klien menolak",
        roles={SW},
        guard=fact("age") >= 18,
        reason_required=True,
        reason_codes=("CLIENT_DECLINED",),
    ),
    _t(
        "admit_to_shelter",
        "engaged",
        "sheltered",
        "Admit to temporary shelter",
        "Masuk penampungan sementara",
        roles={SW},
        guard=consent("shelter_admission"),
        override=ConsentOverride({SPV}, ("URGENT_RISK",)),
    ),
    _t(
        "begin_assessment",
        "sheltered",
        "assessment",
        "Begin assessment",
        "Mulai asesmen",
        roles={SW},
    ),
    _t(
        "route_to_child_protection",
        ("engaged", "sheltered", "assessment"),
        "closed_transferred",
        "Route to child protection",
        "Alihkan ke perlindungan anak",
        roles={SW},
        guard=fact("age") < 18,
        reason_codes=("MINOR",),
    ),
    _t(
        "complete_assessment",
        "assessment",
        "family_tracing",
        "Complete assessment",
        "Asesmen selesai",
        roles={SW},
        guard=evidence("assessment_report"),
    ),
    _t(
        "record_contact_attempt",
        ("family_tracing", "family_work"),
        None,
        "Record a family contact attempt",
        "Catat upaya menghubungi keluarga",
        roles={SW},
        requires=("contact_method", "contact_outcome"),
    ),
    _t(
        "family_found",
        "family_tracing",
        "family_work",
        "Family found",
        "Keluarga ditemukan",
        roles={SW},
        requires=("family_contact_person",),
    ),
    _t(
        "tracing_failed",
        "family_tracing",
        "case_conference",
        "Family tracing failed",
        "Penelusuran keluarga gagal",
        roles={SW, SYSTEM},
        reason_required=True,
    ),
    _t(
        "family_accepts",
        "family_work",
        "reintegration",
        "Family accepts",
        "Keluarga menerima",
        roles={SW},
        guard=evidence("family_statement", "home_visit_report"),
    ),
    _t(
        "family_unresponsive",
        "family_work",
        "case_conference",
        "Family unresponsive",
        "Keluarga tidak merespons",
        roles={SW, SYSTEM},
        guard=FAMILY_SILENT | (time_in_state() >= timedelta(days=14)),
        reason_codes=("FAMILY_UNRESPONSIVE", "FAMILY_REFUSED"),
    ),
    _t(
        "refer_to_shelter_unit",
        "case_conference",
        "referral_pending",
        "Refer to the shelter unit",
        "Rujuk ke UPT",
        roles={SW},
        approval=Approval({SPV}),
        requires=("shelter_unit",),
        guard=consent("shelter_referral")
        & evidence(
            "case_conference_minutes", "referral_letter", "assessment_report", "health_certificate"
        )
        & (count("record_contact_attempt") >= 3),
    ),
    _t(
        "return_to_origin",
        "case_conference",
        "reintegration",
        "Return to home region",
        "Pemulangan ke daerah asal",
        roles={SPV},
        requires=("origin_region",),
        guard=evidence("identity_document", "health_certificate"),
    ),
    _t(
        "unit_accepts",
        "referral_pending",
        "placed",
        "Unit accepts",
        "UPT menerima",
        roles={SHELTER_HEAD},
        guard=evidence("handover_record"),
    ),
    _t(
        "unit_rejects",
        "referral_pending",
        "case_conference",
        "Unit rejects",
        "UPT menolak",
        roles={SHELTER_HEAD},
        reason_required=True,
    ),
    _t(
        "start_rehabilitation",
        "placed",
        "rehabilitation",
        "Start rehabilitation",
        "Mulai rehabilitasi",
        roles={SHELTER_WORKER},
        guard=evidence("service_contract", "service_plan"),
    ),
    _t(
        "client_leaves",
        ("sheltered", "placed", "rehabilitation"),
        "closed_left",
        "Client leaves",
        "Klien pergi",
        roles={SW, SHELTER_WORKER},
        reason_required=True,
        reason_codes=("CLIENT_LEFT",),
    ),
    _t(
        "ready_for_reintegration",
        "rehabilitation",
        "reintegration",
        "Ready for reintegration",
        "Siap resosialisasi",
        roles={SHELTER_WORKER},
        guard=evidence("evaluation_report"),
    ),
    _t(
        "handover_done",
        "reintegration",
        "termination",
        "Handover done",
        "Serah terima selesai",
        roles={SW},
        requires=("outcome",),
        guard=evidence("handover_record")
        & fact("outcome").one_of("reunified", "independent", "returned_to_origin"),
    ),
    _t(
        "terminate",
        "termination",
        "follow_up",
        "Terminate the service",
        "Terminasi layanan",
        roles={SPV},
        guard=evidence("termination_report") & not_assignee() & not_actor_of("handover_done"),
    ),
    _t(
        "record_follow_up_contact",
        "follow_up",
        None,
        "Record a follow-up contact",
        "Catat kontak bimbingan lanjut",
        roles={SW},
        requires=("contact_method", "contact_outcome"),
    ),
    *(
        _t(
            "complete_follow_up",
            "follow_up",
            f"closed_{outcome}",
            "Complete follow-up",
            "Bimbingan lanjut selesai",
            roles={SW},
            priority=priority,
            guard=(fact("outcome") == outcome)
            & (count("record_follow_up_contact") >= 1)
            & (time_in_state() >= timedelta(days=30)),
        )
        for priority, outcome in enumerate(("reunified", "independent", "returned_to_origin"), 1)
    ),
)


def build_workflow() -> Workflow:
    """Return version 1 of the seed workflow, as proposed in shared/domain.md."""
    return Workflow(
        name=WORKFLOW,
        version=1,
        initial="reported",
        states=STATES,
        transitions=TRANSITIONS,
        locales=("en", "id"),
        personal={"client_alias", "family_contact_person", "found_at", "origin_region"},
        transfer_roles={SPV, SHELTER_HEAD},
        receive_roles={SPV, SHELTER_HEAD},
        description="A person begging on the street after family conflict, from outreach"
        " to reunification, independent living or referral to a shelter unit.",
    )


MEDAN, BINJAI = "dinsos-medan", "upt-binjai"
OUTREACH = Actor("oo-04", {"outreach_officer"}, units={MEDAN})
WORKER = Actor("sw-017", {SW}, units={MEDAN})
SUPERVISOR = Actor("spv-002", {SPV}, units={MEDAN})
SHELTER_HEAD_BINJAI = Actor("upt-bnj-head", {SHELTER_HEAD}, units={BINJAI})
SHELTER_WORKER_BINJAI = Actor("upt-bnj-sw-11", {SHELTER_WORKER}, units={BINJAI})


_REFERRAL_DOCS = {
    "case_conference_minutes": "D5",
    "referral_letter": "D6",
    "health_certificate": "D7",
    "consent:shelter_referral": "D8",
}
_ATTEMPT: dict[str, object] = {"contact_method": "phone", "contact_outcome": "no answer"}
_FOLLOW: dict[str, object] = {"contact_method": "visit", "contact_outcome": "stable"}

Step = tuple[str, Actor, dict[str, object], dict[str, str], str | None, float]
APPROVE = "(approve)"
"""In `HAPPY_PATH`, the step where the actor approves the pending request."""
HAPPY_PATH: tuple[Step, ...] = (
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
    ("unit_accepts", SHELTER_HEAD_BINJAI, {}, {"handover_record": "D9"}, None, 2),
    (
        "start_rehabilitation",
        SHELTER_WORKER_BINJAI,
        {},
        {"service_contract": "U1", "service_plan": "U2"},
        None,
        3,
    ),
    ("ready_for_reintegration", SHELTER_WORKER_BINJAI, {}, {"evaluation_report": "U3"}, None, 60),
    ("handover_done", WORKER, {"outcome": "independent"}, {"handover_record": "D12"}, None, 10),
    ("terminate", SUPERVISOR, {}, {"termination_report": "D13"}, None, 2),
    ("record_follow_up_contact", WORKER, _FOLLOW, {}, None, 14),
    ("record_follow_up_contact", WORKER, _FOLLOW, {}, None, 28),
    ("record_follow_up_contact", WORKER, _FOLLOW, {}, None, 42),
    ("complete_follow_up", WORKER, {}, {}, None, 0),
)
"""The story without its refused attempts, as data: (event, actor, data, evidence,
reason code, days that pass before the step). Benchmarks and load tests replay it."""


def take(engine: Engine, case_id: str, step: Step) -> Case:
    """Take one step of `HAPPY_PATH` on a case (the clock is the caller's to move)."""
    event, actor, data, evidence, code, _ = step
    if event == APPROVE:
        return engine.approve(case_id, actor=actor)
    return engine.fire(case_id, event, actor=actor, data=data, evidence=evidence, reason_code=code)


def refused(engine: Engine, event: str, actor: Actor, **kw: object) -> None:
    """Try a step that must be refused, and print why."""
    try:
        engine.fire(CASE_ID, event, actor=actor, **kw)  # type: ignore[arg-type]
    except TransitionRejected as exc:
        print(f"\n{actor.id} tries {event}: refused")
        for r in exc.reasons:
            print(f"   - {r.why}")
    else:
        msg = f"{event} by {actor.id} should have been refused"
        raise AssertionError(msg)


def _refer(engine: Engine, clock: ManualClock) -> None:
    """The referral: refused without consent, requested, self-approval refused, approved."""
    clock.advance(days=1)
    referral_documents = {
        "case_conference_minutes": "DOC-0173-05 minutes",
        "referral_letter": "DOC-0173-06 surat rujukan",
        "health_certificate": "DOC-0173-07 surat keterangan sehat",
    }
    refused(
        engine,
        "refer_to_shelter_unit",
        WORKER,
        data={"shelter_unit": "UPT Binjai"},
        evidence=referral_documents,
    )
    requested = engine.fire(
        CASE_ID,
        "refer_to_shelter_unit",
        actor=WORKER,
        data={"shelter_unit": "UPT Pelayanan Sosial Gelandangan dan Pengemis Binjai"},
        evidence={**referral_documents, "consent:shelter_referral": "DOC-0173-08 consent form"},
        reason="Family unresponsive; the client consents to the Binjai unit.",
    )
    assert requested.pending is not None
    print(f"\n{WORKER.id} requests refer_to_shelter_unit: waiting for a supervisor's approval")
    try:
        engine.approve(CASE_ID, actor=WORKER)
    except TransitionRejected as exc:
        print(f"{WORKER.id} tries to approve their own request: refused")
        for r in exc.reasons:
            print(f"   - {r.why}")
    clock.advance(hours=3)
    engine.approve(CASE_ID, actor=SUPERVISOR, note="Approved at the case conference.")
    print(f"{SUPERVISOR.id} approves: the referral goes to the shelter unit")


def play(engine: Engine, clock: ManualClock) -> None:
    """Play the story on ``engine``, moving ``clock`` as the days pass."""
    fire = engine.fire
    engine.open(
        WORKFLOW,
        CASE_ID,
        actor=OUTREACH,
        assignee=WORKER.id,
        unit=MEDAN,
        data={"found_at": "Simpang Pos traffic lights", "referral_source": "street_outreach"},
    )
    clock.advance(hours=2)
    fire(
        CASE_ID,
        "first_contact",
        actor=WORKER,
        data={"client_alias": "R.", "found_at": "Simpang Pos traffic lights", "age": 23},
    )
    clock.advance(hours=1)
    fire(
        CASE_ID,
        "admit_to_shelter",
        actor=WORKER,
        evidence={"consent:shelter_admission": "DOC-0173-01 consent form"},
    )
    clock.advance(hours=20)
    fire(CASE_ID, "begin_assessment", actor=WORKER)
    clock.advance(days=3)
    print("\nThe psychologist's report is late; the supervisor's overdue list:\n")
    print(engine.overdue().table())
    fire(
        CASE_ID,
        "complete_assessment",
        actor=WORKER,
        evidence={"assessment_report": "DOC-0173-02 assessment form"},
    )
    clock.advance(days=2)
    fire(
        CASE_ID,
        "family_found",
        actor=WORKER,
        data={"family_contact_person": "father, Kec. Medan Deli"},
    )
    fire(
        CASE_ID,
        "record_contact_attempt",
        actor=WORKER,
        data={"contact_method": "phone", "contact_outcome": "no answer"},
    )
    clock.advance(days=1)
    refused(engine, "family_unresponsive", WORKER, reason_code="FAMILY_UNRESPONSIVE")
    clock.advance(days=3)
    fire(
        CASE_ID,
        "record_contact_attempt",
        actor=WORKER,
        data={
            "contact_method": "home_visit",
            "contact_outcome": "father says the son is not his concern",
        },
    )
    clock.advance(days=4)
    fire(
        CASE_ID,
        "record_contact_attempt",
        actor=WORKER,
        data={"contact_method": "phone", "contact_outcome": "call refused"},
    )
    clock.set(engine.get(CASE_ID).state_entered_at + timedelta(days=14))
    for timer in engine.due().timers:
        print(f"\nDue now: timer {timer.timer} on {timer.case_id} ({timer.state})")
    for run in engine.run_due().runs:
        print(
            f"run_due: {run.timer} {run.outcome}: {run.event}, {run.from_state} -> {run.to_state}"
        )
    assert not engine.run_due().runs, "a timer fires once"
    _refer(engine, clock)
    clock.advance(hours=1)
    engine.transfer(
        CASE_ID,
        BINJAI,
        actor=SUPERVISOR,
        to_assignee=SHELTER_WORKER_BINJAI.id,
        reason="Referral approved; the Binjai unit takes over the case.",
    )
    clock.advance(days=2)
    engine.accept_transfer(CASE_ID, actor=SHELTER_HEAD_BINJAI, reason="Place available.")
    print(f"{SHELTER_HEAD_BINJAI.id} accepts the transfer: the case now belongs to {BINJAI}")
    fire(
        CASE_ID,
        "unit_accepts",
        actor=SHELTER_HEAD_BINJAI,
        evidence={"handover_record": "DOC-0173-09 berita acara serah terima"},
    )
    clock.advance(days=3)
    fire(
        CASE_ID,
        "start_rehabilitation",
        actor=SHELTER_WORKER_BINJAI,
        evidence={
            "service_contract": "UPT-BNJ-2024-311 kontrak pelayanan",
            "service_plan": "UPT-BNJ-2024-312 rencana pelayanan",
        },
    )
    clock.advance(days=60)
    fire(
        CASE_ID,
        "ready_for_reintegration",
        actor=SHELTER_WORKER_BINJAI,
        evidence={"evaluation_report": "UPT-BNJ-2024-340 evaluation"},
    )
    engine.transfer(
        CASE_ID,
        MEDAN,
        actor=SHELTER_HEAD_BINJAI,
        to_assignee=WORKER.id,
        reason="Ready to live independently in Medan; back to the city caseworker.",
    )
    clock.advance(days=1)
    engine.accept_transfer(CASE_ID, actor=SUPERVISOR)
    clock.advance(days=9)
    fire(
        CASE_ID,
        "handover_done",
        actor=WORKER,
        data={"outcome": "independent"},
        evidence={"handover_record": "DOC-0173-12 handover to boarding house"},
    )
    clock.advance(days=2)
    refused(engine, "terminate", WORKER, evidence={"termination_report": "DOC-0173-13"})
    fire(
        CASE_ID,
        "terminate",
        actor=SUPERVISOR,
        evidence={"termination_report": "DOC-0173-13 termination report"},
    )
    for week in (2, 6, 12):
        clock.set(engine.get(CASE_ID).state_entered_at + timedelta(weeks=week))
        fire(
            CASE_ID,
            "record_follow_up_contact",
            actor=WORKER,
            data={"contact_method": "visit", "contact_outcome": f"week {week}: working, stable"},
        )
    fire(CASE_ID, "complete_follow_up", actor=WORKER)


def main(argv: list[str] | None = None) -> None:
    """Play the story on an SQLite database and print what happened."""
    parser = argparse.ArgumentParser(
        prog="casework-flow demo", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file to use (must not hold the case yet); a new temporary file by default",
    )
    args = parser.parse_args(argv)
    db = args.db or Path(tempfile.mkdtemp(prefix="casework-demo-")) / "medan.sqlite3"
    workflow = build_workflow()
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    with SQLiteStore(db) as store:
        engine = Engine([workflow], store=store, clock=clock, calendar=CALENDAR)
        play(engine, clock)
        case = engine.get(CASE_ID)
        trail = engine.trail(CASE_ID)
        print(f"\nAudit trail of {CASE_ID} ({workflow.name} v{workflow.version}):\n")
        print(format_trail(trail, workflow))
        verification = engine.verify(CASE_ID)
        verification.raise_if_broken()
        assert replay(workflow, trail, head=verification.head, calendar=CALENDAR) == case
        print(f"\nStored in {db} (SQLite).")
        print(
            f"Final state: {case.state} ({workflow.state(case.state).label('id')}),"
            f" revision {case.revision}"
        )
        assert verification.head is not None
        print(
            f"Chain verified: {verification.entries} entries, head"
            f" {verification.head.hash[:16]}…; replay equals the stored case."
        )


if __name__ == "__main__":
    main()
