"""evolve refuses every entry that does not fit the case, naming the entry and why."""

from __future__ import annotations

import attrs
import pytest

from casework_flow import Engine, EntryKind, replay
from casework_flow._catalog import Catalog
from casework_flow._evolve import evolve, fold
from casework_flow.audit import AuditEntry
from casework_flow.exceptions import ReplayError

from .test_core import SPV, SW, WF, engine

V2 = attrs.evolve(WF, version=2)
CATALOG = Catalog([WF, V2])


def story() -> list[AuditEntry]:
    """A trail with a recorded contact, a request, its rejection, and a transfer asked."""
    eng, _ = engine()
    eng.fire("FW-1", "record_contact", actor=SW)
    eng.fire("FW-1", "propose_plan", actor=SW)
    eng.reject("FW-1", actor=SPV, reason="Not yet.")
    eng.record("FW-1", "home_visit", actor=SW, data={"address": "Jl. Sei Deli 4"})
    return list(eng.trail("FW-1"))


TRAIL = story()
OPENED, CONTACT, REQUEST, REJECTION, RECORD = TRAIL


def state_before(entry: AuditEntry):  # type: ignore[no-untyped-def]
    """The case as it was before ``entry``."""
    return fold(None, TRAIL[: TRAIL.index(entry)], catalog=CATALOG)


def refused(case, entry: AuditEntry, catalog: Catalog = CATALOG) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ReplayError) as caught:
        evolve(case, entry, catalog=catalog)
    assert caught.value.seq == entry.seq
    assert caught.value.case_id == (case.id if case is not None else entry.case_id)
    return caught.value.problem


def test_the_story_folds_to_the_stored_case():
    assert replay(WF, TRAIL).revision == 5


def test_an_opening_on_an_unknown_version_or_in_another_state():
    assert "v9, which is not given" in refused(None, attrs.evolve(OPENED, workflow_version=9))
    assert refused(None, attrs.evolve(OPENED, to_state="plan")) == "opened in plan, not tracing"
    assert refused(None, CONTACT) == "the trail does not start with the opening"
    assert refused(state_before(CONTACT), OPENED) == "a second opening"


def test_a_transition_the_workflow_does_not_have():
    case = state_before(CONTACT)
    assert refused(case, attrs.evolve(CONTACT, workflow_version=2)) == (
        "the entry names another workflow version"
    )
    assert refused(case, attrs.evolve(CONTACT, to_state="closed")) == (
        "the workflow has no record_contact from tracing to closed"
    )
    assert refused(case, attrs.evolve(CONTACT, from_state="plan")) == (
        "it leaves plan, but the case was in tracing"
    )


def test_a_transition_while_a_request_waits_must_be_its_approval():
    waiting = state_before(REJECTION)
    assert waiting.approvals.keys() == {"propose_plan"}
    stray = attrs.evolve(
        CONTACT, seq=REJECTION.seq, event="propose_plan", to_state="plan", details={}
    )
    assert refused(waiting, stray) == "a transition while propose_plan waits for approval"
    approved = attrs.evolve(stray, details={"decision": "approved"})
    after = evolve(waiting, approved, catalog=CATALOG)
    assert (after.state, after.approvals) == ("plan", {})
    elsewhere = attrs.evolve(approved, event="family_silent", to_state="conference")
    assert refused(waiting, elsewhere) == "an approval of family_silent, which is not waiting"
    other_kind = attrs.evolve(CONTACT, seq=REJECTION.seq)
    assert evolve(waiting, other_kind, catalog=CATALOG).approvals == waiting.approvals


def test_requests_and_rejections_must_fit_what_waits():
    waiting = state_before(REJECTION)
    assert refused(waiting, attrs.evolve(REQUEST, seq=REJECTION.seq)) == (
        "a request while propose_plan waits"
    )
    no_dest = attrs.evolve(REQUEST, details={"approvers": "supervisor"})
    assert refused(state_before(REQUEST), no_dest) == "a request that names no dest or approvers"
    assert refused(state_before(REQUEST), attrs.evolve(REJECTION, seq=REQUEST.seq)) == (
        "a decision on propose_plan, which is not waiting"
    )


def test_an_entry_that_cannot_move_the_case_claims_no_new_state():
    case = state_before(RECORD)
    assert refused(case, attrs.evolve(RECORD, to_state="plan")) == (
        "a recorded entry that claims the state changed"
    )


def test_handover_answers_must_answer_an_open_handover_of_the_case():
    catalog = Catalog([WF])
    eng = Engine([WF])
    eng.open(WF.name, "FW-2", actor=SW, unit="medan")
    eng.transfer("FW-2", "binjai", actor=SPV, reason="Shelter.")
    opened, sent = eng.trail("FW-2")
    case = fold(None, [opened], catalog=catalog)
    answer = attrs.evolve(
        sent, kind=EntryKind.HANDOVER_ANSWERED, seq=3,
        details={"handover": "transfer-2", "status": "accepted"},
    )  # fmt: skip
    assert refused(case, answer, catalog) == "an answer to a handover that is not open"
    waiting = evolve(case, sent, catalog=catalog)
    assert refused(waiting, attrs.evolve(sent, seq=3), catalog) == (
        "a handover with no new id (transfer-2)"
    )
    odd = attrs.evolve(sent, details={**sent.details, "handover": "x-1", "handover_kind": "x"})
    assert refused(case, odd, catalog) == "a handover of no known kind (transfer)"
    unknown = attrs.evolve(answer, details={"handover": "transfer-2", "status": "maybe"})
    assert refused(waiting, unknown, catalog) == "an answer with no known status"
    rejected = attrs.evolve(answer, details={"handover": "transfer-2", "status": "rejected"})
    kept = evolve(waiting, rejected, catalog=catalog)
    assert (kept.unit, kept.open_handovers, kept.revision) == ("medan", (), waiting.revision + 1)
    assert kept.handovers["transfer-2"].answered_by == answer.actor_id
    moved = evolve(waiting, attrs.evolve(answer, assignee="sw-b"), catalog=catalog)
    assert (moved.unit, moved.assignee, moved.open_handovers) == ("binjai", "sw-b", ())
    assert refused(moved, attrs.evolve(answer, seq=4), catalog) == (
        "an answer to a handover that is not open"
    )


def test_a_migration_must_name_a_given_version_of_the_same_workflow_and_a_real_state():
    case = state_before(CONTACT)
    move = attrs.evolve(CONTACT, kind=EntryKind.MIGRATED, event="migrate", workflow_version=2)
    assert evolve(case, move, catalog=CATALOG).version == 2
    assert "pass that version too" in refused(case, attrs.evolve(move, workflow_version=7))
    other = Catalog([WF, attrs.evolve(WF, name="other", version=2)])
    assert refused(case, attrs.evolve(move, workflow="other"), other) == (
        "a migration to another workflow, other"
    )
    assert refused(case, attrs.evolve(move, to_state="archived")) == "v2 has no state archived"


def test_folding_nothing_builds_no_case():
    with pytest.raises(ReplayError, match="no entry"):
        fold(None, [], catalog=CATALOG)
