"""Rules over time declared in the workflow file (``properties:``), and what the kit does.

The file reader takes every pattern, scope and proposition, refuses a bad one with its
file and line, and writes back what it read in every format; the kit builds each into
the `Property` the Python API builds, and every kit tool checks them unasked.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta

import attrs
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework_flow import seed
from casework_flow._property_specs import ATOMS, PropertySpec, terms_of
from casework_flow.exceptions import WorkflowError
from casework_flow.files import (
    dump_workflow,
    loads_workflow,
    workflow_from_dict,
    workflow_schema,
    workflow_to_dict,
)
from casework_flow.testing import (
    absence,
    after,
    after_until,
    before,
    between,
    by_role,
    by_timer,
    check_rules,
    declared_properties,
    entry_kind,
    existence,
    explore,
    field_is,
    fires,
    globally,
    opened,
    overridden,
    precedence,
    reach,
    refused,
    reopened,
    seed_properties,
    terminal,
    transferred,
    universality,
)

RULED = textwrap.dedent("""\
    name: ruled
    version: 1
    initial: open_
    requirements:
      R-1: {title: Closing is reviewed}
    states:
    - id: open_
      timers:
      - {after: P3D, event: close, name: auto_close}
    - id: reviewed
    - id: closed
      terminal: true
    transitions:
    - {event: review, source: open_, dest: reviewed, roles: [supervisor]}
    - {event: close, source: [open_, reviewed], dest: closed, roles: [social_worker, system]}
    properties:
    - name: closed only after a review
      precedence: [{fires: review}, {reach: closed}]
      requirements: [R-1]
    - name: no timer closes a case
      absence: {all: [{by_timer: auto_close}, {terminal: true}]}
    - name: a case is reviewed
      existence: {fires: review}
      scope: {between: [{opened: true}, {reach: closed}]}
    - name: reviewed cases answer within two working days
      response: [{reach: reviewed}, {not: {inside: reviewed}}]
      within: P2D
      working: true
      scope: {after_until: [{by_role: supervisor}, {entry_kind: refused, event: close}]}
    - name: every entry is the case's own
      universality:
        any:
        - {field_is: age, value: 18}
        - {not: {field_is: age, value: 18}}
        - {overridden: true}
        - {transferred: true}
        - {reopened: true}
        - {refused: true}
        - {refused: close}
        - {by_timer: true}
      scope: {before: {reach: closed}}
    """)


def test_every_pattern_scope_and_proposition_is_read_and_written_back() -> None:
    wf = loads_workflow(RULED, "yaml")
    assert [p.pattern for p in wf.properties] == [
        "absence" if i == 1 else k
        for i, k in enumerate(["precedence", "absence", "existence", "response", "universality"])
    ]
    assert wf.properties[3].within == timedelta(days=2)
    assert wf.properties[3].working is True
    assert wf.properties[0].requirements == ("R-1",)
    used = {
        kind
        for p in wf.properties
        for term in (*p.terms, *p.scope_terms)
        for kind, _ in terms_of(term)
    }
    assert set(ATOMS) <= used
    for fmt in ("yaml", "json", "toml"):
        assert loads_workflow(dump_workflow(wf, fmt), fmt) == wf


def test_the_kit_builds_what_the_python_api_builds() -> None:
    wf = loads_workflow(RULED, "yaml")
    built = declared_properties(wf)
    assert built[0] == precedence(
        fires("review"), reach("closed"), name="closed only after a review",
        requirements=["R-1"], workflow="ruled",
    )  # fmt: skip
    assert built[1] == absence(
        by_timer("auto_close") & terminal(), name="no timer closes a case", workflow="ruled"
    )
    assert built[2] == existence(
        fires("review"), scope=between(opened(), reach("closed")), name="a case is reviewed",
        workflow="ruled",
    )  # fmt: skip
    assert built[3].pattern.within == timedelta(days=2)
    assert built[3].scope == after_until(by_role("supervisor"), entry_kind("refused", "close"))
    every = (
        field_is("age", 18) | ~field_is("age", 18) | overridden() | transferred() | reopened()
        | refused() | refused("close") | by_timer()
    )  # fmt: skip
    assert built[4].pattern == universality(every).pattern
    assert built[4].scope == before(reach("closed"))
    assert built[2].scope != globally()


def test_the_seed_file_declares_the_seed_rules() -> None:
    declared = declared_properties(seed.build_workflow())
    assert declared == seed_properties()
    review = declared[2]
    assert review.scope == after(opened() | reopened())
    assert review.requirements == ("TERM-REVIEW",)
    assert declared[5].pattern.working is True
    assert len(declared) == 6
    assert {r for p in declared for r in p.requirements} == set(seed.build_workflow().requirements)


def _problems(text: str) -> list[tuple[str, int | None]]:
    with pytest.raises(WorkflowError) as info:
        loads_workflow(text, "yaml", source="ruled.yaml")
    assert all(p.file == "ruled.yaml" for p in info.value.details)
    return [(p.message, p.line) for p in info.value.details]


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("precedence: [{fires: review}, {reach: closed}]",
         "precedence: [{fires: review}, {reach: shut}]",
         "closed only after a review: reach: the workflow has no state 'shut'"),
        ("absence: {all: [{by_timer: auto_close}",
         "absence: {all: [{by_timer: late}",
         "no timer closes a case: by_timer: the workflow has no timer 'late'"),
        ("{entry_kind: refused, event: close}", "{entry_kind: sealed, event: close}",
         "entry_kind: no entry kind 'sealed'"),
        ("{entry_kind: refused, event: close}", "{entry_kind: refused, event: fly}",
         "entry_kind: the workflow has no event 'fly'"),
        ("requirements: [R-1]\n- name: no timer", "requirements: [R-9]\n- name: no timer",
         "requirement 'R-9' is not declared under requirements"),
        ("- name: a case is reviewed", "- name: no timer closes a case",
         "'no timer closes a case': a second property of that name"),
    ],
)  # fmt: skip
def test_a_property_naming_what_the_workflow_lacks_is_refused_with_its_line(
    old: str, new: str, message: str
) -> None:
    text = RULED.replace(old, new)
    assert text != RULED
    [(found, line)] = _problems(text)
    assert message in found
    assert line is not None
    assert text.splitlines()[line - 1].startswith("- name:")


@pytest.mark.parametrize(
    ("old", "new", "message", "at"),
    [
        ("existence: {fires: review}", "existence: {fires: review}\n  absence: {fires: review}",
         "exactly one of absence, existence", "- name: a case is reviewed"),
        ("  within: P2D\n", "  within: soon\n", "soon", "within: soon"),
        ("existence: {fires: review}", "existence: {fires: review}\n  within: P1D",
         "within bounds a response only", "within: P1D"),
        ("  working: true\n  scope: {after_until", "  working: maybe\n  scope: {after_until",
         "working must be true or false", "working: maybe"),
        ("scope: {before: {reach: closed}}", "scope: {around: {reach: closed}}",
         "a scope is globally or one of before", "scope: {around"),
        ("{overridden: true}", "{overridden: yes please}", "overridden takes true",
         "{overridden: yes please}"),
        ("{fires: review}\n  scope", "{fires: review, reach: closed}\n  scope",
         "a proposition has exactly one of", "existence: {fires: review, reach"),
        ("{field_is: age, value: 18}\n", "{field_is: age, value: {a: 1}}\n",
         "field_is names a data field and gives a value", "value: {a: 1}"),
        ("precedence: [{fires: review}, {reach: closed}]", "precedence: [{fires: review}]",
         "expected a list of 2 propositions", "precedence: [{fires: review}]"),
        ("{by_role: supervisor}", "{by_role: 7}", "by_role names a role, got 7", "{by_role: 7}"),
        ("- name: no timer closes a case\n", "- nam: no timer closes a case\n",
         "unknown key 'nam'", "- nam:"),
        ("{entry_kind: refused, event: close}", "{entry_kind: 7}",
         "entry_kind names an entry kind, got 7", "{entry_kind: 7}"),
        ("{entry_kind: refused, event: close}", "{entry_kind: refused, event: 3}",
         "event must be an event's name, got 3", "event: 3"),
        ("absence: {all: [{by_timer: auto_close}, {terminal: true}]}", "absence: {all: [7]}",
         "expected a mapping, got int", "absence: {all: [7]}"),
        ("scope: {before: {reach: closed}}", "scope: [1]", "expected a mapping, got list",
         "scope: [1]"),
    ],
)  # fmt: skip
def test_a_badly_written_property_is_refused_with_its_line(
    old: str, new: str, message: str, at: str
) -> None:
    text = RULED.replace(old, new)
    assert text != RULED
    problems = _problems(text)
    assert any(message in m for m, _ in problems), problems
    line = next(n for m, n in problems if message in m)
    assert line == _line(text, at) or line == _line(text, at) - 1


def test_a_property_that_is_not_a_mapping_is_one_problem() -> None:
    text = RULED.replace("properties:\n", "properties:\n- 7\n")
    assert [m for m, _ in _problems(text)] == ["expected a mapping, got int"]


def test_properties_that_are_not_a_list_are_one_problem() -> None:
    text = RULED.replace("properties:\n", "properties: {a: 1}\nxproperties:\n")
    problems = _problems(text.split("xproperties:")[0])
    assert [m for m, _ in problems] == ["properties must be a list"]


def test_the_schema_takes_what_the_reader_takes_and_refuses_a_bad_property() -> None:
    validator = jsonschema.Draft202012Validator(workflow_schema())
    doc = workflow_to_dict(loads_workflow(RULED, "yaml"))
    assert validator.is_valid(doc)
    assert validator.is_valid(workflow_to_dict(seed.build_workflow()))
    doc["properties"][0]["precedence"] = [{"fires": "review"}]
    assert not validator.is_valid(doc)
    doc["properties"][0]["precedence"] = [{"fires": "review"}, {"fly": True}]
    assert not validator.is_valid(doc)


def test_every_kit_tool_checks_the_declared_rules_unasked() -> None:
    wf = loads_workflow(RULED, "yaml")
    found = explore(wf, depth=3)
    assert found.violation is not None
    assert found.violation.rule in {"closed only after a review", "no timer closes a case"}
    with pytest.raises(AssertionError) as caught:
        check_rules(wf, max_examples=0, max_steps=3)
    assert getattr(caught.value, "rule", None) == found.violation.rule
    sound = workflow_from_dict({**workflow_to_dict(wf), "properties": []})
    assert explore(sound, depth=3).violation is None


def test_a_declared_rule_given_again_is_checked_once() -> None:
    wf = seed.build_workflow()
    once = explore(wf, depth=5)
    again = explore(wf, *seed_properties(), depth=5)
    assert once.visited == again.visited
    assert once.ok
    assert again.ok


_NAMES = {"state": ["open_", "reviewed", "closed"], "event": ["review", "close"]}
_leaf = st.one_of(
    st.tuples(st.sampled_from(["reach", "inside"]), st.sampled_from(_NAMES["state"])),
    st.tuples(st.just("fires"), st.sampled_from(_NAMES["event"])),
    st.tuples(st.sampled_from(["refused", "by_timer"]), st.none()),
    st.tuples(st.just("by_timer"), st.just("auto_close")),
    st.tuples(st.just("by_role"), st.sampled_from(["supervisor", "social_worker"])),
    st.tuples(st.just("entry_kind"), st.tuples(st.sampled_from(["refused", "transition"]),
                                                st.sampled_from([None, "close"]))),
    st.tuples(st.just("field_is"), st.tuples(st.just("age"),
                                              st.one_of(st.integers(0, 99), st.text(max_size=4),
                                                        st.booleans(), st.none()))),
    st.tuples(st.sampled_from(["overridden", "transferred", "reopened", "terminal", "opened"]),
              st.none()),
)  # fmt: skip
_terms = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.tuples(
            st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=3).map(tuple)
        ),
        st.tuples(st.just("not"), inner),
    ),
    max_leaves=6,
)  # fmt: skip


@st.composite
def _specs(draw: st.DrawFn) -> PropertySpec:
    pattern = draw(st.sampled_from(["absence", "existence", "universality", "precedence",
                                    "response"]))  # fmt: skip
    terms = tuple(draw(_terms) for _ in range(2 if pattern in {"precedence", "response"} else 1))
    scope = draw(st.sampled_from(["globally", "before", "after", "between", "after_until"]))
    size = {"globally": 0, "before": 1, "after": 1}.get(scope, 2)
    within = draw(st.none() | st.integers(1, 30).map(lambda d: timedelta(days=d)))
    within = within if pattern == "response" else None
    working = within is not None and draw(st.booleans())
    return PropertySpec(draw(st.text("abcdef ", min_size=1, max_size=12)), pattern, terms, scope,
                        tuple(draw(_terms) for _ in range(size)), within, working)  # fmt: skip


@given(st.lists(_specs(), max_size=3, unique_by=lambda s: s.name))
def test_any_declared_property_survives_the_file_form(specs: list[PropertySpec]) -> None:
    base = loads_workflow(RULED, "yaml")
    doc = {**workflow_to_dict(base), "properties": []}
    wf = attrs.evolve(workflow_from_dict(doc), properties=specs)
    again = workflow_from_dict(workflow_to_dict(wf))
    assert again.properties == tuple(specs)
    assert len(declared_properties(again)) == len(specs)
