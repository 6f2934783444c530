"""Static checks, diagrams (validated by Mermaid's and Graphviz's own parsers) and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Case,
    SQLiteStore,
    State,
    Transition,
    Workflow,
    check_workflow,
)
from casework_flow import seed as demo
from casework_flow._frozen import FrozenMap
from casework_flow._guard_logic import impossible
from casework_flow.audit import export_jsonl, read_jsonl
from casework_flow.checks import to_dot, to_mermaid
from casework_flow.cli import main
from casework_flow.files import dump_workflow, workflow_to_dict
from casework_flow.guards import GuardContext, fact

from .conftest import ROOT, START

SEED = demo.build_workflow()
NODE_DIR = ROOT / "build" / "node"


def _wf(**changes: object) -> Workflow:
    spec: dict[str, object] = {
        "name": "neglected-child",
        "version": 1,
        "initial": "reported",
        "states": [
            State("reported", labels={"en": "Report received", "id": "Laporan diterima"}),
            State("verification", labels={"en": "Verification", "id": "Verifikasi"}),
            State("closed", labels={"en": "Closed", "id": "Ditutup"}, terminal=True),
        ],
        "transitions": [
            Transition(
                "verify",
                source="reported",
                dest="verification",
                roles={"social_worker"},
                labels={"en": "Verify", "id": "Verifikasi"},
                requires=("risk",),
            ),
            Transition(
                "close",
                source="verification",
                dest="closed",
                roles={"supervisor"},
                labels={"en": "Close", "id": "Tutup"},
                guard=fact("risk") == "low",
            ),
        ],
        "roles": {"social_worker", "supervisor"},
    }
    spec.update(changes)
    return Workflow(**spec)  # type: ignore[arg-type]


def codes(wf: Workflow) -> set[str]:
    return {f.code for f in check_workflow(wf)}


def test_a_sound_workflow_and_the_seed_have_no_errors():
    assert check_workflow(_wf()) == ()
    assert not [f for f in check_workflow(SEED) if f.severity == "error"]


def test_each_check_trips_on_its_planted_defect():
    base = _wf()
    states = list(base.states)
    transitions = list(base.transitions)
    island = _wf(states=[*states, State("island", labels={"en": "I", "id": "I"})])
    assert "unreachable-state" in codes(island)
    trap = _wf(
        states=[*states, State("limbo", labels={"en": "L", "id": "L"})],
        transitions=[
            *transitions,
            Transition(
                "wait",
                source="verification",
                dest="limbo",
                labels={"en": "W", "id": "W"},
                roles={"supervisor"},
            ),
        ],
    )
    found = {f.code: f for f in check_workflow(trap)}
    assert found["trap-state"].path == "states[3]"
    assert "a case in limbo can never reach a terminal state" in found["trap-state"].message
    no_end = _wf(
        states=[State("reported"), State("verification")],
        transitions=[Transition("verify", source="reported", dest="verification")],
    )
    assert "no-terminal-state" in codes(no_end)
    contradiction = _wf(
        transitions=[
            transitions[0],
            Transition(
                "close",
                source="verification",
                dest="closed",
                roles={"supervisor"},
                labels={"en": "C", "id": "T"},
                guard=(fact("risk") > 3) & (fact("risk") < 2),
            ),
        ]
    )
    dead = [f for f in check_workflow(contradiction) if f.code == "dead-transition"]
    assert dead[0].path == "transitions[1].guard"
    assert "no value of risk is both > 3 and < 2" in dead[0].message
    unreachable_source = _wf(
        states=[*states, State("island", labels={"en": "I", "id": "I"})],
        transitions=[
            *transitions,
            Transition(
                "leave",
                source="island",
                dest="closed",
                labels={"en": "L", "id": "L"},
                roles={"supervisor"},
            ),
        ],
    )
    assert any(
        f.code == "dead-transition" and f.path == "transitions[2].source"
        for f in check_workflow(unreachable_source)
    )
    shadow = _wf(
        transitions=[
            transitions[0],
            Transition(
                "close",
                source="verification",
                dest="closed",
                priority=1,
                roles={"supervisor"},
                labels={"en": "C", "id": "T"},
            ),
            Transition(
                "close",
                source="verification",
                dest="reported",
                priority=2,
                roles={"supervisor"},
                labels={"en": "C", "id": "T"},
            ),
        ]
    )
    assert "shadowed-transition" in codes(shadow)
    unlabelled = _wf(states=[State("reported"), *states[1:]])
    assert {f.code for f in check_workflow(unlabelled)} == {"missing-label"}
    idle_role = _wf(roles={"social_worker", "supervisor", "psychologist"})
    assert {f.message for f in check_workflow(idle_role)} == {
        "role psychologist is allowed to do nothing"
    }
    unsupplied = _wf(
        transitions=[
            Transition(
                "verify",
                source="reported",
                dest="verification",
                roles={"social_worker"},
                labels={"en": "V", "id": "V"},
            ),
            transitions[1],
        ]
    )
    assert "unsupplied-data" in codes(unsupplied)


def _ctx(value: object) -> GuardContext:
    case = Case(
        id="C",
        workflow="w",
        version=1,
        state="s",
        data={} if value is None else {"x": value},
        evidence={},
        revision=1,
        opened_at=START,
        state_entered_at=START,
    )
    return GuardContext(
        case=case,
        actor=Actor("a"),
        event="e",
        payload=FrozenMap(),
        evidence=FrozenMap(),
        now=START + timedelta(days=1),
        reason_code=None,
        history=list,
    )


COMPARISONS = (
    st.builds(
        lambda op, v: fact("x")._compare(op, v),
        st.sampled_from([">=", ">", "<=", "<", "==", "!="]),
        st.integers(-5, 5),
    )
    | st.builds(lambda vs: fact("x").one_of(*vs), st.lists(st.integers(-5, 5), max_size=3))
    | st.just(fact("x").present())
    | st.just(fact("x").absent())
)
GUARDS = st.recursive(
    COMPARISONS,
    lambda inner: (
        st.builds(lambda a, b: a & b, inner, inner)
        | st.builds(lambda a, b: a | b, inner, inner)
        | st.builds(lambda a: ~a, inner)
    ),
    max_leaves=6,
)


@given(GUARDS)
def test_a_guard_reported_impossible_never_holds(guard):
    """Soundness: no satisfiable guard is called impossible."""
    if impossible(guard) is not None:
        for value in [None, *range(-7, 8)]:
            assert not guard.test(_ctx(value))[0], (guard.text, value)


def test_diagrams_mark_what_the_issue_asks():
    mermaid = to_mermaid(SEED, locale="id")
    assert mermaid.startswith("stateDiagram-v2\n")
    assert 'state "Penampungan sementara" as sheltered' in mermaid
    assert (
        "family_work --> case_conference : Keluarga tidak merespons · [social_worker, system]"
        in mermaid
    )
    assert "closed_independent --> [*]" in mermaid
    assert "class closed_reunified," in mermaid
    dot = to_dot(SEED)
    assert '"closed_left" [label="Closed: client left the service", peripheries=2];' in dot
    assert "and count(record_contact_attempt) >= 3" in dot


def _trail_file(tmp_path: Path) -> Path:
    db = tmp_path / "demo.sqlite3"
    assert main(["demo", "--db", str(db)]) == 0
    with SQLiteStore(db) as store, (tmp_path / "trail.jsonl").open("w") as out:
        export_jsonl(store.trail(demo.CASE_ID), out, workflow=SEED, include_personal=True)
    return tmp_path / "trail.jsonl"


def test_a_case_path_is_drawn_from_its_trail(tmp_path, capsys):
    trail = _trail_file(tmp_path)
    capsys.readouterr()
    seed_file = ROOT / "examples" / "street-beggar-family-conflict.yaml"
    assert main(["diagram", str(seed_file), "--trail", str(trail)]) == 0
    out = capsys.readouterr().out
    assert "reported --> engaged : First contact · [social_worker] (steps 2)" in out
    assert "class closed_independent current" in out
    assert main(["diagram", str(seed_file), "--format", "dot", "--trail", str(trail)]) == 0
    assert "penwidth=2.5" in capsys.readouterr().out


def _validate(kind: str, texts: dict[str, str], tmp_path: Path) -> str:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / ".installed").exists():
        if os.environ.get("CI"):
            pytest.fail("the diagram validators are missing: run make diagram-tools")
        pytest.skip("run make diagram-tools to validate diagrams with Mermaid and Graphviz")
    script = NODE_DIR / "validate_diagrams.mjs"
    shutil.copy(ROOT / "tests" / "validate_diagrams.mjs", script)
    files = []
    for name, text in texts.items():
        path = tmp_path / name
        path.write_text(text)
        files.append(str(path))
    result = subprocess.run(
        ["node", str(script), kind, *files],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=NODE_DIR,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_mermaid_output_is_valid_for_mermaid_itself(tmp_path):
    trail = _trail_file(tmp_path)
    entries = read_jsonl(trail.read_text().splitlines())
    texts = {
        "seed-en.mmd": to_mermaid(SEED),
        "seed-id.mmd": to_mermaid(SEED, locale="id"),
        "seed-path.mmd": to_mermaid(SEED, trail=entries),
        "tricky.mmd": to_mermaid(
            _wf(
                states=[
                    State("reported", labels={"en": 'Quote " semi; hash # colon: {brace} <tag>'}),
                    *_wf().states[1:],
                ]
            )
        ),
    }
    out = _validate("mermaid", texts, tmp_path)
    assert out.count("ok ") == 4
    bad = {"bad.mmd": "stateDiagram-v2\n  a --> : broken ::\n"}
    with pytest.raises(AssertionError):
        _validate("mermaid", bad, tmp_path)


def test_dot_output_is_valid_for_graphviz(tmp_path):
    out = _validate(
        "dot",
        {
            "seed.dot": to_dot(SEED, locale="id"),
            "tricky.dot": to_dot(
                _wf(
                    states=[
                        State("reported", labels={"en": 'back\\slash "quoted"\nnewline'}),
                        *_wf().states[1:],
                    ]
                )
            ),
        },
        tmp_path,
    )
    assert out.count("ok ") == 2


def test_cli_check_passes_the_seed_and_names_planted_defects(tmp_path, capsys):
    seed_file = ROOT / "examples" / "street-beggar-family-conflict.yaml"
    assert main(["check", str(seed_file)]) == 0
    out = capsys.readouterr().out
    assert f"{seed_file}: ok" in out
    assert "error" not in out
    doc = workflow_to_dict(SEED)
    doc["states"].append({"id": "island", "labels": {"en": "I", "id": "I"}})
    doc["transitions"][9]["guard"] = {
        "all": [{"fact": "age", "op": ">", "value": 60}, {"fact": "age", "op": "<", "value": 18}]
    }
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps(doc, indent=2))
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        dump_workflow(SEED, "yaml").replace("source: family_work", "source: family_wrok", 1)
    )
    assert main(["check", str(planted), str(broken), str(seed_file), "--format", "json"]) == 1
    results = json.loads(capsys.readouterr().out)
    assert [r["ok"] for r in results] == [False, False, True]
    codes_found = {(f["code"], f["path"]) for f in results[0]["findings"]}
    assert ("unreachable-state", "states[19]") in codes_found
    assert ("dead-transition", "transitions[9].guard") in codes_found
    assert any(
        "family_wrok" in p and "did you mean 'family_work'" in p and ":" in p
        for p in results[1]["load_errors"]
    )


def test_cli_verify_reports_the_entry_that_broke(tmp_path, capsys):
    trail = _trail_file(tmp_path)
    capsys.readouterr()
    assert main(["verify", str(trail)]) == 0
    assert "ok: case MDN-2024-0173, 24 entries" in capsys.readouterr().out
    lines = trail.read_text().splitlines()
    raw = json.loads(lines[9])
    raw["actor"]["id"] = "spv-999"
    lines[9] = json.dumps(raw)
    trail.write_text("\n".join(lines) + "\n")
    assert main(["verify", str(trail), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "ok": False,
        "broken_at": 10,
        "problem": "its content does not match its hash: it was altered",
    }
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join(trail.read_text().splitlines()[:5]) + "\n")
    head = "23:" + "a" * 64
    assert main(["verify", str(short), "--head", head]) == 1
    assert "entries were removed from the end" in capsys.readouterr().out


def test_cli_help_and_bad_input(capsys, tmp_path):
    for command in ("check", "diagram", "verify", "demo"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: casework-flow " + command in capsys.readouterr().out
    assert main(["diagram", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read it" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.jsonl")]) == 2


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "casework_flow",
            "check",
            str(ROOT / "examples" / "street-beggar-family-conflict.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
