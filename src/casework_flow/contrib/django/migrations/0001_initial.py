"""The casework tables at schema version 4, as `SQLiteStore` and `PostgresStore` make them."""

from __future__ import annotations

from django.db import migrations

from .._schema import create_tables, drop_tables


class Migration(migrations.Migration):
    """Create casework_meta, casework_cases and casework_entries, with their indexes."""

    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunPython(create_tables, drop_tables)]
