"""The DDL the Django migrations run: the stores' own schema steps, for Django's vendor."""

from __future__ import annotations

from typing import Any, Final

from django.core.exceptions import ImproperlyConfigured

from ...stores import _sql, _waiting

__all__ = [
    "add_feed",
    "add_waiting",
    "create_tables",
    "drop_feed",
    "drop_tables",
    "drop_waiting",
]

_BIG: Final = {"sqlite": "INTEGER", "postgresql": "BIGINT"}
_INITIAL: Final = 4
"""The schema version 0001_initial creates; later versions get migrations of their own."""


def _big(schema_editor: Any) -> str:  # noqa: ANN401 - Django's BaseDatabaseSchemaEditor
    vendor = schema_editor.connection.vendor
    if vendor not in _BIG:
        msg = (
            f"casework_flow keeps its tables on SQLite or PostgreSQL, not {vendor}"
            f" (database alias {schema_editor.connection.alias!r})"
        )
        raise ImproperlyConfigured(msg)
    return _BIG[vendor]


def create_tables(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature
    """Create the tables at schema version 4 and record that version."""
    big = _big(schema_editor)
    schema_editor.execute("CREATE TABLE casework_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for steps in _sql.MIGRATIONS[:_INITIAL]:
        for statement in steps:
            schema_editor.execute(statement.format(big=big))
    schema_editor.execute(
        "INSERT INTO casework_meta (key, value) VALUES (%s, %s)",
        ["schema_version", str(_INITIAL)],
    )


def add_feed(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature
    """Take the tables from schema version 4 to 5: the change feed and its positions."""
    big = _big(schema_editor)
    for statement in _sql.MIGRATIONS[_INITIAL]:
        schema_editor.execute(statement.format(big=big))
    schema_editor.execute(
        "UPDATE casework_meta SET value = %s WHERE key = %s", ["5", "schema_version"]
    )


def drop_feed(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature
    """Take the tables back to schema version 4 (feed positions are lost)."""
    _big(schema_editor)
    for table in ("casework_feed_positions", "casework_feed"):
        schema_editor.execute(f"DROP TABLE {table}")
    schema_editor.execute("DROP INDEX casework_entries_position")
    schema_editor.execute("ALTER TABLE casework_entries DROP COLUMN position")
    schema_editor.execute(
        "UPDATE casework_meta SET value = %s WHERE key = %s", ["4", "schema_version"]
    )


def drop_tables(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature
    """Drop the tables (``migrate casework_flow zero``): every case and trail goes."""
    _big(schema_editor)
    for table in ("casework_entries", "casework_cases", "casework_meta"):
        schema_editor.execute(f"DROP TABLE {table}")


def add_waiting(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature
    """Take the tables from schema version 5 to 6: requests waiting for approval, by role."""
    big = _big(schema_editor)
    for statement in _sql.MIGRATIONS[5]:
        schema_editor.execute(statement.format(big=big))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_sql.WAITING_CASES.format(m="%s"), [_sql.WAITING_LIKE])
        rows = _sql.waiting_rows(cursor.fetchall())
        if rows:
            cursor.executemany(_waiting.INSERT.format(m="%s"), rows)
    schema_editor.execute(
        "UPDATE casework_meta SET value = %s WHERE key = %s", ["6", "schema_version"]
    )


def drop_waiting(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature
    """Take the tables back to schema version 5."""
    _big(schema_editor)
    schema_editor.execute("DROP TABLE casework_waiting")
    for index in ("unit_due", "unit_state", "unit_assignee"):
        schema_editor.execute(f"DROP INDEX casework_cases_{index}")
    schema_editor.execute(
        "UPDATE casework_meta SET value = %s WHERE key = %s", ["5", "schema_version"]
    )
