"""The shape of the public API and of the package itself."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import casework_flow

PUBLIC = ["guards", "files", "time", "audit", "checks", "migration", "stores", "exceptions"]
PUBLIC += ["testing", "seed", "handovers", "checkpoints", "links", "actions", "observe", "keys"]
PUBLIC += ["reports"]
CONTRIB = ["contrib.sqlalchemy", "contrib.django"]
SRC = Path(casework_flow.__file__).parent


def test_the_top_level_holds_about_thirty_names_a_host_needs_first():
    names = casework_flow.__all__
    assert names == sorted(names)
    assert len(names) <= 34
    assert not [n for n in names if n.startswith("_")]
    for name in names:
        assert getattr(casework_flow, name) is not None


@pytest.mark.parametrize("name", PUBLIC + CONTRIB)
def test_every_public_submodule_exports_only_what_it_has(name):
    module = importlib.import_module(f"casework_flow.{name}")
    exported = module.__all__
    assert sorted(exported, key=str.casefold) == sorted(set(exported), key=str.casefold)
    for item in exported:
        assert hasattr(module, item), f"casework_flow.{name} lacks {item}"


def test_no_name_is_exported_from_two_public_places_under_different_objects():
    seen: dict[str, object] = {}
    for name in ["", *PUBLIC]:
        module = importlib.import_module("casework_flow" + (f".{name}" if name else ""))
        for item in module.__all__:
            value = getattr(module, item)
            if item in seen:
                assert seen[item] is value, item
            seen[item] = value


def test_no_module_of_the_package_is_over_five_hundred_lines():
    if "mutants" in SRC.parts:
        pytest.skip("mutmut's copy of the package is rewritten: its lines are not ours")
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_the_package_ships_its_type_information_and_the_seed_workflow():
    assert (SRC / "py.typed").is_file()
    from casework_flow import seed  # noqa: PLC0415 - the module under test

    assert seed.workflow_path().is_file()
    assert seed.build_workflow().name == seed.WORKFLOW


def test_every_private_module_is_named_after_one_concept():
    for info in pkgutil.walk_packages(casework_flow.__path__, "casework_flow."):
        tail = info.name.rsplit(".", 1)[-1]
        assert tail.startswith("_") or info.name.removeprefix("casework_flow.").split(".")[0] in {
            *PUBLIC,
            "contrib",
            "cli",
            "pytest_plugin",
            "__main__",
        }, info.name
