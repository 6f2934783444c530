"""The Django app that owns the casework tables (their migrations live here)."""

from __future__ import annotations

from django.apps import AppConfig


class CaseworkFlowConfig(AppConfig):
    """Listed as ``"casework_flow.contrib.django"``; its label is ``casework_flow``."""

    name = "casework_flow.contrib.django"
    label = "casework_flow"
    verbose_name = "casework_flow"
