"""The JSON Schema of workflow files: made from the loader's table, and held to the loader.

Every example and test workflow validates; for every key of every object in the seed
workflow, a value of the wrong type is refused by both the loader and the schema, and
so is an unknown key anywhere, or a missing required one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import seed
from casework_flow.cli import main
from casework_flow.exceptions import WorkflowError
from casework_flow.files import workflow_from_dict, workflow_schema, workflow_to_dict

from .conftest import ROOT

jsonschema = pytest.importorskip("jsonschema")
VALIDATOR = jsonschema.Draft202012Validator(workflow_schema())
FILES = sorted((ROOT / "examples").rglob("*.yaml")) + sorted(
    (ROOT / "src" / "casework_flow" / "seed_data").glob("*.yaml")
)


def _valid(doc: object) -> bool:
    return VALIDATOR.is_valid(doc)


def _loads(doc: dict[str, Any]) -> bool:
    try:
        workflow_from_dict(doc)
    except WorkflowError:
        return False
    return True


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(workflow_schema())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_file_validates(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [e.message for e in VALIDATOR.iter_errors(doc)]
    assert errors == []


def test_every_workflow_the_library_writes_validates():
    from .test_link_closing import child, family  # noqa: PLC0415
    from .test_link_referrals import shelter  # noqa: PLC0415

    for wf in (seed.build_workflow(), seed.build_staged_workflow(), child(), family(), shelter()):
        doc = json.loads(json.dumps(workflow_to_dict(wf)))
        assert [e.message for e in VALIDATOR.iter_errors(doc)] == [], wf.name


def _objects(
    doc: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every mapping in the document that is a workflow object (not guards or labels)."""
    if isinstance(doc, dict):
        if path and path[-1] in {"guard", "labels"}:
            return
        yield path, doc
        for key, value in doc.items():
            yield from _objects(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _objects(value, (*path, i))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


SEED = yaml.safe_load(
    (ROOT / "src" / "casework_flow" / "seed_data" / "street-beggar-family-conflict.yaml").read_text(
        encoding="utf-8"
    )
)
WRONG = {str: 7, bool: "yes", int: "many", list: 7.5, dict: "text"}


def _mutations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, obj in _objects(SEED):
        if path and path[-1] in {"handovers", "links"}:
            continue
        for key, value in obj.items():
            wrong = WRONG.get(type(value))
            if wrong is None or (key in {"by_timer", "refused"} and value is True):
                continue  # `true` or a name: a string there is a timer's or event's name
            doc = copy.deepcopy(SEED)
            _at(doc, path)[key] = wrong
            yield f"{'.'.join(map(str, (*path, key)))}={wrong!r}", doc
        for key, value in obj.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                doc = copy.deepcopy(SEED)
                _at(doc, path)[key][0] = "text"
                yield f"{'.'.join(map(str, (*path, key, 0)))}='text'", doc


@pytest.mark.parametrize(
    ("where", "doc"), list(_mutations()), ids=lambda x: x if isinstance(x, str) else ""
)
def test_a_value_of_the_wrong_type_is_refused_by_both(where, doc):
    assert not _loads(doc), where
    assert not _valid(doc), where


@settings(max_examples=80, deadline=None)
@given(
    target=st.sampled_from(
        [p for p, _ in _objects(SEED) if not (p and p[-1] in {"handovers", "links"})]
    ),
    key=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
)
def test_an_unknown_key_anywhere_is_refused_by_both(target, key):
    doc = copy.deepcopy(SEED)
    obj = _at(doc, target)
    if key in obj:
        return
    obj[key] = "x"
    assert not _loads(doc)
    assert not _valid(doc)


@pytest.mark.parametrize("key", ["name", "version", "initial", "states"])
def test_a_missing_required_key_is_refused_by_both(key):
    doc = copy.deepcopy(SEED)
    del doc[key]
    assert not _loads(doc)
    assert not _valid(doc)


def test_the_command_prints_the_schema(tmp_path, capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == workflow_schema()
    out = tmp_path / "workflow.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == workflow_schema()


def test_the_file_reference_page_is_the_generated_one():
    from casework_flow._file_reference import file_reference  # noqa: PLC0415

    page = (ROOT / "docs" / "file-reference.md").read_text(encoding="utf-8")
    assert "|  |" not in file_reference(), "every key needs a meaning in its class's docstring"
    assert file_reference() in page, (
        "regenerate it: python -m casework_flow._file_reference (below the page's intro)"
    )
    for kind, fields in __import__("casework_flow._file_schema").\
            _file_schema.FIELDS.items():  # fmt: skip
        for key in fields:
            assert f"| `{key}` |" in page, (kind, key)


def test_the_checks_table_in_the_docs_is_generated_from_the_registry():
    from casework_flow._finding import checks_table  # noqa: PLC0415

    page = (ROOT / "docs" / "files.md").read_text(encoding="utf-8")
    assert checks_table() in page, (
        "regenerate it: python -m casework_flow._file_reference checks (in docs/files.md)"
    )
