"""The registry of workflow versions a shell serves, each compiled once.

The pure core asks it for a case's workflow version (and, for a migration or a replay
across versions, the others of the same name) and for the calendar that working-day
deadlines and timers count on. It holds definitions only, never cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._calendar import DEFAULT_CALENDAR, Calendar
from ._compiled import CompiledWorkflow
from ._definition import Workflow
from .exceptions import InvalidInput, UnknownWorkflow, WorkflowError

__all__ = ["Catalog"]


class Catalog:
    """Workflow versions by name and version, compiled, with the calendar time counts on.

    Args:
        workflows: The versions to register now.
        calendar: Working days and holidays (Monday to Friday in UTC by default).
    """

    __slots__ = ("_compiled", "_history", "_latest", "calendar")

    def __init__(
        self, workflows: Iterable[Workflow] = (), *, calendar: Calendar = DEFAULT_CALENDAR
    ) -> None:
        if not isinstance(calendar, Calendar):
            raise InvalidInput("calendar", f"expected a Calendar, got {type(calendar).__name__}")
        self.calendar = calendar
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        self._latest: dict[str, int] = {}
        self._history: frozenset[tuple[str, int]] = frozenset()
        for wf in workflows:
            self.register(wf)

    def __len__(self) -> int:
        return len(self._compiled)

    def register(self, workflow: Workflow) -> None:
        """Register (and compile) a workflow version.

        Raises:
            WorkflowError: if a different definition is registered under the same name
                and version; registering the same one again does nothing.
        """
        if not isinstance(workflow, Workflow):
            raise InvalidInput("workflow", f"expected a Workflow, got {type(workflow).__name__}")
        known = self._compiled.get(workflow.key)
        if known is not None:
            if known.workflow != workflow:
                problem = (
                    f"version {workflow.version} is already registered with another"
                    " definition; give changes a new version"
                )
                raise WorkflowError(workflow.name, [problem])
            return
        compiled = CompiledWorkflow(workflow)
        self._compiled[workflow.key] = compiled
        self._latest[workflow.name] = max(workflow.version, self._latest.get(workflow.name, 0))
        if compiled.reads_history:
            self._history = self._history | {workflow.key}

    def compiled(self, name: str, version: int | None = None) -> CompiledWorkflow:
        """The compiled version (the latest unless one is given).

        Raises:
            UnknownWorkflow: if no such name or version is registered.
        """
        v = self._latest.get(name) if version is None else version
        found = self._compiled.get((name, v)) if v is not None else None
        if found is None:
            raise UnknownWorkflow(name, version, sorted(self._compiled))
        return found

    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """The definition of a registered version (the latest unless one is given)."""
        return self.compiled(name, version).workflow

    def all(self) -> tuple[Workflow, ...]:
        """Every registered version of every workflow, by name then version."""
        return tuple(c.workflow for _, c in sorted(self._compiled.items()))

    def versions(self, name: str) -> tuple[Workflow, ...]:
        """Every registered version of ``name``, oldest first."""
        return tuple(c.workflow for (n, _), c in sorted(self._compiled.items()) if n == name)

    @property
    def history_keys(self) -> frozenset[tuple[str, int]]:
        """The (name, version) of every workflow whose guards read the case's past."""
        return self._history
