"""Approvals by several people: k of n distinct approvers, votes as entries, rejections."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Approval,
    Engine,
    EntryKind,
    State,
    Transition,
    TransitionRejected,
    Workflow,
    replay,
)
from casework_flow._catalog import Catalog
from casework_flow._evolve import evolve, fold
from casework_flow.exceptions import ReplayError, WorkflowError
from casework_flow.files import dump_workflow, loads_workflow

from .stores import make_store

SW = Actor("sw-017", {"social_worker"})
SPV = Actor("spv-002", {"supervisor"})
PSY = Actor("psy-004", {"psychologist"})
SENIOR = Actor("sw-001", {"senior_worker"})
CONFERENCE = {"supervisor", "psychologist", "senior_worker"}


def conference(quorum: int = 2, rejections: int = 1) -> Workflow:
    return Workflow(
        "conference",
        1,
        "planning",
        states=[State("planning"), State("referral"), State("closed", terminal=True)],
        transitions=[
            Transition(
                "refer",
                "planning",
                "referral",
                roles={"social_worker"},
                approval=Approval(
                    CONFERENCE, kind="case_conference", quorum=quorum, rejections=rejections
                ),
            ),
            Transition("close", ["planning", "referral"], "closed", roles={"social_worker"}),
        ],
    )


def _requested(wf: Workflow) -> Engine:
    engine = Engine([wf])
    engine.open(wf.name, "C-1", actor=SW, assignee=SW.id)
    engine.fire("C-1", "refer", actor=SW)
    return engine


def test_two_of_three_members_must_approve_and_each_vote_is_an_entry():
    engine = _requested(conference())
    case = engine.approve("C-1", actor=SPV)
    assert case.state == "planning"
    assert case.approvals["case_conference"].approved_by == ("spv-002",)
    vote = engine.trail("C-1")[-1]
    assert vote.kind is EntryKind.APPROVAL_VOTED
    assert vote.details["vote"] == "approve"
    assert vote.details["approvals"] == "1/2"
    case = engine.approve("C-1", actor=PSY)
    assert case.state == "referral"
    assert "case_conference" not in case.approvals
    final = engine.trail("C-1")[-1]
    assert final.kind is EntryKind.TRANSITION
    assert final.details["approved_by"] == "spv-002,psy-004"
    assert replay(conference(), engine.trail("C-1")) == case


def test_no_member_votes_twice_and_the_requester_never_votes():
    engine = _requested(conference())
    engine.approve("C-1", actor=SPV)
    with pytest.raises(TransitionRejected, match="has voted on case_conference already"):
        engine.approve("C-1", actor=SPV)
    requester = Actor("sw-017", {"social_worker", "senior_worker"})
    with pytest.raises(TransitionRejected, match="someone else must approve"):
        engine.approve("C-1", actor=requester)
    assert engine.get("C-1").state == "planning"


def test_one_rejection_ends_the_request_by_default():
    engine = _requested(conference())
    engine.approve("C-1", actor=SPV)
    case = engine.reject("C-1", actor=PSY, reason="Family not yet traced.")
    assert case.approvals == {}
    assert engine.trail("C-1")[-1].kind is EntryKind.APPROVAL_REJECTED


def test_a_rejection_quorum_needs_that_many_distinct_rejections():
    engine = _requested(conference(quorum=3, rejections=2))
    case = engine.reject("C-1", actor=PSY, reason="Not yet.")
    assert case.approvals["case_conference"].rejected_by == ("psy-004",)
    assert engine.trail("C-1")[-1].details["rejections"] == "1/2"
    case = engine.reject("C-1", actor=SENIOR, reason="Agree, not yet.")
    assert case.approvals == {}
    assert replay(conference(3, 2), engine.trail("C-1")) == case


def test_replay_refuses_a_decision_with_too_few_votes():
    engine = _requested(conference())
    engine.approve("C-1", actor=SPV)
    engine.approve("C-1", actor=PSY)
    trail = engine.trail("C-1")
    catalog = Catalog([conference()])
    before_vote = fold(None, trail[:-2], catalog=catalog)
    with pytest.raises(ReplayError, match="with 1 of the 2 distinct votes"):
        evolve(before_vote, trail[-1], catalog=catalog)
    voted = fold(None, trail[:-1], catalog=catalog)
    same_voter = attrs.evolve(trail[-1], actor_id="spv-002")
    with pytest.raises(ReplayError, match="distinct votes"):
        evolve(voted, same_voter, catalog=catalog)


def test_votes_in_a_workflow_file_round_trip_and_bad_ones_are_located():
    wf = conference(quorum=2, rejections=2)
    text = dump_workflow(wf, "yaml")
    assert "quorum: 2" in text
    assert loads_workflow(text, "yaml") == wf
    with pytest.raises(WorkflowError, match=r"approval\.quorum: quorum must be a whole number"):
        loads_workflow(text.replace("quorum: 2", "quorum: 0"), "yaml", source="c.yaml")
    both = Approval({"x"}, quorum=2, direct=True)
    with pytest.raises(WorkflowError, match="cannot be taken directly by one"):
        Workflow(
            "w", 1, "a", states=[State("a"), State("b")],
            transitions=[Transition("go", "a", "b", approval=both)],
        )  # fmt: skip


MEMBERS = (SPV, PSY, SENIOR, Actor("spv-009", {"supervisor"}), SW)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.lists(st.tuples(st.sampled_from(MEMBERS), st.booleans()), max_size=8),
)
def test_a_request_is_decided_exactly_when_its_votes_reach_a_count(quorum, rejections, votes):
    """Distinct approvals reaching the quorum take the step; distinct rejections reaching
    their count end the request; nothing else decides it, and the fold is the case."""
    wf = conference(quorum, rejections)
    engine = _requested(wf)
    yes: list[str] = []
    no: list[str] = []
    for actor, approve in votes:
        if "case_conference" not in engine.get("C-1").approvals:
            break
        allowed = actor.id not in yes + no and actor is not SW
        try:
            if approve:
                engine.approve("C-1", actor=actor)
            else:
                engine.reject("C-1", actor=actor, reason="Not yet.")
        except TransitionRejected:
            assert not allowed
            continue
        assert allowed
        (yes if approve else no).append(actor.id)
    case = engine.get("C-1")
    decided = len(yes) >= quorum or len(no) >= rejections
    assert ("case_conference" not in case.approvals) is decided
    assert (case.state == "referral") is (len(yes) >= quorum)
    if not decided:
        pending = case.approvals["case_conference"]
        assert (pending.approved_by, pending.rejected_by) == (tuple(yes), tuple(no))
    assert replay(wf, engine.trail("C-1")) == case


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_member_who_voted_no_longer_counts_the_request_as_awaiting(kind, tmp_path):
    """Counts agree with the queue when a request takes several votes, and when one
    member's roles decide approvals of different rules (no shortcut through SQL then)."""
    wf = conference(quorum=2)
    closing = Approval({"supervisor"}, kind="closing")
    wf = attrs.evolve(
        wf,
        transitions=[
            wf.transitions[0],
            attrs.evolve(wf.transitions[1], approval=closing),
        ],
    )
    with make_store(kind, tmp_path) as store:
        engine = Engine([wf], store=store)
        for n in (1, 2, 3):
            engine.open(wf.name, f"C-{n}", actor=SW, assignee=SW.id)
        engine.fire("C-1", "refer", actor=SW)
        engine.fire("C-2", "refer", actor=SW)
        engine.fire("C-3", "close", actor=SW)
        engine.approve("C-1", actor=PSY)
        assert [c.id for c in engine.awaiting_decision(PSY).cases] == ["C-2"]
        assert engine.count_awaiting(PSY) == 1
        assert [c.id for c in engine.awaiting_decision(SPV).cases] == ["C-1", "C-2", "C-3"]
        assert engine.count_awaiting(SPV) == 3
        assert engine.count_awaiting(SENIOR) == 2
        assert engine.count_awaiting(SW) == 0
