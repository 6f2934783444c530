"""Workflow files: round trips, located errors with suggestions, and fuzzed bad input."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import Requirement, State, Transition, Workflow, load_workflow
from casework_flow._guard_data import duration_text, parse_duration
from casework_flow._guards import ALWAYS, Guard
from casework_flow.exceptions import Problem, WorkflowError
from casework_flow.files import (
    dump_workflow,
    loads_workflow,
    workflow_from_dict,
    workflow_to_dict,
)
from casework_flow.guards import (
    check,
    consent,
    count,
    evidence,
    fact,
    not_actor_of,
    not_assignee,
    span,
    time_in_state,
    time_since_opened,
)

from .conftest import ROOT, load_example
from .values import MAX_SAFE_INT, texts

seed = load_example("medan_street_beggar")
SEED = seed.build_workflow()
SEED_FILE = ROOT / "examples" / "street-beggar-family-conflict.yaml"


def bed_available(ctx: object) -> bool:
    return ctx is not None


CHECKS = {"bed_available": bed_available}


def test_the_shipped_seed_file_loads_equal_to_the_python_example():
    assert load_workflow(SEED_FILE) == SEED


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_the_seed_round_trips_through_every_format(fmt):
    assert loads_workflow(dump_workflow(SEED, fmt), fmt) == SEED


def test_a_plain_dict_works_too():
    assert workflow_from_dict(workflow_to_dict(SEED)) == SEED


# --- generated workflows round-trip ---------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
SAFE_INTS = st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
VALUES = st.one_of(
    SAFE_INTS,
    texts.filter(lambda t: len(t) <= 12),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)).map(
    lambda d: timedelta(days=d.days, seconds=d.seconds)
)
OPS = st.sampled_from([">=", ">", "<=", "<", "==", "!="])


def guards(events: list[str]) -> st.SearchStrategy[Guard]:
    event = st.sampled_from(events)
    leaves = st.one_of(
        st.builds(lambda n, op, v: fact(n)._compare(op, v), NAMES, OPS, VALUES),
        st.builds(lambda n, vs: fact(n).one_of(*vs), NAMES, st.lists(VALUES, max_size=3)),
        st.builds(lambda n: fact(n).present(), NAMES),
        st.builds(lambda n: fact(n).absent(), NAMES),
        st.builds(lambda e, op, v: count(e)._compare(op, v), event, OPS, st.integers(0, 9)),
        st.builds(lambda e, op, d: span(e)._compare(op, d), event, OPS, DURATIONS),
        st.builds(lambda op, d: time_in_state()._compare(op, d), OPS, DURATIONS),
        st.builds(lambda op, d: time_since_opened()._compare(op, d), OPS, DURATIONS),
        st.builds(evidence, NAMES),
        st.builds(consent, NAMES),
        st.builds(not_actor_of, event),
        st.just(not_assignee()),
        st.just(check("bed_available", bed_available)),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda a, b: a & b, inner, inner),
            st.builds(lambda a, b: a | b, inner, inner),
            st.builds(lambda a: ~a, inner),
        ),
        max_leaves=8,
    )


REQUIREMENT_IDS = st.from_regex(r"[A-Z]{2,5}-[0-9]{1,2}(\.[0-9])?", fullmatch=True)


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    declared = draw(st.lists(REQUIREMENT_IDS, max_size=3, unique=True))
    tags = st.lists(st.sampled_from(declared), max_size=2, unique=True) if declared else st.just([])
    ids = draw(st.lists(NAMES, min_size=2, max_size=8, unique=True))
    terminal = set(draw(st.sets(st.sampled_from(ids[1:]), max_size=len(ids) - 1)))
    labels = st.fixed_dictionaries({"en": st.text(max_size=20), "id": st.text(max_size=20)})
    states = [
        State(
            i,
            labels=draw(labels),
            terminal=i in terminal,
            description=draw(st.text(max_size=20)),
            requirements=draw(tags),
        )
        for i in ids
    ]
    open_states = [i for i in ids if i not in terminal]
    events = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    transitions = [
        Transition(e, source=open_states[0], dest=None, priority=-1 - n)
        for n, e in enumerate(events)
    ]
    for n in range(draw(st.integers(0, 6))):
        transitions.append(
            Transition(
                draw(st.sampled_from(events)),
                source=draw(
                    st.lists(st.sampled_from(open_states), min_size=1, max_size=3, unique=True)
                ),
                dest=draw(st.one_of(st.none(), st.sampled_from(ids))),
                guard=draw(st.one_of(st.just(ALWAYS), guards(events))),
                roles=draw(st.sets(NAMES, max_size=3)),
                requires=draw(st.lists(NAMES, max_size=3, unique=True)),
                reason_required=draw(st.booleans()),
                reason_codes=draw(
                    st.lists(
                        st.from_regex(r"[A-Z_]{1,10}", fullmatch=True), max_size=3, unique=True
                    )
                ),
                priority=n,
                labels=draw(labels),
                requirements=draw(tags),
            )
        )
    return Workflow(
        name=draw(st.from_regex(r"[a-z][a-z0-9.-]{0,12}", fullmatch=True)),
        version=draw(st.integers(1, 2**31)),
        initial=ids[0],
        states=states,
        transitions=transitions,
        personal=draw(st.sets(NAMES, max_size=3)),
        roles=frozenset(),
        requirements=[
            Requirement(r, draw(st.text(max_size=30)), draw(st.text(max_size=20))) for r in declared
        ],
    )


@pytest.mark.slow
@settings(
    max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(workflows(), st.sampled_from(["yaml", "json", "toml"]))
def test_generated_workflows_round_trip(workflow, fmt):
    text = dump_workflow(workflow, fmt)
    assert loads_workflow(text, fmt, checks=CHECKS) == workflow


@given(DURATIONS)
def test_durations_round_trip(d):
    assert parse_duration(duration_text(d)) == d


# --- located errors -------------------------------------------------------------------------

BROKEN_YAML = """\
name: elderly-neglect
version: 1
initial: reported
states:
  - id: reported
  - id: home_visit
  - id: closed
    terminal: true
