"""Requirements: declared in workflows, checked, traced to rules, properties and tests."""

from __future__ import annotations

import json
import textwrap

import jsonschema
import pytest

from casework_flow import Actor, Engine, Requirement, State, Transition, Workflow, seed
from casework_flow.cli import main
from casework_flow.exceptions import TransitionRejected, WorkflowError
from casework_flow.files import dump_workflow, loads_workflow, workflow_schema, workflow_to_dict
from casework_flow.guards import CheckKind, evidence, traced
from casework_flow.testing import (
    REQUIREMENTS,
    absence,
    explore,
    fires,
    recording,
    response,
    seed_properties,
    trace,
)

pytest_plugins = ["pytester"]

TRACED = textwrap.dedent(
    """
    name: traced
    version: 1
    initial: open
    roles: [worker]
    requirements:
      SOP-1: {title: Every request is answered, source: SOP 2024 section 1}
      SOP-2: {title: Nothing is closed twice}
      SOP-3: {title: Declared and forgotten}
    states:
    - {id: open}
    - {id: asked, requirements: [SOP-1]}
    - {id: done, terminal: true}
    transitions:
    - {event: ask, source: open, dest: asked, roles: [worker]}
    - {event: answer, source: asked, dest: done, roles: [worker], requirements: [SOP-1]}
    """
)
WF = loads_workflow(TRACED, "yaml")
ANSWERED = response(fires("ask"), fires("answer"), requirements=["SOP-1"], name="answered")
TWICE = absence(fires("close"), requirements=["SOP-2", "SOP-9"], name="never closed")


def test_a_workflow_file_declares_requirements_and_names_them():
    assert WF.requirements["SOP-1"] == Requirement(
        "SOP-1", "Every request is answered", "SOP 2024 section 1"
    )
    assert WF.state("asked").requirements == ("SOP-1",)
    assert WF.transitions[1].requirements == ("SOP-1",)
    for fmt in ("yaml", "json", "toml"):
        assert loads_workflow(dump_workflow(WF, fmt), fmt) == WF


def test_an_undeclared_requirement_is_an_error_with_its_line():
    text = TRACED.replace(
        "{id: asked, requirements: [SOP-1]}", "{id: asked, requirements: [SOP-7]}"
    )
    line = text.splitlines().index("- {id: asked, requirements: [SOP-7]}") + 1
    with pytest.raises(WorkflowError) as info:
        loads_workflow(text, "yaml", source="traced.yaml")
    [problem] = info.value.details
    assert problem.message == "asked: requirement 'SOP-7' is not declared under requirements"
    assert (problem.file, problem.line) == ("traced.yaml", line)


def test_a_requirement_needs_a_mapping_of_text():
    text = TRACED.replace("SOP-2: {title: Nothing is closed twice}", "SOP-2: {title: 4}")
    with pytest.raises(WorkflowError, match=r"requirements\.SOP-2\.title: title must be text"):
        loads_workflow(text, "yaml")


def test_python_workflows_take_requirements_as_titles_or_values():
    wf = Workflow(
        "w", 1, "a",
        states=[State("a"), State("b", terminal=True, requirements=["R-1"])],
        transitions=[Transition("go", "a", "b", requirements="R-2")],
        requirements={"R-1": "First", "R-2": Requirement("R-2", "Second", "SOP")},
    )  # fmt: skip
    assert [r.title for r in wf.requirements.values()] == ["First", "Second"]
    with pytest.raises(WorkflowError, match="is declared as 'R-1' but its id is 'R-2'"):
        Workflow("w", 1, "a", [State("a")], [], requirements={"R-1": Requirement("R-2")})


@pytest.mark.parametrize("bad", [5, "R-1", None])
def test_requirements_that_are_not_a_mapping_or_a_list_are_one_problem(bad):
    with pytest.raises(WorkflowError) as info:
        Workflow("w", 1, "a", [State("a")], [], requirements=bad)
    assert [p.message for p in info.value.details] == [f"must be a Requirement, got {bad!r}"]


def test_the_seed_declares_the_requirements_its_properties_check():
    wf = seed.build_workflow()
    assert tuple(wf.requirements.values()) == REQUIREMENTS
    checked = {rid for p in seed_properties() for rid in p.requirements}
    assert checked == set(wf.requirements)


