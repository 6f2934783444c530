"""The seed case, told in full: a young man begging on the streets of Medan.

A social worker at the city's social service (Dinas Sosial Kota Medan, social
rehabilitation division) takes on a young man who left home after years of family
conflict. She assesses him, tries to reach the family, finds them indifferent, and with
the case urgent the supervisor refers him to the government shelter unit for vagrants
and beggars in Binjai (UPT Pelayanan Sosial Gelandangan dan Pengemis). After
rehabilitation there he comes back to Medan, lives independently, and the case closes
after follow-up.

Run it: ``make demo`` or ``python examples/medan_street_beggar.py [--db FILE]``. It plays
the story on an SQLite database with a controllable clock, shows refused attempts and
why, the supervisor's overdue list, a timer firing, the four-eyes referral, the referral
handed over to the shelter unit and marked done, prints the trail with Indonesian and
English labels, and ends by verifying the chain and replaying the case. The workflow is
the file shipped in the package (`casework_flow.seed.workflow_path`, also linked as
``examples/street-beggar-family-conflict.yaml``); the people and the happy path come from
`casework_flow.seed`.
"""

from __future__ import annotations

from datetime import timedelta

from casework_flow import Actor, Engine, ManualClock, TransitionRejected
from casework_flow.seed import *  # noqa: F403 - the seed's names, for importers of this script
from casework_flow.seed import (
    BINJAI,
    CASE_ID,
    MEDAN,
    OUTREACH,
    SHELTER_HEAD_BINJAI,
    SHELTER_WORKER_BINJAI,
    SUPERVISOR,
    WORKER,
    WORKFLOW,
    run_demo,
)


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
    assert "referral" in requested.approvals
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


def _hand_over(engine: Engine, clock: ManualClock) -> None:
    """The referral as a handover: sent, refused to the wrong person, accepted, acted on."""
    clock.advance(hours=1)
    sent = engine.refer(
        CASE_ID,
        actor=WORKER,
        to_unit=BINJAI,
        service="shelter_placement",
        reason="Approved at the case conference: placement at the Binjai unit.",
    )
    referral = sent.handover("referral")
    assert referral is not None
    print(f"{WORKER.id} sends {referral.id} to {BINJAI}; the case stays with {MEDAN}")
    clock.advance(days=2)
    try:
        engine.accept_handover(CASE_ID, referral.id, actor=SHELTER_WORKER_BINJAI)
    except TransitionRejected as exc:
        print(f"{SHELTER_WORKER_BINJAI.id} tries to accept it: refused")
        for r in exc.reasons:
            print(f"   - {r.why}")
    engine.accept_handover(
        CASE_ID,
        referral.id,
        actor=SHELTER_HEAD_BINJAI,
        reason="Place available.",
        evidence={"handover_record": "DOC-0173-09 berita acara serah terima"},
    )
    print(f"{SHELTER_HEAD_BINJAI.id} accepts {referral.id} with the signed handover record")
    engine.fire(CASE_ID, "unit_accepts", actor=SHELTER_HEAD_BINJAI)


def play(engine: Engine, clock: ManualClock) -> None:
    """Play the story on ``engine``, moving ``clock`` as the days pass."""
    fire = engine.fire
    engine.open(
        WORKFLOW,
        CASE_ID,
        actor=OUTREACH,
        assignee=WORKER.id,
        unit=MEDAN,
        version=1,
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
    _hand_over(engine, clock)
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
    referral = engine.get(CASE_ID).handover("referral")
    assert referral is not None
    engine.complete_handover(
        CASE_ID, referral.id, actor=SHELTER_HEAD_BINJAI,
        reason="Rehabilitation done; back to the city caseworker for reintegration.",
    )  # fmt: skip
    print(f"{SHELTER_HEAD_BINJAI.id} marks {referral.id} done: {BINJAI}'s access ends")
    try:
        engine.record(CASE_ID, "shelter_note", actor=SHELTER_WORKER_BINJAI, data={"note": "x"})
    except TransitionRejected as exc:
        print(f"{SHELTER_WORKER_BINJAI.id} tries to record on the case afterwards: refused")
        for r in exc.reasons:
            print(f"   - {r.why}")
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
    run_demo(play, argv, prog="medan_street_beggar.py")


if __name__ == "__main__":
    main()
