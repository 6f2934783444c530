"""What the engine tells operators: log records, metrics and refusal listeners.

Each step writes one record on the ``casework_flow`` logger with structured fields
(``case_id``, ``workflow``, ``event``, ``outcome``, ``duration_ms``...) and never a value
of the case's data; `Engine(metrics=...)` takes a `Metrics` hook (counters `COMMITS`,
`REFUSALS`, `CONFLICTS`, the histogram `STEP_SECONDS`); `Engine.on_refusal` hands each
refusal to a listener as a `Refused`.
"""

from ._observe import COMMITS, CONFLICTS, LOGGER, REFUSALS, STEP_SECONDS, Metrics, Refused

__all__ = ["COMMITS", "CONFLICTS", "LOGGER", "REFUSALS", "STEP_SECONDS", "Metrics", "Refused"]
