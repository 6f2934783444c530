"""The case a trail leaves, folded once per beginning: what the kit's rules read.

The tools check rules after every step of trails they built themselves, and the trails
of one search share their beginnings; the folds are kept by the hash of each trail's
last entry, on a catalog compiled once per workflow.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._audit import AuditEntry
from .._case import Case
from .._catalog import Catalog
from .._definition import Workflow
from .._evolve import fold

__all__ = ["_KEPT", "_catalog", "_folded"]

_KEPT = 64
_FOLDS_KEPT = 20_000
_CATALOGS: dict[int, tuple[Workflow, Catalog, dict[str, Case]]] = {}


def _known(workflow: Workflow) -> tuple[Workflow, Catalog, dict[str, Case]]:
    known = _CATALOGS.get(id(workflow))
    if known is None or known[0] is not workflow:
        if len(_CATALOGS) > _KEPT:
            _CATALOGS.clear()
        known = _CATALOGS[id(workflow)] = (workflow, Catalog([workflow]), {})
    return known


def _catalog(workflow: Workflow) -> Catalog:
    """The catalog the folds of ``workflow`` use, compiled once."""
    return _known(workflow)[1]


def _folded(workflow: Workflow, trail: Sequence[AuditEntry]) -> Case:
    """The case ``trail`` leaves, folded as `replay` does, on a catalog compiled once.

    The tools check rules after every step of trails they built themselves, and the
    trails of one search share their beginnings; so the folds are kept by the hash of
    their last entry (which covers every entry before it) and a check folds only the
    entries past the longest beginning already folded.
    """
    _, catalog, folds = _known(workflow)
    start, case = 0, None
    for i in range(len(trail) - 1, -1, -1):
        found = folds.get(trail[i].hash)
        if found is not None:
            start, case = i + 1, found
            break
    if case is not None and start == len(trail):
        return case
    case = fold(case, trail[start:], catalog=catalog)
    if len(folds) > _FOLDS_KEPT:
        folds.clear()
    folds[trail[-1].hash] = case
    return case
