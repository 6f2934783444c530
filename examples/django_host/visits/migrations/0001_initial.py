"""The visit notes table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    """Create VisitNote."""

    initial = True
    dependencies = [("casework_flow", "0001_initial")]
    operations = [
        migrations.CreateModel(
            name="VisitNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("case_id", models.CharField(db_index=True, max_length=64)),
                ("worker", models.CharField(max_length=64)),
                ("text", models.TextField()),
                ("written_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
