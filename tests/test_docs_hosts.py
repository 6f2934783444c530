"""docs/hosts.md and the README: their excerpts are the tested examples' own; Alembic works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata, produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.operations.ops import ModifyTableOps

from casework_flow import Engine, SQLiteStore, seed
from casework_flow.contrib.sqlalchemy import casework_meta, metadata, version_row

from .conftest import ROOT

PAGE = ROOT / "docs" / "hosts.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_every_excerpt_on_the_page_is_in_a_tested_example():
    examples = [_lines(p.read_text()) for p in (ROOT / "examples").rglob("*.py")]
    pages = PAGE.read_text() + (ROOT / "README.md").read_text()
    excerpts = [b for b in BLOCK.findall(pages) if "target_metadata" not in b]
    assert len(excerpts) >= 5
    for excerpt in excerpts:
        wanted = _lines(excerpt)
        found = any(
            source[i : i + len(wanted)] == wanted
            for source in examples
            for i in range(len(source) - len(wanted) + 1)
        )
        assert found, f"not in any example:\n{excerpt}"


def _flat(operations: list[Any]) -> Iterator[Any]:
    """Alembic's operations with each table's group (indexes on it) opened up."""
    for operation in operations:
        if isinstance(operation, ModifyTableOps):
            yield from _flat(operation.ops)
        else:
            yield operation


def test_the_alembic_path_on_the_page_makes_tables_a_store_accepts(tmp_path):
    (alembic_block,) = [b for b in BLOCK.findall(PAGE.read_text()) if "target_metadata" in b]
    assert "op.bulk_insert(casework_meta, [version_row()])" in alembic_block
    path = tmp_path / "alembic.sqlite3"
    db = sa.create_engine(f"sqlite:///{path}")
    with db.begin() as conn:
        context = MigrationContext.configure(conn)
        script = produce_migrations(context, metadata)  # what autogenerate writes
        op = Operations(context)
        assert script.upgrade_ops is not None
        for operation in _flat(script.upgrade_ops.ops):
            op.invoke(operation)
        op.bulk_insert(casework_meta, [version_row()])
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    db.dispose()
    with SQLiteStore(path) as store:
        assert store.schema_version == 6
        engine = Engine([seed.build_workflow()], store=store)
        engine.open(seed.WORKFLOW, "AL-1", actor=seed.OUTREACH)
        assert engine.verify("AL-1").ok


def test_the_changelog_the_docs_show_is_the_one_at_the_root():
    assert (ROOT / "docs" / "changelog.md").read_text() == (ROOT / "CHANGELOG.md").read_text()
