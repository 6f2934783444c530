"""The pytest plugin: fixtures for testing process rules, with no import needed.

Installed with casework-flow (an entry point in the ``pytest11`` group), so a host
project's tests can simply ask for the fixtures:

- ``casework_clock``: a `ManualClock` at 2024-01-01 00:00 UTC;
- ``casework_engine``: makes an `Engine` for the given workflows on that clock (in
  memory unless a store is given);
- ``process_rules``: `ProcessRules`, whose ``check`` and ``explore`` fail the test with
  the shortest counterexample trail.

With ``--casework-coverage``, the trails of every kit run in the session (`explore`,
`check_rules`, `workflow_machine`) are gathered, and the coverage of each workflow
they played is printed at the end (states, transitions, guard outcomes, transition
pairs, timers, deadlines, requirements; with ``-v``, what was not covered);
``--casework-coverage-html=DIR`` also writes a page per workflow,
``--casework-coverage-json=FILE`` writes it as JSON with the tests that exercised each
requirement (what ``casework-flow trace --tested`` reads), and
``--casework-coverage-fail-under=PERCENT`` fails the run when a workflow's coverage is
lower. Under pytest-xdist each worker gathers its own and the
controller reports them together.

Hypothesis is imported only when ``process_rules`` or coverage is used, so the plugin
costs nothing in projects that do not use the testing kit.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._clock import ManualClock
from ._definition import Workflow
from ._engine import Engine
from .stores import Store

if TYPE_CHECKING:
    from .testing import Coverage, Exploration, Recorder, Rule

START = datetime(2024, 1, 1, tzinfo=UTC)

__all__ = ["START", "ProcessRules", "casework_clock", "casework_engine", "process_rules"]


class ProcessRules:
    """Checks rules against a workflow; a broken rule fails the test with its trail."""

    def check(self, workflow: Workflow, *rules: Rule, **options: Any) -> None:  # noqa: ANN401 - passed on
        """Run `check_rules` (breadth-first walk, then the hypothesis hunt)."""
        from .testing import check_rules  # noqa: PLC0415 - hypothesis only when used

        check_rules(workflow, *rules, **options)

    def explore(self, workflow: Workflow, *rules: Rule, depth: int = 12) -> Exploration:
        """Run `explore` and raise its counterexample; return the exploration if none."""
        from .testing import explore  # noqa: PLC0415 - hypothesis only when used

        found = explore(workflow, *rules, depth=depth)
        found.raise_for_violation()
        return found


@pytest.fixture
def casework_clock() -> ManualClock:
    """A clock that stands at 2024-01-01 00:00 UTC until the test moves it."""
    return ManualClock(START)


@pytest.fixture
def casework_engine(casework_clock: ManualClock) -> Callable[..., Engine]:
    """Make an engine for some workflows on ``casework_clock``: ``casework_engine(wf)``."""

    def make(*workflows: Workflow, store: Store | None = None) -> Engine:
        return Engine(workflows, store=store, clock=casework_clock)

    return make


@pytest.fixture
def process_rules() -> ProcessRules:
    """Check process rules: ``process_rules.explore(workflow, rule, depth=10)``."""
    return ProcessRules()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The coverage options."""
    group = parser.getgroup("casework_flow", "casework_flow: coverage of workflows")
    group.addoption(
        "--casework-coverage",
        action="store_true",
        help="report what the kit's runs covered of each workflow",
    )
    group.addoption(
        "--casework-coverage-html",
        metavar="DIR",
        help="also write an HTML page of each workflow's coverage into DIR",
    )
    group.addoption(
        "--casework-coverage-fail-under",
        metavar="PERCENT",
        type=float,
        help="fail the run when a workflow's coverage is under PERCENT",
    )
    group.addoption("--casework-coverage-json", metavar="FILE",
                    help="also write the coverage, and which tests exercised each"
                         " requirement, as JSON (for casework-flow trace --tested)")  # fmt: skip


