"""Root pytest hooks: our plugin, and the PostgreSQL page of the docs needs PostgreSQL."""

from __future__ import annotations

import os

import psycopg
import pytest
from hypothesis import settings

# Our own plugin is loaded here rather than from its entry point (turned off in
# pyproject.toml), so that it is imported after coverage has started.
pytest_plugins = ["casework_flow.pytest_plugin"]

PG_PAGES = {"stores.md"}

# Under mutmut each surviving mutant runs every test that reaches it; the property tests'
# full searches would make a run take a day on two cores. A mutation run therefore caps
# each search (the score it reports is then a floor: more examples can only kill more).
MUTATION_MAX_EXAMPLES = 25


def _cap_searches(items: list[pytest.Item]) -> None:
    for item in items:
        test = getattr(item, "obj", None)
        chosen = getattr(test, "_hypothesis_internal_use_settings", None)
        if chosen is not None and chosen.max_examples > MUTATION_MAX_EXAMPLES:
            capped = settings(chosen, max_examples=MUTATION_MAX_EXAMPLES)
            # hypothesis reads this attribute each time the test runs.
            setattr(test, "_hypothesis_internal_use_settings", capped)  # noqa: B010


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip doc pages that use PostgreSQL when it is unreachable, except under CI."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        _cap_searches(items)
    if os.environ.get("CI"):
        return
    dsn = os.environ.get("CASEWORK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error as exc:
        reason = f"PostgreSQL unreachable: {exc}"
        for item in items:
            if item.name in PG_PAGES:
                item.add_marker(pytest.mark.skip(reason=reason))
