"""Rebuilding a case from its trail alone, to prove the trail tells the whole story."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._audit import AuditEntry, ChainHead, verify
from ._calendar import DEFAULT_CALENDAR, Calendar
from ._case import Case
from ._catalog import Catalog
from ._definition import Workflow
from ._evolve import fold

__all__ = ["replay"]


def replay(
    workflows: Workflow | Iterable[Workflow],
    trail: Sequence[AuditEntry],
    *,
    head: ChainHead | None = None,
    calendar: Calendar | None = None,
) -> Case:
    """Rebuild a case from its trail; equal to the stored case when all is well.

    The trail is verified first, then folded with `evolve`, the very function the
    engine commits with: each committed step must be one the workflow defines from the
    state the case was in, and refusals change nothing but the timers a refused timer
    step used up. Pass the engine's ``calendar`` when the workflow has working-day
    deadlines or timers (Monday to Friday, UTC, by default). A case that was migrated
    needs every version its trail passed through: pass them all (any order).

    Raises:
        TrailBroken: if the trail does not verify (against ``head``, if given).
        ReplayError: if the trail does not fit the workflow (or runs on a version not
            given), naming the entry.
    """
    verify(trail, head=head).raise_if_broken()
    given = [workflows] if isinstance(workflows, Workflow) else list(workflows)
    catalog = Catalog(given, calendar=calendar or DEFAULT_CALENDAR)
    return fold(None, trail, catalog=catalog)
