"""Shared fixtures: the seed workflow, a manual clock and an engine on it."""

from __future__ import annotations

import importlib.util
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest
from hypothesis import settings

from casework_flow import Engine, ManualClock, Workflow

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)

settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001 - pytest's hook
    """Configure Django for the adapter's tests: the example host's apps, SQLite and PG.

    pytest-django then makes a test database per alias (and per xdist worker) through
    the apps' migrations, the casework tables included. The ``pg`` alias is left out
    when PostgreSQL cannot be reached (its tests then skip, or fail under CI).
    """
    import django  # noqa: PLC0415 - only when the tests run
    from django.conf import settings as django_settings  # noqa: PLC0415

    from .stores import PG_DSN, pg_available  # noqa: PLC0415

    if django_settings.configured:
        return
    sys.path.insert(0, str(ROOT / "examples" / "django_host"))
    databases: dict[str, dict[str, object]] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    }
    if pg_available() is None:
        url = urlsplit(PG_DSN)
        databases["pg"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.hostname or "localhost",
            "PORT": str(url.port or 5432),
        }
    django_settings.configure(
        INSTALLED_APPS=["casework_flow.contrib.django", "visits"],
        DATABASES=databases,
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def load_example(name: str) -> ModuleType:
    """Import a script from examples/ by file name."""
    return load_example_file(name, ROOT / "examples" / f"{name}.py")


def load_example_file(name: str, path: Path) -> ModuleType:
    """Import an example module from any path under examples/, under ``name``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def seed() -> ModuleType:
    return load_example("medan_street_beggar")


@pytest.fixture(scope="session")
def seed_workflow(seed: ModuleType) -> Workflow:
    workflow: Workflow = seed.build_workflow()
    return workflow


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(seed_workflow: Workflow, clock: ManualClock) -> Engine:
    return Engine([seed_workflow], clock=clock)
