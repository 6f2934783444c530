"""The engine's metrics on OpenTelemetry (``pip install 'casework-flow[otel]'``).

``Engine(..., metrics=OTelMetrics())`` counts commits, refusals and conflicts
(``casework.commits``, ``casework.refusals``, ``casework.conflicts``) and records each
step's duration (``casework.step.duration``, seconds) on the host's meter provider,
with the attributes ``workflow``, ``event`` and ``outcome``; the host configures the
SDK and its exporter as for the rest of its telemetry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import metrics

from .._observe import COMMITS, CONFLICTS, REFUSALS, STEP_SECONDS

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Meter

__all__ = ["OTelMetrics"]

_COUNTERS = {
    COMMITS: "Steps committed",
    REFUSALS: "Steps refused",
    CONFLICTS: "Steps that lost a race with another writer",
}


class OTelMetrics:
    """A `casework_flow.observe.Metrics` on an OpenTelemetry meter.

    Args:
        meter: The meter to create the instruments on; by default the global meter
            provider's ``casework_flow`` meter.
    """

    __slots__ = ("_counters", "_duration")

    def __init__(self, meter: Meter | None = None) -> None:
        meter = meter if meter is not None else metrics.get_meter("casework_flow")
        self._counters: dict[str, Counter] = {
            name: meter.create_counter(name, unit="1", description=text)
            for name, text in _COUNTERS.items()
        }
        self._duration = meter.create_histogram(
            STEP_SECONDS, unit="s", description="Time from a command's start to its commit"
        )

    def add(self, name: str, value: int, attributes: Mapping[str, str]) -> None:
        """Add to one of the engine's counters."""
        self._counters[name].add(value, dict(attributes))

    def record(self, name: str, value: float, attributes: Mapping[str, str]) -> None:
        """Record a step's duration."""
        if name == STEP_SECONDS:
            self._duration.record(value, dict(attributes))