def test_the_matrix_lines_up_rules_properties_and_tests_and_lists_the_gaps():
    with recording() as rec:
        rec.test = "tests/test_x.py::test_answered"
        explore(WF, ANSWERED, depth=3)
        rec.test = "tests/test_x.py::test_nothing"
        explore(WF, depth=3)
    tested = rec.exercised()["traced@1"]
    assert tested == {"SOP-1": ["tests/test_x.py::test_answered"]}
    matrix = trace(WF, [ANSWERED, TWICE], tested=tested)
    rows = {r.requirement.id: r for r in matrix.rows}
    assert list(rows) == ["SOP-1", "SOP-2", "SOP-3", "SOP-9"]
    assert rows["SOP-1"].enforced_by == ("state asked", "transition answer: asked -> done")
    assert rows["SOP-1"].checked_by == ("answered",)
    assert rows["SOP-1"].tested_by == ("tests/test_x.py::test_answered",)
    assert rows["SOP-9"].requirement.title == "(not declared in the workflow)"
    assert matrix.unenforced == ("SOP-2", "SOP-3", "SOP-9")
    assert matrix.unchecked == ("SOP-3",)
    assert matrix.untested == ("SOP-2", "SOP-3", "SOP-9")
    md = matrix.markdown()
    assert "| `SOP-1` | Every request is answered (SOP 2024 section 1) | state asked<br>" in md
    assert "Checked by no property: `SOP-3`" in md
    page = matrix.html()
    assert "<code>SOP-1</code>" in page
    assert '<span class="gap">none</span>' in page


def test_casework_flow_trace_writes_the_matrix_from_a_file_and_a_test_run(tmp_path, capsys):
    path = tmp_path / "traced.yaml"
    path.write_text(TRACED, encoding="utf-8")
    tested = tmp_path / "tested.json"
    tested.write_text(json.dumps({"coverage": [], "exercised": {"traced@1": {"SOP-1": ["t::a"]}}}))
    out = tmp_path / "trace.html"
    assert (
        main(["trace", str(path), "--tested", str(tested), "--format", "html", "--out", str(out)])
        == 0
    )
    assert "t::a" in out.read_text(encoding="utf-8")
    seed_file = seed.workflow_path()
    spec = "casework_flow.testing:seed_properties"
    assert main(["trace", str(seed_file), "--properties", spec, "--explore", "12"]) == 0
    md = capsys.readouterr().out
    assert md.count("explore to depth 12") == 6
    assert "Enforced by nothing: `TIMER-NO-CLOSE`" in md


def test_casework_flow_trace_refuses_bad_input_with_a_reason(tmp_path, capsys):
    path = tmp_path / "traced.yaml"
    path.write_text(TRACED, encoding="utf-8")
    assert main(["trace", str(path), "--properties", "nowhere"]) == 1
    assert "'nowhere' is not MODULE:NAME" in capsys.readouterr().err
    assert main(["trace", str(path), "--properties", "json:dumps"]) == 1
    assert "calling json:dumps failed: dumps() missing" in capsys.readouterr().err
    assert main(["trace", str(path), "--properties", "json:decoder"]) == 1
    assert "json:decoder is not a sequence of properties" in capsys.readouterr().err
    assert main(["trace", str(path), "--properties", "json:nothing"]) == 1
    assert "cannot load json:nothing" in capsys.readouterr().err
    assert main(["trace", str(path), "--properties", "json:__all__"]) == 1
    assert "json:__all__ holds 'dump', not a Property" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["trace", str(path), "--tested", str(bad)]) == 1
    assert "is not what --casework-coverage-json writes" in capsys.readouterr().err