transitions:
  - event: visit
    source: reportd
    dest: home_visit
  - event: close
    source: home_visit
    dest: closed
    guard:
      evidnce: home_visit_report
  - event: review
    source: home_visit
    dest: closed
    guard: {count: vist, op: ">=", value: 1}
"""


def test_yaml_errors_give_file_line_column_path_and_suggestion(tmp_path: Path):
    path = tmp_path / "elderly.yaml"
    path.write_text(BROKEN_YAML)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    found = {(p.path, p.line, p.column) for p in info.value.details}
    assert ("transitions[1].guard.evidnce", 17, 16) in found
    messages = "\n".join(info.value.problems)
    assert f"{path}:17:16: transitions[1].guard.evidnce: unknown guard 'evidnce'" in messages
    assert "(did you mean 'evidence'?)" in messages


def test_semantic_errors_are_located_too(tmp_path: Path):
    path = tmp_path / "elderly.yaml"
    path.write_text(BROKEN_YAML.replace("evidnce", "evidence"))
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert info.value.problems == (
        (
            f"{path}:11:13: transitions[0].source: visit: unknown source state 'reportd'"
            " (did you mean 'reported'?)"
        ),
        (
            f"{path}:21:12: transitions[2].guard: review: the guard reads event 'vist', which no"
            " transition has (did you mean 'visit'?)"
        ),
    )


def test_json_errors_are_located(tmp_path: Path):
    doc = yaml.safe_load(BROKEN_YAML.replace("evidnce", "evidence"))
    doc["transitions"][1]["guard"] = {"fact": "age", "op": "=>", "value": 18}
    path = tmp_path / "elderly.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    by_path = {p.path: p for p in info.value.details}
    op = by_path["transitions[1].guard.op"]
    assert (op.line, op.column) == (29, 15)
    assert "op must be one of" in op.message
    assert "(did you mean '>='?)" in op.message


def test_syntax_errors_name_the_spot(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nstates: [a, b\n")
    with pytest.raises(WorkflowError, match=r"bad\.yaml:3:1: not valid YAML"):
        load_workflow(bad)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"name": "x",\n "version": }')
    with pytest.raises(WorkflowError, match=r"bad\.json:2:13: not valid JSON"):
        load_workflow(bad_json)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('name = "x"\nversion = \n')
    with pytest.raises(WorkflowError, match=r"bad\.toml:2:\d+: not valid TOML"):
        load_workflow(bad_toml)


def test_duplicate_keys_unknown_suffixes_and_missing_files(tmp_path: Path):
    with pytest.raises(WorkflowError, match="key 'version' appears twice"):
        loads_workflow("name: x\nversion: 1\nversion: 2\n", "yaml")
    with pytest.raises(WorkflowError, match="cannot tell the format"):
        load_workflow(tmp_path / "workflow.txt")
    with pytest.raises(WorkflowError, match="cannot read it"):
        load_workflow(tmp_path / "missing.yaml")
    with pytest.raises(WorkflowError, match="not UTF-8 text"):
        loads_workflow(b"name: \xff\xfe", "yaml")


def test_checks_come_from_the_registry():
    doc = workflow_to_dict(SEED)
    doc["transitions"][0]["guard"] = {"check": "bed_avialable"}
    with pytest.raises(
        WorkflowError, match=r"no check named 'bed_avialable'.*did you mean 'bed_available'"
    ):
        workflow_from_dict(doc, checks=CHECKS)
    doc["transitions"][0]["guard"] = {"check": "bed_available"}
    assert workflow_from_dict(doc, checks=CHECKS).transitions[0].guard.text == "check bed_available"


def test_every_problem_is_listed_at_once():
    doc = workflow_to_dict(SEED)
    doc["version"] = "one"
    doc["states"][2]["terminal"] = "yes"
    doc["transitions"][3]["roles"] = "social_worker"
    doc["transitions"][4]["priority"] = 1.5
    doc["transitions"][5]["dest"] = 7
    doc["colour"] = "blue"
    with pytest.raises(WorkflowError) as info:
        workflow_from_dict(doc)
    paths = [p.path for p in info.value.details]
    assert paths == [
        "colour",
        "version",
        "states[2].terminal",
        "transitions[4].priority",
        "transitions[5].dest",
    ]


def _without(doc: dict[str, Any], *path: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    del doc[path[-1]]


def _set(doc: dict[str, Any], value: Any, *path: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: _without(d, "states", 2, "deadline", "within"), "states[2].deadline",
         "within is required (an ISO 8601 duration such as P3D)"),
        (lambda d: _without(d, "states", 4, "timers", 0, "after"), "states[4].timers[0]",
         "after is required (an ISO 8601 duration such as P3D)"),
        (lambda d: _without(d, "states", 5, "timers", 0, "event"), "states[5].timers[0]",
         "event is required"),
        (lambda d: _set(d, 0, "transitions", 11, "approval", "quorum"),
         "transitions[11].approval.quorum", "quorum must be a whole number of 1 or more, got 0"),
        (lambda d: _set(d, True, "transitions", 11, "approval", "rejections"),
         "transitions[11].approval.rejections",
         "rejections must be a whole number of 1 or more, got True"),
    ],
)  # fmt: skip
def test_a_missing_duration_event_or_count_is_one_problem_where_it_is(change, path, message):
    doc = workflow_to_dict(SEED)
    change(doc)
    with pytest.raises(WorkflowError) as info:
        workflow_from_dict(doc)
    assert [(p.path, p.message) for p in info.value.details] == [(path, message)]


def test_every_kind_of_guard_round_trips_through_every_format():
    """Quick round trips of each guard form the writer knows (the generated ones are slow)."""
    guards = [
        time_since_opened() >= timedelta(days=3),
        time_in_state() < timedelta(hours=12),
        fact("district").one_of("Medan Kota", "Medan Baru"),
        fact("district").none_of("Binjai"),
        fact("family_phone").present(),
        fact("family_phone").absent(),
        ~(fact("age") < 18),
        (fact("age") >= 18) | evidence("guardian_letter"),
        (fact("age") >= 18) & ~((fact("urgent") == True) | fact("shelter").present()),  # noqa: E712
        not_assignee(),
        count("contact_attempt") >= 2,
    ]
    wf = Workflow(
        "guards", 1, "open",
        states=[State("open"), State("done", terminal=True)],
        transitions=[
            Transition("contact_attempt", "open", "open"),
            *(Transition(f"e{i}", "open", "done", guard=g) for i, g in enumerate(guards)),
        ],
    )  # fmt: skip
    for fmt in ("yaml", "json", "toml"):
        assert loads_workflow(dump_workflow(wf, fmt), fmt) == wf


def _nested(depth: int) -> dict[str, Any]:
    guard: dict[str, Any] = {"always": True}
    for _ in range(depth):
        guard = {"not": guard}
    return guard


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        ({"always": False}, "write always: true"),
        (["age"], "a guard must be a mapping such as"),
        (_nested(70), "guards are nested deeper than"),
        ({"any": []}, "any takes a non-empty list of guards"),
        ({"all": [{"always": True}, {"always": 1}]}, "write always: true"),
        ({"evidence": []}, "evidence takes a document's name or a non-empty list of names"),
        ({"time_in_state": False, "op": ">", "value": "P1D"}, "write time_in_state: true"),
        ({"fact": "phone", "op": "present", "value": 1}, "op present takes no value"),
        ({"fact": "age", "op": "<"}, "op < needs a value"),
        ({"fact": "district", "op": "in", "value": "Medan"}, "op in takes a list of values"),
    ],
)
def test_a_malformed_guard_is_one_located_problem(guard, message):
    doc = workflow_to_dict(
        Workflow("g", 1, "open", states=[State("open"), State("done", terminal=True)],
                 transitions=[Transition("go", "open", "done")])
    )  # fmt: skip
    doc["transitions"][0]["guard"] = guard
    with pytest.raises(WorkflowError) as info:
        workflow_from_dict(doc)
    problems = info.value.details
    assert len(problems) == 1, problems
    assert problems[0].path.startswith("transitions[0].guard")
    assert message in problems[0].message


def test_an_unknown_format_is_named_with_the_ones_known():
    with pytest.raises(WorkflowError, match="unknown format 'xml'; use yaml, json or toml"):
        loads_workflow("name: x", "xml")  # type: ignore[arg-type]


# --- fuzzed bad input raises nothing but WorkflowError ---------------------------------------

JUNK = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**30),
        st.floats(),
        st.text(max_size=10),
        st.binary(max_size=5).map(repr),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def _mutate(doc: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(_paths(doc)))
        if not path:
            return data.draw(JUNK)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        how = data.draw(st.sampled_from(["replace", "delete", "deep"]))
        if how == "delete":
            del parent[path[-1]]
        elif how == "deep":
            nested: Any = {"all": []}
            for _ in range(data.draw(st.integers(30, 300))):
                nested = {"not": nested}
            parent[path[-1]] = nested
        else:
            parent[path[-1]] = data.draw(JUNK)
    return doc


@pytest.mark.slow
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["json", "yaml"]))
def test_mutated_documents_raise_only_workflow_error(data, fmt):
    doc = _mutate(workflow_to_dict(SEED), data)
    try:
        text = json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc)
    except (ValueError, yaml.YAMLError):
        return
    details: tuple[Problem, ...] = ()
    try:
        loads_workflow(text, fmt)
    except WorkflowError as exc:
        details = exc.details or (Problem("no details"),)
    assert all(isinstance(p, Problem) and p.message for p in details)


@settings(max_examples=200)
@given(st.binary(max_size=200), st.sampled_from(["json", "yaml", "toml"]))
def test_random_bytes_raise_only_workflow_error(raw, fmt):
    with pytest.raises(WorkflowError):
        loads_workflow(raw, fmt)


def test_absurd_nesting_and_alias_bombs_are_refused():
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(WorkflowError):
        loads_workflow(deep, "json")
    with pytest.raises(WorkflowError):
        loads_workflow("a: " + "[" * 5000 + "]" * 5000, "yaml")
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(8):
        prev, name = chr(97 + i), chr(98 + i)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    bomb = "\n".join(lines) + "\n"
    with pytest.raises(WorkflowError, match="more than 200000 nodes"):
        loads_workflow(bomb, "yaml")
