"""Switch off the checks one at a time: every guard clause made never true must fail a test.

mutmut changes operators and constants but never makes an ``if`` false, so it cannot see
a check that no test depends on. This script finds every guard clause in the modules
where the library's promises live (an ``if`` whose body raises or returns), replaces its
condition with ``False`` in a copy of the package, and runs the tests that exercise the
module against that copy. A mutant whose tests still pass *survived*: the check could go
unnoticed. Survivors shown to be equivalent (the check cannot change what any caller
sees) are listed with their reason in ``tests/switched_off_equivalent.txt``.

Run: ``make mutation`` (with mutmut), or alone:
``python tests/switch_off_checks.py [--module src/casework_flow/_evolve.py] [--min 90]``.
It prints killed / total per module and in all, writes ``mutants/switched-off.json``, and
exits 1 when the score is under ``--min``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "casework_flow"
EQUIVALENT = ROOT / "tests" / "switched_off_equivalent.txt"
TIMEOUT = 300
"""Seconds a mutant's tests may run; the unmutated tests of any module take under 60."""

CORE_TESTS = [
    "tests/test_core.py",
    "tests/test_core_properties.py",
    "tests/test_core_time.py",
    "tests/test_core_values.py",
    "tests/test_refusals.py",
    "tests/test_evolve.py",
    "tests/test_engine.py",
]
HANDOVER_TESTS = [
    "tests/test_handovers.py",
    "tests/test_handovers_properties.py",
    "tests/test_operations.py",
]
CHECKPOINT_TESTS = ["tests/test_checkpoints.py", "tests/test_tamper.py"]
STAGE_TESTS = [
    "tests/test_stages.py",
    "tests/test_votes.py",
    "tests/test_seed_staged.py",
    "tests/test_stage_checks.py",
]
LINK_TESTS = ["tests/test_links.py", "tests/test_link_closing.py", "tests/test_link_referrals.py"]
FILE_TESTS = [
    "tests/test_files.py",
    "tests/test_file_schema.py",
    "tests/test_definition.py",
    "tests/test_declared_properties.py",
    "tests/test_requirements.py",
    "tests/test_contracts.py",
    "tests/test_time.py",
    "tests/test_inputs.py",
    "tests/test_stages.py",
]
MODULES: dict[str, list[str]] = {
    "_decide_links.py": [*LINK_TESTS, "tests/test_handovers.py"],
    "_closing.py": LINK_TESTS,
    "_reports.py": ["tests/test_reports.py"],
    "_contracts.py": ["tests/test_contracts.py"],
    "_requirements.py": ["tests/test_requirements.py", "tests/test_definition.py"],
    "testing/_coverage.py": ["tests/test_coverage.py"],
    "testing/_host.py": ["tests/test_model_test.py"],
    "testing/_host_model.py": ["tests/test_model_test.py"],
    "testing/_host_menu.py": ["tests/test_model_test.py"],
    "testing/_model_test.py": ["tests/test_model_test.py"],
    "testing/_declared.py": ["tests/test_declared_properties.py"],
    "_property_specs.py": ["tests/test_declared_properties.py"],
    "_property_files.py": ["tests/test_declared_properties.py"],
    "_file_reference.py": ["tests/test_file_schema.py"],
    "_file_schema.py": ["tests/test_file_schema.py"],
    "_file_writers.py": FILE_TESTS,
    "_files.py": FILE_TESTS,
    "_guard_data.py": [*FILE_TESTS, "tests/test_guards.py"],
    "_cli_trace.py": ["tests/test_requirements.py"],
    "testing/_trace.py": ["tests/test_requirements.py"],
    "_cli_audit.py": [
        *CHECKPOINT_TESTS,
        "tests/test_reports.py",
        "tests/test_checks_diagrams_cli.py",
    ],
    "_check.py": ["tests/test_checks_planted.py", "tests/test_checks_diagrams_cli.py"],
    "_guard_logic.py": [
        "tests/test_guard_logic.py",
        "tests/test_checks_planted.py",
        "tests/test_checks_diagrams_cli.py",
    ],
    "_actions.py": ["tests/test_actions.py", "tests/test_engine.py", "tests/test_async_engine.py"],
    "_observe.py": ["tests/test_observe.py"],
    "stores/_feed.py": ["tests/test_feed.py", "tests/test_store_sqlite.py"],
    "_bridge.py": ["tests/test_async_engine.py"],
    "_async_engine.py": ["tests/test_async_engine.py"],
    "_link_findings.py": LINK_TESTS,
    "_decide.py": [*CORE_TESTS, *HANDOVER_TESTS, "tests/test_time.py", *STAGE_TESTS],
    "_evolve.py": [*CORE_TESTS, "tests/test_replay.py", *HANDOVER_TESTS, *STAGE_TESTS],
    "_checks.py": [*CORE_TESTS, *HANDOVER_TESTS, *STAGE_TESTS],
    "_tree.py": [*STAGE_TESTS, "tests/test_explore_stages.py"],
    "_stages.py": STAGE_TESTS,
    "_stage_checks.py": [*STAGE_TESTS, "tests/test_definition.py"],
    "_configurations.py": [*STAGE_TESTS, "tests/test_explore_stages.py", "tests/test_reduction.py"],
    "_stage_findings.py": STAGE_TESTS,
    "_migration.py": [*STAGE_TESTS, "tests/test_operations.py", "tests/test_core_migration.py"],
    "testing/_reduction.py": ["tests/test_explore_stages.py", "tests/test_reduction.py"],
    "testing/_hunt.py": ["tests/test_random_tools.py", "tests/test_testing_kit.py"],
    "testing/_machine.py": ["tests/test_random_tools.py", "tests/test_testing_kit.py"],
    "testing/_rules.py": [
        "tests/test_random_tools.py",
        "tests/test_testing_kit.py",
        "tests/test_explore.py",
        "tests/test_explore_stages.py",
    ],
    "testing/_explore.py": [
        "tests/test_random_tools.py",
        "tests/test_explore.py",
        "tests/test_case_types.py",
        "tests/test_explore_stages.py",
    ],
    "_finding.py": ["tests/test_checks_planted.py", "tests/test_file_schema.py"],
    "_sealing.py": ["tests/test_sealing.py", "tests/test_retention.py"],
    "_at_rest.py": ["tests/test_sealing.py", "tests/test_retention.py"],
    "_keys.py": ["tests/test_sealing.py"],
    "_access_log.py": ["tests/test_sealing.py"],
    "stores/_postgres_keys.py": ["tests/test_sealing.py"],
    "_decide_erasure.py": ["tests/test_sealing.py", "tests/test_retention.py"],
    "_ids.py": ["tests/test_units.py"],
    "_overrides.py": [*CORE_TESTS, "tests/test_operations.py"],
    "_compiled.py": [*CORE_TESTS, "tests/test_guards.py", *STAGE_TESTS],
    "_guards.py": ["tests/test_guards.py", *CORE_TESTS],
    "_measures.py": ["tests/test_guards.py", *CORE_TESTS],
    "_audit.py": [
        "tests/test_verify.py",
        "tests/test_audit.py",
        "tests/test_export.py",
        "tests/test_inputs.py",
        "tests/test_tamper.py",
        *CORE_TESTS,
    ],
    "_replay.py": ["tests/test_replay.py", "tests/test_verify.py", *CORE_TESTS],
    "_timing.py": ["tests/test_time.py", *CORE_TESTS],
    "_engine_time.py": ["tests/test_time.py", "tests/test_operations.py", *CORE_TESTS],
    "_shell.py": [
        *CORE_TESTS,
        "tests/test_export.py",
        *CHECKPOINT_TESTS,
        *HANDOVER_TESTS,
        "tests/test_observe.py",
        "tests/test_links.py",
    ],
    "_case.py": ["tests/test_values.py", *CORE_TESTS],
    "_catalog.py": ["tests/test_core_values.py", *CORE_TESTS],
    "_decide_handovers.py": [*CORE_TESTS, *HANDOVER_TESTS],
    "_handover_checks.py": [*CORE_TESTS, *HANDOVER_TESTS],
    "_access.py": [*CORE_TESTS, *HANDOVER_TESTS, "tests/test_units.py"],
    "_step.py": [*CORE_TESTS, *HANDOVER_TESTS, *STAGE_TESTS],
    "_merkle.py": ["tests/test_checkpoints.py"],
    "_checkpoint.py": ["tests/test_checkpoints.py", "tests/test_tamper.py"],
    "_checkpoint_files.py": ["tests/test_checkpoints.py"],
    "_verification.py": [*CHECKPOINT_TESTS, "tests/test_verify.py", "tests/test_replay.py"],
    "_engine_audit.py": [*CHECKPOINT_TESTS, "tests/test_verify.py", *CORE_TESTS],
    "_canonical.py": ["tests/test_trail_format.py", "tests/test_audit.py"],
    "stores/_memory.py": [
        "tests/test_store_conformance.py",
        "tests/test_feed.py",
        "tests/test_store_memory.py",
        "tests/test_checkpoints.py",
    ],
    "stores/_sqlbase.py": [
        "tests/test_store_conformance.py",
        "tests/test_store_sqlite.py",
        "tests/test_store_remembered.py",
        "tests/test_open_many.py",
        "tests/test_feed.py",
        *CHECKPOINT_TESTS,
    ],
    "stores/_remembered.py": ["tests/test_store_remembered.py", "tests/test_store_conformance.py"],
    "stores/_joined.py": [
        "tests/test_host_transaction.py",
        "tests/test_contrib_sqlalchemy.py",
        "tests/test_contrib_django.py",
    ],
    "contrib/sqlalchemy.py": ["tests/test_contrib_sqlalchemy.py"],
    "_mining.py": ["tests/test_mining.py"],
    "_cli_export.py": ["tests/test_mining.py", "tests/test_reports.py"],
    "_engine_queues.py": ["tests/test_queues.py", "tests/test_votes.py", "tests/test_reports.py"],
    "_report_page.py": ["tests/test_reports.py", "tests/test_case_page.py"],
    "contrib/django/_store.py": ["tests/test_contrib_django.py"],
}


