"""Personal values at rest: how the shell seals what it stores and opens what it shows.

With a key store, a case is stored sealed (its personal values ciphertext, as its trail
has them) and shown open. For each command the shell opens the loaded snapshot for the
pure core, which seals the entries it makes; the case to store is the loaded sealed case
folded over those entries (what replaying the trail gives), and the case to return or
hand to listeners is that case opened. Without a key store, or for a workflow with no
personal fields, every function here gives back what it was given.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ._audit import AuditEntry
from ._case import Case
from ._catalog import Catalog
from ._evolve import fold
from ._keys import KeyStore
from ._sealing import Sealing
from ._snapshot import Snapshot
from ._step import StepResult

__all__ = ["opened", "opened_entries", "sealing_for", "shown", "stored"]


def _personal(catalog: Catalog, cases: list[Case]) -> frozenset[str]:
    return frozenset().union(*(catalog.workflow(c.workflow, c.version).personal for c in cases))


def sealing_for(keys: KeyStore | None, catalog: Catalog, snap: Snapshot) -> Sealing | None:
    """The keys of the snapshot's cases, or None when nothing of them is sealed."""
    if keys is None:
        return None
    cases = [snap.case, *(r.case for r in snap.relatives)]
    personal = _personal(catalog, cases)
    if not personal:
        return None
    return Sealing(personal, {c.id: keys.data_key(c.id) for c in cases})


def opened(snap: Snapshot, sealing: Sealing) -> Snapshot:
    """The snapshot with its case and relatives open, for the pure core."""
    relatives = tuple(attrs.evolve(r, case=sealing.open_case(r.case)) for r in snap.relatives)
    return attrs.evolve(snap, case=sealing.open_case(snap.case), relatives=relatives)


def stored(catalog: Catalog, snap: Snapshot, result: StepResult) -> StepResult:
    """The result with its cases as the store keeps them: the sealed ones, folded."""
    after = fold(snap.case, result.entries, catalog=catalog) if result.entries else snap.case
    loaded = {r.case.id: r.case for r in snap.relatives}
    others = tuple(
        (
            loaded.get(before.id, before),
            attrs.evolve(
                other,
                after=fold(loaded.get(before.id, before), other.entries, catalog=catalog)
                if other.entries
                else other.after,
            ),
        )
        for before, other in result.others
    )
    return attrs.evolve(result, after=after, others=others)


def shown(keys: KeyStore | None, catalog: Catalog, case: Case) -> Case:
    """The case open, as the engine returns it (as it is without a key store)."""
    if keys is None:
        return case
    personal = _personal(catalog, [case])
    if not personal:
        return case
    return Sealing(personal, {case.id: keys.data_key(case.id)}).open_case(case)


def opened_entries(
    keys: KeyStore | None, catalog: Catalog, case: Case, entries: Sequence[AuditEntry]
) -> tuple[AuditEntry, ...]:
    """The case's entries with their personal values open (for a reader who may see them).

    Opened entries are for showing; their hashes are those of the sealed entries.
    """
    if keys is None:
        return tuple(entries)
    personal = _personal(catalog, [case])
    if not personal:
        return tuple(entries)
    sealing = Sealing(personal, {case.id: keys.data_key(case.id)})
    return tuple(sealing.open_entry(e) for e in entries)
