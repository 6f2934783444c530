"""What the engine tells operators: log records, metrics and who was refused.

Every step ends in one log record on the ``casework_flow`` logger: committed (INFO),
refused (INFO, with the names of the failed checks), or lost to another writer
(DEBUG while it is retried, WARNING when the retries ran out). Each record carries
structured fields as attributes (``case_id``, ``workflow``, ``event``, ``outcome``,
``duration_ms``, and ``revision``, ``attempt`` or ``checks`` where they apply) for a JSON
formatter. No record carries a value of the case's data, personal or not: only ids,
events, states and the names of checks.

A `Metrics` hook, if the host gives one, counts commits, refusals and conflicts and
records each step's duration; `casework_flow.contrib.otel` is one on OpenTelemetry.
A hook that raises is logged and never stops a step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final, Protocol, runtime_checkable

from attrs import frozen

from ._audit import AuditEntry
from ._case import Actor, Case
from ._verdict import Verdict

__all__ = [
    "COMMITS",
    "CONFLICTS",
    "LOGGER",
    "REFUSALS",
    "STEP_SECONDS",
    "Metrics",
    "Observer",
    "RefusalListener",
    "Refused",
]

LOGGER: Final = logging.getLogger("casework_flow")
COMMITS: Final = "casework.commits"
REFUSALS: Final = "casework.refusals"
CONFLICTS: Final = "casework.conflicts"
STEP_SECONDS: Final = "casework.step.duration"


@runtime_checkable
class Metrics(Protocol):
    """Where the engine's counters and timings go (attributes: workflow, event, outcome)."""

    def add(self, name: str, value: int, attributes: Mapping[str, str]) -> None:
        """Add ``value`` to the counter ``name``."""

    def record(self, name: str, value: float, attributes: Mapping[str, str]) -> None:
        """Record one measurement (seconds, for `STEP_SECONDS`)."""


@frozen
class Refused:
    """What a refusal listener receives: who was refused what, and why.

    Attributes:
        case: The case as it stands (a refusal changes nothing but its trail).
        event: The event or command refused (``assign``, ``read``...).
        actor: Who attempted it, when the command names one.
        reasons: Every failed check.
        entries: The refusal's entry as committed (empty when refusals are not
            recorded).
    """

    case: Case
    event: str
    actor: Actor | None
    reasons: tuple[Verdict, ...]
    entries: tuple[AuditEntry, ...]


RefusalListener = Callable[[Refused], object]


class Observer:
    """Writes the log record and the metrics of each step."""

    __slots__ = ("_metrics",)

    def __init__(self, metrics: Metrics | None) -> None:
        self._metrics = metrics

    def _measure(
        self, outcome: str, workflow: str, event: str, seconds: float | None, count: int = 1
    ) -> None:
        if self._metrics is None:
            return
        attributes = {"workflow": workflow, "event": event, "outcome": outcome}
        name = {"committed": COMMITS, "refused": REFUSALS}.get(outcome, CONFLICTS)
        try:
            self._metrics.add(name, count, attributes)
            if seconds is not None:
                self._metrics.record(STEP_SECONDS, seconds, attributes)
        except Exception:
            LOGGER.warning("the metrics hook raised; the step stands", exc_info=True)

    def committed(
        self, case: Case, event: str, seconds: float, entries: int, timer: str | None = None
    ) -> None:
        """A step was committed (``case`` as committed; ``timer`` if a timer fired it)."""
        by = f" by timer {timer}" if timer else ""
        LOGGER.info(
            "%s: %s committed%s at revision %d (%s)", case.id, event, by, case.revision,
            case.state,
            extra=_fields(case, event, "committed", seconds, revision=case.revision,
                          entries=entries, state=case.state, timer=timer),
        )  # fmt: skip
        self._measure("committed", case.workflow, event, seconds)

    def opened_many(self, workflow: str, cases: int, seconds: float) -> None:
        """A batch of cases was opened in one transaction."""
        LOGGER.info(
            "%d cases of %s opened in one batch", cases, workflow,
            extra={"workflow": workflow, "event": "open", "outcome": "committed",
                   "cases": cases, "duration_ms": round(seconds * 1000, 3)},
        )  # fmt: skip
        self._measure("committed", workflow, "open", seconds, cases)

    def refused(self, case: Case, event: str, reasons: tuple[Verdict, ...], seconds: float) -> None:
        """A step was refused (``case`` as it stands)."""
        checks = [v.check for v in reasons]
        LOGGER.info(
            "%s: %s refused in %s (%s)", case.id, event, case.state, ", ".join(checks),
            extra=_fields(case, event, "refused", seconds, checks=checks, state=case.state),
        )  # fmt: skip
        self._measure("refused", case.workflow, event, seconds)

    def conflict(self, case: Case, event: str, attempt: int, *, final: bool) -> None:
        """Another writer got there first; the step is retried unless ``final``."""
        LOGGER.log(
            logging.WARNING if final else logging.DEBUG,
            "%s: %s lost a race with another writer (attempt %d)%s", case.id, event, attempt,
            "; giving up" if final else "; retrying",
            extra=_fields(case, event, "conflict", None, attempt=attempt),
        )  # fmt: skip
        self._measure("conflict", case.workflow, event, None)


def out_of_scope(actor_id: str, what: str, units: tuple[str, ...]) -> None:
    """A queue or count for units the actor does not work in was refused."""
    LOGGER.warning(
        "%s was refused %s of %s: not their units", actor_id, what, ", ".join(units),
        extra={"actor_id": actor_id, "event": what, "outcome": "refused", "units": list(units)},
    )  # fmt: skip


def _fields(
    case: Case, event: str, outcome: str, seconds: float | None, **more: object
) -> dict[str, object]:
    out: dict[str, object] = {
        "case_id": case.id,
        "workflow": case.workflow,
        "event": event,
        "outcome": outcome,
    }
    if seconds is not None:
        out["duration_ms"] = round(seconds * 1000, 3)
    return out | more