def guard_clauses(source: str) -> list[ast.If]:
    """Every ``if`` whose body raises or returns: a check that refuses or reports."""
    return [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.If)
        and any(isinstance(s, ast.Raise | ast.Return) for s in node.body)
    ]


def switched_off(source: str, node: ast.If) -> str:
    """The source with ``node``'s condition replaced by ``False``."""
    lines = source.splitlines(keepends=True)
    test = node.test
    assert test.end_lineno is not None
    assert test.end_col_offset is not None
    start = sum(len(line) for line in lines[: test.lineno - 1]) + test.col_offset
    end = sum(len(line) for line in lines[: test.end_lineno - 1]) + test.end_col_offset
    return source[:start] + "False" + source[end:]


def equivalents() -> set[str]:
    """``module:line`` of the survivors shown to be equivalent."""
    if not EQUIVALENT.exists():
        return set()
    out = set()
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            out.add(line.split()[0])
    return out


def run(copy: Path, tests: list[str]) -> bool:
    """Whether the tests fail against the package in ``copy`` (the mutant is killed).

    Tests that hang (a check switched off can leave a step waiting on a busy
    connection) count as failing, as mutmut counts a timeout as killed.
    """
    env = {**os.environ, "PYTHONPATH": str(copy)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
             "-o", "addopts=--import-mode=importlib -p no:casework_flow", *tests],
            cwd=ROOT, env=env, capture_output=True, check=False, timeout=TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return True
    return done.returncode != 0