def test_casework_flow_trace_fails_when_exploring_breaks_a_rule(tmp_path, capsys, monkeypatch):
    path = tmp_path / "traced.yaml"
    path.write_text(TRACED, encoding="utf-8")
    module = tmp_path / "traced_rules.py"
    module.write_text(
        "from casework_flow.testing import absence, fires\n"
        "RULES = [absence(fires('answer'), requirements=['SOP-1'], name='never answered')]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["trace", str(path), "--properties", "traced_rules:RULES", "--explore", "4"]) == 1
    assert "rule broken: never answered" in capsys.readouterr().err


def test_the_plugin_writes_which_tests_exercised_each_requirement(pytester):
    pytester.makepyfile(
        test_traced=f"""
        from casework_flow.files import loads_workflow
        from casework_flow.testing import explore, fires, response

        WF = loads_workflow({TRACED!r}, "yaml")
        RULE = response(fires("ask"), fires("answer"), requirements=["SOP-1"])

        def test_answered():
            explore(WF, RULE, depth=3)

        def test_plain():
            explore(WF, depth=3)
        """
    )
    args = ["-p", "no:cacheprovider", "-p", "no:django", "-p", "no:xdist"]
    result = pytester.runpytest(*args, "--casework-coverage-json=out/cov.json")
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "out" / "cov.json").read_text())
    assert data["exercised"] == {"traced@1": {"SOP-1": ["test_traced.py::test_answered"]}}
    assert [c["workflow"] for c in data["coverage"]] == ["traced@1"]


GUARDED = TRACED.replace(
    "{event: answer, source: asked, dest: done, roles: [worker], requirements: [SOP-1]}",
    "{event: answer, source: asked, dest: done, roles: [worker], requirements: [SOP-1],"
    " guard: {all: [{evidence: reply, requirements: [SOP-2]}, {fact: n, op: '>=', value: 1}]}}",
)


def test_a_guard_names_the_requirements_it_enforces_and_decides_as_before():
    wf = loads_workflow(GUARDED, "yaml")
    guard = wf.transitions[1].guard
    assert guard.text == "evidence reply and n >= 1"
    assert traced(evidence("reply"), "SOP-2") in guard.conjuncts()
    for fmt in ("yaml", "json", "toml"):
        assert loads_workflow(dump_workflow(wf, fmt), fmt) == wf
    rows = {r.requirement.id: r for r in trace(wf).rows}
    assert rows["SOP-2"].enforced_by == ("transition answer: asked -> done, guard evidence reply",)
    plain = loads_workflow(GUARDED.replace(", requirements: [SOP-2]", ""), "yaml")
    engines = []
    for w in (wf, plain):
        engine = Engine([w])
        engine.open("traced", "C", actor=Actor("w", {"worker"}))
        engine.fire("C", "ask", actor=Actor("w", {"worker"}))
        engines.append(engine)
    refusals = []
    for engine in engines:
        with pytest.raises(TransitionRejected) as caught:
            engine.fire("C", "answer", actor=Actor("w", {"worker"}))
        refusals.append([(r.check, r.kind, r.why) for r in caught.value.reasons])
    assert refusals[0] == refusals[1]
    assert ("evidence reply", CheckKind.GUARD) in [(c, k) for c, k, _ in refusals[0]]


def test_a_guard_naming_an_undeclared_requirement_is_an_error_with_its_line():
    text = GUARDED.replace("requirements: [SOP-2]}", "requirements: [SOP-8]}")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "SOP-8" in s)
    with pytest.raises(WorkflowError) as info:
        loads_workflow(text, "yaml", source="traced.yaml")
    [problem] = info.value.details
    assert problem.message == "answer: requirement 'SOP-8' is not declared under requirements"
    assert (problem.file, problem.line) == ("traced.yaml", line)
    with pytest.raises(WorkflowError, match="requirements must be a list of requirement ids"):
        loads_workflow(GUARDED.replace("requirements: [SOP-2]}", "requirements: [3]}"), "yaml")


def test_the_schema_takes_a_guard_with_its_requirements():
    validator = jsonschema.Draft202012Validator(workflow_schema())
    doc = workflow_to_dict(loads_workflow(GUARDED, "yaml"))
    assert validator.is_valid(doc)
    doc["transitions"][1]["guard"]["all"][0]["requirements"] = 5
    assert not validator.is_valid(doc)


def test_the_seed_traces_a_guard_to_its_requirement():
    rows = {r.requirement.id: r for r in trace(seed.build_workflow()).rows}
    assert any("guard time_in_state >= 14 days" in e for e in rows["FAMILY-14D"].enforced_by)
