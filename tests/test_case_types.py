"""Four case types written from the docs alone load, check clean and keep their rules.

The example files under ``examples/case-types/`` (a neglected child, a survivor of
domestic violence, a neglected older person, a homeless person with an untreated
mental disorder) were written from the file reference as a new user would. Each must
load, validate against the JSON Schema, give no error or warning (only the reviewer's
list of approvals, overrides and reopenings), and keep the rules its practice sets;
each rule, with the guard that keeps it planted out, must then break.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import jsonschema
import pytest
import yaml

from casework_flow import Workflow
from casework_flow.checks import check_workflow
from casework_flow.files import load_workflow, workflow_schema
from casework_flow.guards import always, consent, count, evidence, fact
from casework_flow.testing import Rule, explore, fires, holds, never, reach

ROOT = Path(__file__).resolve().parent.parent
TYPES = ROOT / "examples" / "case-types"
REVIEWERS_LIST = {"approval", "consent-override", "reopening"}


def _caregiver_named(case, _trail) -> bool:
    """A child past the assessment always has a named caregiver."""
    early = {"report_received", "safety_assessment", "closed_unfounded"}
    return case.state in early or bool(case.data.get("caregiver_name"))


RULES: dict[str, tuple[Rule, ...]] = {
    "neglected-child": (
        never(reach("emergency_placement"), unless=evidence("legal_basis")),
        never(reach("emergency_placement"), unless=fact("review_date").present()),
        never(reach("monitoring_in_care"), unless=fact("review_date").present()),
        holds("a named caregiver", _caregiver_named),
    ),
    "domestic-violence": (
        never(reach("legal_accompaniment"), unless=consent("legal_referral")),
        never(reach("medical_care"), unless=consent("medical_referral")),
        never(reach("closed_returned_home"), unless=evidence("risk_review")),
    ),
    "elderly-neglect": (
        never(reach("monitoring_in_care_unit"), unless=evidence("admission_record")),
        never(reach("closed_cared_for_at_home"), unless=count("record_monitoring_visit") >= 2),
    ),
    "mental-illness-street": (
        never(reach("secured"), unless=evidence("danger_finding")),
        never(reach("secured"), unless=evidence("medical_authority_order")),
        never(fires("discharge"), unless=evidence("medical_clearance")),
        never(reach("closed_reunified"), unless=evidence("medical_clearance")),
        never(
            reach("hospital_treatment"),
            unless=consent("treatment") | consent("treatment_by_guardian"),
        ),
    ),
}
PLANTED = {
    "neglected-child": ("place_in_protection", "no legal_basis on file"),
    "domestic-violence": ("refer_for_legal_aid", "no consent to legal_referral is recorded"),
    "elderly-neglect": ("close_at_home", "record_monitoring_visit was recorded 0 times"),
    "mental-illness-street": ("discharge", "no medical_clearance on file"),
}


def _load(name: str) -> Workflow:
    return load_workflow(TYPES / f"{name}.yaml")


def test_there_are_the_four_case_types():
    assert sorted(p.stem for p in TYPES.glob("*.yaml")) == sorted(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_case_type_validates_and_checks_without_a_false_finding(name):
    doc = yaml.safe_load((TYPES / f"{name}.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(doc, workflow_schema())
    findings = check_workflow(_load(name))
    assert {f.code for f in findings} <= REVIEWERS_LIST, [str(f) for f in findings]
    assert all(f.severity == "info" for f in findings)


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_case_type_keeps_the_rules_of_its_practice(name):
    found = explore(_load(name), *RULES[name], depth=12)
    assert found.ok, found
    assert {s.id for s in _load(name).all_states if s.terminal} <= found.reached


def _without_guard(workflow: Workflow, event: str) -> Workflow:
    """The workflow with ``event``'s guard dropped: the planted defect."""
    moved = [
        attrs.evolve(t, guard=always()) if t.event == event else t for t in workflow.transitions
    ]
    return attrs.evolve(workflow, version=2, transitions=moved)


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_case_type_with_its_guard_dropped_breaks_its_rule(name):
    event, why = PLANTED[name]
    broken = _without_guard(_load(name), event)
    found = explore(broken, *RULES[name], depth=12)
    assert found.violation is not None
    assert why in found.violation.why, found.violation.why
    assert found.violation.trail[-1].event == event
