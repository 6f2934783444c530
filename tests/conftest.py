"""Shared fixtures: the seed workflow, a manual clock and an engine on it."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from casework_flow import Engine, ManualClock, Workflow

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)

settings.register_profile("default", deadline=None)
settings.load_profile("default")


def load_example(name: str) -> ModuleType:
    """Import a script from examples/ by file name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
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