def main(argv: list[str] | None = None) -> int:
    """Switch off each guard clause of the chosen modules; report and return the status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--module", action="append", help="a module under src/casework_flow")
    parser.add_argument("--min", type=float, default=90.0, help="the lowest passing score (%%)")
    parser.add_argument("--mutmut-stats", type=Path, help="mutmut's export-cicd-stats file")
    args = parser.parse_args(argv)
    mutmut_ok = True
    if args.mutmut_stats is not None:
        mutmut_ok = mutmut_score(args.mutmut_stats) >= args.min
    chosen = [m.removeprefix("src/casework_flow/") for m in args.module or MODULES]
    known = equivalents()
    report: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        for module in chosen:
            path = SRC / module
            source = path.read_text(encoding="utf-8")
            killed, survived, equivalent = 0, [], []
            for node in guard_clauses(source):
                where = f"{module}:{node.lineno}"
                if where in known:
                    equivalent.append(where)
                    continue
                shutil.rmtree(copy / "casework_flow", ignore_errors=True)
                shutil.copytree(SRC, copy / "casework_flow")
                (copy / "casework_flow" / module).write_text(switched_off(source, node))
                if run(copy, MODULES.get(module, CORE_TESTS)):
                    killed += 1
                else:
                    survived.append(where)
            total = killed + len(survived)
            report[module] = {"killed": killed, "total": total, "survived": survived,
                              "equivalent": equivalent}  # fmt: skip
            score = 100.0 * killed / total if total else 100.0
            print(f"{module:24} {killed:4} / {total:<4} {score:6.1f}%  survived: {survived}")
    killed = sum(int(r["killed"]) for r in report.values())  # type: ignore[call-overload]
    total = sum(int(r["total"]) for r in report.values())  # type: ignore[call-overload]
    score = 100.0 * killed / total if total else 100.0
    print(f"{'switched-off checks':24} {killed:4} / {total:<4} {score:6.1f}%")
    out = ROOT / "mutants"
    out.mkdir(exist_ok=True)
    (out / "switched-off.json").write_text(
        json.dumps({"score": score, "modules": report}, indent=2)
    )
    return 0 if score >= args.min and mutmut_ok else 1


def mutmut_score(path: Path) -> float:
    """Print and return mutmut's score as its statistics count it."""
    stats = json.loads(path.read_text(encoding="utf-8"))
    tested = int(stats.get("total", 0)) - int(stats.get("skipped", 0))
    done = int(stats.get("killed", 0)) + int(stats.get("timeout", 0))
    score = 100.0 * done / tested if tested > 0 else 0.0
    print(f"{'mutmut (killed+timeout)':24} {done:4} / {tested:<4} {score:6.1f}%  {stats}")
    return score


if __name__ == "__main__":
    sys.exit(main())
