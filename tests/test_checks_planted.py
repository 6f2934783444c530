"""The static checks on planted defects: no false alarm, no miss (the checks issue's 1 to 3).

Each workflow is written as a user writes one, in a file: a role used only to approve
or override is used; a later candidate whose guard implies an earlier one's can never
fire; a state whose only ways out can never fire is a trap.
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import State, Transition, Workflow
from casework_flow.checks import check_workflow
from casework_flow.files import loads_workflow
from casework_flow.guards import count, evidence, fact


def _codes(wf: Workflow) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in check_workflow(wf):
        out.setdefault(f.code, []).append(f.message)
    return out


NEGLECT = textwrap.dedent(
    """
    name: child-neglect
    version: 1
    initial: reported
    roles: [social_worker, supervisor, senior_worker, psychologist, driver]
    personal: [child_name]
    personal_roles: [psychologist]
    states:
    - {id: reported}
    - {id: assessed}
    - {id: placed}
    - {id: closed, terminal: true}
    transitions:
    - event: assess
      source: reported
      dest: assessed
      roles: [social_worker]
      guard: {consent: assessment}
      override: {roles: [senior_worker], reason_codes: [CHILD_AT_RISK]}
    - event: place
      source: assessed
      dest: placed
      roles: [social_worker]
      approval: {roles: [supervisor]}
    - event: close
      source: [assessed, placed]
      dest: closed
      roles: [social_worker]
    """
)


def test_a_role_used_only_to_approve_override_or_read_is_not_unused():
    wf = loads_workflow(NEGLECT, "yaml")
    found = _codes(wf)
    assert found.get("unused-role") == ["role driver is allowed to do nothing"]


def _ordered(first: object, later: object, **kw: object) -> Workflow:
    return Workflow(
        "dv",
        1,
        "safety_plan",
        states=[
            State("safety_plan"),
            State("shelter"),
            State("conference"),
            State("closed", terminal=True),
        ],
        transitions=[
            Transition("escalate", "safety_plan", "shelter", guard=first, priority=1),  # type: ignore[arg-type]
            Transition("escalate", "safety_plan", "conference", guard=later, priority=2, **kw),  # type: ignore[arg-type]
            Transition("close", ["safety_plan", "shelter", "conference"], "closed"),
            Transition("record_incident", "safety_plan", None),
        ],
    )


def test_a_later_candidate_whose_guard_implies_the_earlier_ones_is_shadowed():
    shadowed = [
        (count("record_incident") >= 3, count("record_incident") >= 5),
        (evidence("police_report"), evidence("police_report")),
        (fact("risk") >= 2, (fact("risk") >= 4) & evidence("police_report")),
        (evidence("police_report") | evidence("medical_report"), evidence("medical_report")),
    ]
    for first, later in shadowed:
        assert "shadowed-transition" in _codes(_ordered(first, later)), (first, later)
    fine = [
        (count("record_incident") >= 5, count("record_incident") >= 3),
        (evidence("police_report"), evidence("medical_report")),
        (fact("risk") >= 4, fact("risk") >= 2),
    ]
    for first, later in fine:
        assert "shadowed-transition" not in _codes(_ordered(first, later)), (first, later)
    needs_more = _ordered(evidence("police_report"), evidence("police_report"), roles=["x"])
    assert "shadowed-transition" not in _codes(
        Workflow(
            needs_more.name, 1, needs_more.initial, states=needs_more.states,
            transitions=[
                Transition("escalate", "safety_plan", "shelter", guard=evidence("police_report"),
                           priority=1, roles=["supervisor"]),
                Transition("escalate", "safety_plan", "conference", guard=evidence("police_report"),
                           priority=2, roles=["social_worker"]),
                Transition("close", ["safety_plan", "shelter", "conference"], "closed"),
                Transition("record_incident", "safety_plan", None),
            ],
        )
    ), "an earlier candidate the later one's actor may not take does not shadow it"  # fmt: skip


def test_a_state_whose_only_way_out_can_never_fire_is_a_trap():
    wf = Workflow(
        "odgj",
        1,
        "found",
        states=[State("found"), State("treated"), State("closed", terminal=True)],
        transitions=[
            Transition("treat", "found", "treated"),
            Transition(
                "discharge",
                "treated",
                "closed",
                guard=(count("record_visit") > 3) & (count("record_visit") < 2),
            ),
            Transition("close", "found", "closed"),
            Transition("record_visit", "treated", None),
        ],
    )
    found = _codes(wf)
    assert found["trap-state"] == ["a case in treated can never reach a terminal state"]
    assert any("discharge can never fire" in m for m in found["dead-transition"])


@settings(max_examples=60, deadline=None)
@given(low=st.integers(0, 6), high=st.integers(0, 6))
def test_count_thresholds_shadow_exactly_when_the_later_asks_at_least_as_much(low, high):
    wf = _ordered(count("record_incident") >= low, count("record_incident") >= high)
    assert ("shadowed-transition" in _codes(wf)) == (high >= low)


SHADOWED_FILE = textwrap.dedent(
    """\
    name: dv
    version: 1
    initial: safety_plan
    roles: [social_worker, driver]
    states:
    - {id: safety_plan}
    - {id: shelter}
    - {id: closed, terminal: true}
    transitions:
    - event: escalate
      source: safety_plan
      dest: shelter
      roles: [social_worker]
      guard: {count: record_incident, op: '>=', value: 3}
      priority: 1
    - event: escalate
      source: safety_plan
      dest: closed
      roles: [social_worker]
      guard: {count: record_incident, op: '>=', value: 5}
      priority: 2
    - {event: record_incident, source: safety_plan, stay: true, roles: [social_worker]}
    - {event: close, source: shelter, dest: closed, roles: [social_worker]}
    """
)


def test_findings_come_out_with_file_line_and_column_for_editors_and_github(tmp_path, capsys):
    from casework_flow.cli import main  # noqa: PLC0415

    path = tmp_path / "dv.yaml"
    path.write_text(SHADOWED_FILE, encoding="utf-8")
    priority_line = SHADOWED_FILE.splitlines().index("  priority: 2") + 1
    assert main(["check", str(path), "--format", "lines"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert (
        f"{path}:{priority_line}:13: error shadowed-transition transitions[1].priority:"
        in "\n".join(lines)
    )
    roles_line = SHADOWED_FILE.splitlines().index("roles: [social_worker, driver]") + 1
    assert any(
        line.startswith(f"{path}:{roles_line}:8: warning unused-role roles: role driver")
        for line in lines
    )
    assert main(["check", str(path), "--format", "github"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"::error file={path},line={priority_line},col=13,title=shadowed-transition::" in out[0]
    assert any(line.startswith("::warning file=") and "title=unused-role" in line for line in out)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nversion: 1\ninitial: a\nstates: [{id: a, terminl: true}]\ntransitions: []\n"
    )
    assert main(["check", str(bad), "--format", "github"]) == 1
    (load,) = capsys.readouterr().out.splitlines()
    assert load.startswith(f"::error file={bad},line=4,col=")
    assert "title=invalid::states[0].terminl: unknown key 'terminl'" in load


def test_warnings_pass_unless_strict(tmp_path, capsys):
    from casework_flow.cli import main  # noqa: PLC0415

    path = tmp_path / "fine.yaml"
    path.write_text(
        "name: x\nversion: 1\ninitial: a\nroles: [social_worker, driver]\n"
        "states: [{id: a}, {id: b, terminal: true}]\n"
        "transitions: [{event: go, source: a, dest: b, roles: [social_worker]}]\n",
        encoding="utf-8",
    )
    assert main(["check", str(path), "--format", "lines"]) == 0
    assert "warning unused-role" in capsys.readouterr().out
    assert main(["check", str(path), "--format", "lines", "--strict"]) == 1
    assert main(["check", str(tmp_path / "missing.yaml")]) == 1


def test_a_host_check_the_analysis_cannot_see_into_is_named_in_the_finding():
    from casework_flow.guards import check  # noqa: PLC0415

    police = check("police_confirms", lambda _ctx: (True, "confirmed"))
    court = check("court_order_on_file", lambda _ctx: (True, "on file"))
    found = check_workflow(_ordered(police, court))
    undecided = [f for f in found if f.code == "shadowing-undecided"]
    assert [(f.severity, f.path) for f in undecided] == [("info", "transitions[1].priority")]
    assert "court_order_on_file, police_confirms" in undecided[0].message
    assert "cannot see into" in undecided[0].message
    same = {f.code for f in check_workflow(_ordered(police, police))}
    assert "shadowed-transition" in same
    assert "shadowing-undecided" not in same


# --- the registry of check codes -------------------------------------------------------


def test_a_finding_carries_only_a_registered_code_at_its_severity():
    from casework_flow.checks import CHECKS, Finding  # noqa: PLC0415

    assert CHECKS["trap-state"].severity == "error"
    assert (
        str(Finding("error", "trap-state", "m", "states[1]")) == "error: states[1]: m [trap-state]"
    )
    with pytest.raises(ValueError, match="not a registered check code"):
        Finding("error", "no-such-check", "m", "states")
    with pytest.raises(ValueError, match="registered as error, not info"):
        Finding("info", "trap-state", "m", "states")


def test_a_staged_walk_past_its_limit_says_how_far_it_checked(monkeypatch):
    from casework_flow import _configurations  # noqa: PLC0415
    from casework_flow.seed import build_staged_workflow  # noqa: PLC0415

    monkeypatch.setattr(_configurations, "_LIMIT", 5)
    codes = _codes(build_staged_workflow())
    assert codes["configurations-partly-checked"] == [
        "the tracks allow more configurations than the checks walk; the first 5 were checked"
    ]
