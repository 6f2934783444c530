"""The pytest plugin: fixtures for testing process rules, with no import needed.

Installed with casework-flow (an entry point in the ``pytest11`` group), so a host
project's tests can simply ask for the fixtures:

- ``casework_clock``: a `ManualClock` at 2024-01-01 00:00 UTC;
- ``casework_engine``: makes an `Engine` for the given workflows on that clock (in
  memory unless a store is given);
- ``process_rules``: `ProcessRules`, whose ``check`` and ``explore`` fail the test with
  the shortest counterexample trail.

Hypothesis is imported only when ``process_rules`` is used, so the plugin costs nothing
in projects that do not use the testing kit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from ._clock import ManualClock
from ._definition import Workflow
from ._engine import Engine
from .stores import Store

if TYPE_CHECKING:
    from .testing import Exploration, Rule

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