class _CoveragePlugin:
    """Gathers the kit's trails for the session and reports their coverage."""

    def __init__(self, config: pytest.Config) -> None:
        from .testing import recording  # noqa: PLC0415 - hypothesis only when used

        self.config = config
        self.opened = contextlib.ExitStack()
        self.recording: Recorder = self.opened.enter_context(recording())
        self.from_workers: list[Coverage] = []
        self.exercised: dict[str, dict[str, list[str]]] = {}
        self.failed = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Kit runs from here on belong to this test."""
        self.recording.test = item.nodeid

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:  # noqa: ARG002 - pytest's
        """Kit runs from here on belong to no test."""
        self.recording.test = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:  # noqa: ANN401, ARG002 - xdist's hook
        """Take a worker's coverage (pytest-xdist)."""
        from .testing import Coverage  # noqa: PLC0415

        raw = getattr(node, "workeroutput", {}).get("casework_coverage")
        if raw:
            data = json.loads(raw)
            self.from_workers += [Coverage.from_dict(c) for c in data["coverage"]]
            _add(self.exercised, data["exercised"])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Hand a worker's coverage to the controller; judge the threshold on the controller."""
        found = self.recording.coverage()
        exercised = self.recording.exercised()
        worker = getattr(self.config, "workeroutput", None)
        if worker is not None:
            data = {"coverage": [c.to_dict() for c in found], "exercised": exercised}
            worker["casework_coverage"] = json.dumps(data)
            return
        self.found = _together([*found, *self.from_workers])
        _add(self.exercised, exercised)
        out = self.config.getoption("casework_coverage_json")
        if out:
            data = {"coverage": [c.to_dict() for c in self.found], "exercised": self.exercised}
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        floor = self.config.getoption("casework_coverage_fail_under")
        if floor is not None and any(c.percent < floor for c in self.found):
            self.failed = True
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        folder = self.config.getoption("casework_coverage_html")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            for c in self.found:
                name = c.workflow.replace("@", "-v") + ".html"
                (Path(folder) / name).write_text(c.html(), encoding="utf-8")
        self.opened.close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:  # noqa: ANN401 - pytest's
        """Print each workflow's coverage."""
        found = getattr(self, "found", None)
        if found is None:
            return
        terminalreporter.section("casework_flow coverage")
        floor = self.config.getoption("casework_coverage_fail_under")
        if not (self.config.getoption("casework_coverage") or floor is not None):
            where = [
                self.config.getoption(o)
                for o in ("casework_coverage_html", "casework_coverage_json")
            ]
            names = " and ".join(str(w) for w in where if w)
            terminalreporter.write_line(f"coverage of {len(found)} workflows written to {names}")
            return
        if not found:
            terminalreporter.write_line("no kit run played a workflow")
        verbose = self.config.getoption("verbose") > 0
        for c in found:
            terminalreporter.write_line(c.text(missing=verbose))
        if self.failed:
            terminalreporter.write_line(f"FAIL: coverage under {floor:g}%", red=True)


def _add(into: dict[str, dict[str, list[str]]], more: dict[str, dict[str, list[str]]]) -> None:
    """Add the tests that exercised each requirement, by workflow, with no repeats."""
    for workflow, ids in more.items():
        known = into.setdefault(workflow, {})
        for rid, tests in ids.items():
            known[rid] = sorted({*known.get(rid, []), *tests})


def _together(found: list[Coverage]) -> list[Coverage]:
    """One coverage per workflow, merged across processes."""
    by: dict[tuple[str, str], Coverage] = {}
    for c in found:
        key = (c.workflow, c.fingerprint)
        by[key] = by[key] | c if key in by else c
    return list(by.values())


def pytest_configure(config: pytest.Config) -> None:
    """Start gathering coverage when asked to."""
    wanted = (
        config.getoption("casework_coverage")
        or config.getoption("casework_coverage_html")
        or config.getoption("casework_coverage_fail_under") is not None
        or config.getoption("casework_coverage_json")
    )
    if wanted:
        config.pluginmanager.register(_CoveragePlugin(config), "casework_flow_coverage")
