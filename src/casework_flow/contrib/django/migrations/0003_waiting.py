"""Schema version 6: requests waiting for approval, by role, for approvers' queues."""

from __future__ import annotations

from django.db import migrations

from .._schema import add_waiting, drop_waiting


class Migration(migrations.Migration):
    """Add casework_waiting and fill it from the cases that wait for approval."""

    dependencies = [("casework_flow", "0002_feed")]
    operations = [migrations.RunPython(add_waiting, drop_waiting)]
