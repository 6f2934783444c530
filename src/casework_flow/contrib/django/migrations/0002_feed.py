"""Schema version 5: the change feed (each entry's position) and consumers' positions."""

from __future__ import annotations

from django.db import migrations

from .._schema import add_feed, drop_feed


class Migration(migrations.Migration):
    """Number every entry, add casework_feed and casework_feed_positions."""

    dependencies = [("casework_flow", "0001_initial")]
    operations = [migrations.RunPython(add_feed, drop_feed)]
