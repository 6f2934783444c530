"""A referral's receiving case: opened at the unit the referral went to, linked to the
sending case through that referral, by whoever may accept it, once."""

from __future__ import annotations

import pytest

from casework_flow import Engine, EntryKind, ManualClock, State, Transition, Workflow, replay
from casework_flow.exceptions import WorkflowError
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.guards import linked
from casework_flow.links import LinkRule, LinkType, Side

from .test_handovers import B_SW, B_SW2, BINJAI, CONSENTS, DIRECTORY, MEDAN, START, SW1, WF, whys


def shelter() -> Workflow:
    """The receiving unit's intake: a referred client is admitted; a walk-in is assessed."""
    return Workflow(
        "shelter_intake",
        1,
        "waiting",
        states=[State("waiting"), State("admitted"), State("closed", terminal=True)],
        transitions=[
            Transition("admit", "waiting", "admitted", guard=linked("referred_from") >= 1),
            Transition("close", ["waiting", "admitted"], "closed"),
        ],
        links=[LinkRule("referred_from", "referral")],
    )


def _engine() -> Engine:
    eng = Engine([WF, shelter()], clock=ManualClock(START), directory=DIRECTORY)
    eng.open(WF.name, "H-1", actor=SW1, assignee=SW1.id, unit=MEDAN, evidence=CONSENTS)
    eng.refer("H-1", actor=SW1, to_unit=BINJAI, service="shelter", reason="A bed tonight.")
    eng.open("shelter_intake", "S-1", actor=B_SW, unit=BINJAI)
    return eng


def test_the_receiving_case_links_to_the_sending_case_through_its_referral():
    eng = _engine()
    eng.link("S-1", "H-1", kind="referred_from", handover="referral-2", actor=B_SW)
    ours, theirs = eng.get("S-1").links, eng.get("H-1").links
    assert [(k.other, k.side, k.type, k.handover) for k in ours] == [
        ("H-1", Side.TO, LinkType.REFERRAL, "referral-2")
    ]
    assert [(k.other, k.side, k.handover) for k in theirs] == [("S-1", Side.FROM, "referral-2")]
    assert eng.get("H-1").handovers["referral-2"].status == "in_progress"
    assert eng.fire("S-1", "admit", actor=B_SW).state == "admitted"
    eng.accept_handover("H-1", "referral-2", actor=B_SW2)
    assert eng.get("H-1").handovers["referral-2"].status == "accepted"
    for case_id, wf in (("S-1", shelter()), ("H-1", WF)):
        assert [
            e.details["handover"] for e in eng.trail(case_id) if e.kind is EntryKind.LINKED
        ] == ["referral-2"]
        assert replay(wf, eng.trail(case_id)) == eng.get(case_id)


def test_only_the_receiving_unit_links_an_open_referral_once_to_a_case_of_its_own():
    eng = _engine()
    eng.open("shelter_intake", "S-9", actor=SW1, unit=MEDAN)
    assert whys(lambda: eng.link("S-1", "H-1", kind="referred_from", actor=B_SW)) == [
        "a referral link names the referral of H-1 it answers"
    ]
    assert whys(
        lambda: eng.link("S-1", "H-1", kind="referred_from", handover="referral-7", actor=B_SW)
    ) == ["H-1 holds no referral referral-7"]
    assert whys(
        lambda: eng.link("S-9", "H-1", kind="referred_from", handover="referral-2", actor=SW1)
    ) == [
        "referral-2 was sent to binjai; S-9 belongs to medan",
        "sw-1 may not accept referral-2; only binjai may",
    ]
    eng.link("S-1", "H-1", kind="referred_from", handover="referral-2", actor=B_SW)
    eng.open("shelter_intake", "S-2", actor=B_SW, unit=BINJAI)
    assert whys(
        lambda: eng.link("S-2", "H-1", kind="referred_from", handover="referral-2", actor=B_SW)
    ) == ["a case is linked to referral-2 already"]
    assert eng.get("S-2").links == ()
    assert whys(lambda: eng.fire("S-2", "admit", actor=B_SW))


def test_a_referral_no_longer_open_takes_no_case():
    eng = _engine()
    eng.revoke_handover("H-1", "referral-2", actor=SW1, reason="A family member took him in.")
    assert whys(
        lambda: eng.link("S-1", "H-1", kind="referred_from", handover="referral-2", actor=B_SW)
    ) == ["referral-2 is revoked; only an open referral takes a case"]


def test_a_link_of_another_type_names_no_handover():
    eng = Engine([shelter()], clock=ManualClock(START))
    wf = Workflow(
        "returns", 1, "open", states=[State("open"), State("closed", terminal=True)],
        transitions=[Transition("close", "open", "closed")],
        links=[LinkRule("re_entry", "re_entry")],
    )  # fmt: skip
    eng.register(wf)
    eng.open("returns", "R-1", actor=SW1)
    eng.open("returns", "R-2", actor=SW1)
    assert whys(
        lambda: eng.link("R-2", "R-1", kind="re_entry", handover="referral-2", actor=SW1)
    ) == ["a re_entry link names no handover"]


def test_a_referral_kind_round_trips_through_a_file_and_takes_no_closing_rule():
    text = dump_workflow(shelter(), "yaml")
    assert "type: referral" in text
    assert loads_workflow(text, "yaml") == shelter()
    bad = text.replace("type: referral", "type: referral, on_close: refuse")
    with pytest.raises(WorkflowError, match=r"s.yaml:\d+(:\d+)?: .*on_close is for member_of"):
        loads_workflow(bad, "yaml", source="s.yaml")
