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
    assert waiting.pending is not None
    stray = attrs.evolve(CONTACT, seq=REJECTION.seq)
    assert refused(waiting, stray) == "a transition while propose_plan waits for approval"
    approved = attrs.evolve(
        CONTACT, seq=REJECTION.seq, event="propose_plan", to_state="plan",
        details={"decision": "approved"},
    )  # fmt: skip
    assert evolve(waiting, approved, catalog=CATALOG).state == "plan"
    elsewhere = attrs.evolve(approved, event="family_silent", to_state="conference")
    assert "waits for approval" in refused(waiting, elsewhere)


def test_requests_and_rejections_must_fit_what_waits():
    waiting = state_before(REJECTION)
    assert refused(waiting, attrs.evolve(REQUEST, seq=REJECTION.seq)) == (
        "a request while propose_plan waits"
    )
    no_dest = attrs.evolve(REQUEST, details={"approvers": "supervisor"})
    assert refused(state_before(REQUEST), no_dest) == "a request that names no dest or approvers"
    assert refused(state_before(REQUEST), attrs.evolve(REJECTION, seq=REQUEST.seq)) == (
        "a rejection with no request pending"
    )


def test_an_entry_that_cannot_move_the_case_claims_no_new_state():
    case = state_before(RECORD)
    assert refused(case, attrs.evolve(RECORD, to_state="plan")) == (
        "a recorded entry that claims the state changed"
    )


def test_transfers_must_answer_what_was_asked():
    wf = attrs.evolve(WF, transfer_roles={"supervisor"})
    catalog = Catalog([wf])
    eng = Engine([wf])
    eng.open(WF.name, "FW-2", actor=SW, unit="medan")
    eng.transfer("FW-2", "binjai", actor=SPV, reason="Shelter.")
    opened, asked = eng.trail("FW-2")
    case = fold(None, [opened], catalog=catalog)
    answer = attrs.evolve(asked, kind=EntryKind.TRANSFER_ACCEPTED)
    assert refused(case, answer, catalog) == "an answer to a transfer no one asked for"
    waiting = evolve(case, asked, catalog=catalog)
    again = attrs.evolve(asked, seq=3)
    assert refused(waiting, again, catalog) == "a second transfer while one waits"
    kept = evolve(waiting, attrs.evolve(asked, kind=EntryKind.TRANSFER_REFUSED), catalog=catalog)
    assert (kept.unit, kept.transfer, kept.revision) == ("medan", None, waiting.revision + 1)
    moved = evolve(waiting, answer, catalog=catalog)
    assert (moved.unit, moved.transfer) == ("binjai", None)


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
