"""Root pytest hooks: our plugin, and the PostgreSQL page of the docs needs PostgreSQL."""

from __future__ import annotations

import os

import psycopg
import pytest

# Our own plugin is loaded here rather than from its entry point (turned off in
# pyproject.toml), so that it is imported after coverage has started.
pytest_plugins = ["casework_flow.pytest_plugin"]

PG_PAGES = {"stores.md"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip doc pages that use PostgreSQL when it is unreachable, except under CI."""
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
