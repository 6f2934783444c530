"""Contracts: state invariants and transition pre- and postconditions, in the kit and engine."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from casework_flow import Actor, Engine, replay
from casework_flow.exceptions import ContractBroken
from casework_flow.files import dump_workflow, loads_workflow
from casework_flow.testing import (
    Contracts,
    RuleViolated,
    check_rules,
    explore,
    workflow_machine,
)

SOUND = textwrap.dedent(
    """
    name: contracted
    version: 1
    initial: reported
    roles: [worker]
    states:
    - {id: reported}
    - id: assessment
      invariant: {fact: intake_date, op: present}
    - {id: planned}
    - {id: closed, terminal: true}
    transitions:
    - {event: begin, source: reported, dest: assessment, roles: [worker],
       requires: [intake_date]}
    - {event: plan, source: assessment, dest: planned, roles: [worker],
       guard: {evidence: assessment_report}, pre: {evidence: assessment_report}}
    - {event: close, source: planned, dest: closed, roles: [worker], requires: [outcome],
       post: {fact: outcome, op: present}}
    """
)
FLAWS = {
    "invariant": ("   requires: [intake_date]}", "   requires: []}"),
    "pre": ("   guard: {evidence: assessment_report}, pre:", "   pre:"),
    "post": ("requires: [outcome],", "requires: [],"),
}
WHY = {
    "invariant": (["open", "begin"], "in assessment: its invariant failed: intake_date"),
    "pre": (["open", "begin", "plan"], "plan: its precondition failed: no assessment_report"),
    "post": (["open", "begin", "plan", "close"], "close: its postcondition failed: outcome"),
}
WORKER = Actor("w-1", {"worker"})


def contracted(flaw: str | None = None):  # type: ignore[no-untyped-def]
    text = SOUND
    if flaw:
        old, new = FLAWS[flaw]
        assert old in text
        text = text.replace(old, new)
    return loads_workflow(text, "yaml")


def test_contracts_are_read_and_written_in_every_format():
    wf = contracted()
    assert wf.state("assessment").invariant.text == "intake_date present"
    assert wf.transitions[1].pre.text == "evidence assessment_report"
    for fmt in ("yaml", "json", "toml"):
        assert loads_workflow(dump_workflow(wf, fmt), fmt) == wf


def test_the_sound_workflow_keeps_its_contracts_in_every_tool():
    wf = contracted()
    assert explore(wf, depth=6).ok
    check_rules(wf, max_examples=30)
    run_state_machine_as_test(workflow_machine(wf), settings=settings(max_examples=20))


@pytest.mark.parametrize("flaw", list(FLAWS))
def test_explore_finds_each_broken_contract_with_its_shortest_trail(flaw):
    wf = contracted(flaw)
    found = explore(wf, depth=6)
    assert found.violation is not None
    assert found.violation.rule == Contracts().text
    events, why = WHY[flaw]
    assert [e.event for e in found.violation.trail] == events
    assert why in found.violation.why
    replay(wf, found.violation.trail)


@pytest.mark.parametrize("flaw", list(FLAWS))
def test_the_random_tools_find_each_broken_contract(flaw):
    wf = contracted(flaw)
    with pytest.raises(RuleViolated, match="contracts hold"):
        check_rules(wf, budget=1, max_examples=200)
    unshrunk = settings(max_examples=300, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    with pytest.raises(RuleViolated, match="contracts hold"):
        run_state_machine_as_test(workflow_machine(wf, budget=1), settings=unshrunk)


def test_an_engine_asked_to_check_contracts_refuses_to_commit_a_breaking_step():
    wf = contracted("post")
    engine = Engine([wf], check_contracts=True)
    engine.open(wf.name, "C-1", actor=WORKER)
    engine.fire("C-1", "begin", actor=WORKER, data={"intake_date": "2024-03-04"})
    engine.fire("C-1", "plan", actor=WORKER, evidence={"assessment_report": "R-1"})
    before = engine.trail("C-1")
    with pytest.raises(ContractBroken) as info:
        engine.fire("C-1", "close", actor=WORKER)
    assert (info.value.case_id, info.value.event) == ("C-1", "close")
    assert info.value.contracts == (
        "close: its postcondition failed: outcome is not recorded; it is needed",
    )
    assert engine.trail("C-1") == before
    assert engine.get("C-1").state == "planned"
    engine.fire("C-1", "close", actor=WORKER, data={"outcome": "reunified"})
    assert engine.get("C-1").state == "closed"


def test_an_engine_that_was_not_asked_commits_what_the_guards_allow():
    wf = contracted("invariant")
    engine = Engine([wf])
    engine.open(wf.name, "C-1", actor=WORKER)
    assert engine.fire("C-1", "begin", actor=WORKER).state == "assessment"
    strict = Engine([wf], check_contracts=True)
    strict.open(wf.name, "C-2", actor=WORKER)
    with pytest.raises(ContractBroken, match="in assessment: its invariant failed"):
        strict.fire("C-2", "begin", actor=WORKER)
