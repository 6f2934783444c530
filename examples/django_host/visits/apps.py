"""The visits app."""

from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Visit notes."""

    name = "visits"
    default_auto_field = "django.db.models.BigAutoField"
