"""What verifying a stored case checks, written once for one case and for a whole store.

A stored case is sound when every entry links to the one before it and belongs to the
case, the trail ends exactly at the head its row records, the stored case is the fold of
its trail, and, for each checkpoint given, the trail still holds the entry the
checkpoint signed for it. A case the checkpoint does not hold must have been opened
after it; a case it holds must still be there.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from attrs import frozen

from ._audit import AuditEntry, Verification, verify
from ._case import Case
from ._catalog import Catalog
from ._checkpoint import Checkpoint
from ._evolve import fold
from .exceptions import ReplayError, UnknownWorkflow
from .stores import Stored

__all__ = ["StoreVerification", "against_checkpoint", "check_stored", "missing_case", "stray_trail"]


@frozen
class StoreVerification:
    """The result of `Engine.verify_store`.

    Attributes:
        ok: Whether every case verified (and, with checkpoints, none is missing).
        checked: How many stored cases were checked.
        broken: One `Verification` per case that failed, in the store's order.
    """

    ok: bool
    checked: int
    broken: tuple[Verification, ...]

    def raise_if_broken(self) -> None:
        """Raise `TrailBroken` for the first broken case, if any."""
        for failed in self.broken:
            failed.raise_if_broken()


def _fold_problem(
    catalog: Catalog, case: Case, trail: Sequence[AuditEntry]
) -> tuple[int | None, str] | None:
    try:
        folded = fold(None, trail, catalog=catalog)
    except (ReplayError, UnknownWorkflow) as exc:
        return (exc.seq if isinstance(exc, ReplayError) else None), exc.message
    if folded == case:
        return None
    fields = [
        f.name for f in attrs.fields(Case) if getattr(folded, f.name) != getattr(case, f.name)
    ]
    return None, f"the stored case differs from the fold of its trail in {', '.join(fields)}"


def against_checkpoint(
    trail: Sequence[AuditEntry], case_id: str, checkpoint: Checkpoint
) -> tuple[int, str] | None:
    """Where a verified trail departs from what ``checkpoint`` signed for its case."""
    taken = checkpoint.at.isoformat()
    signed = checkpoint.head_of(case_id)
    if signed is None:
        opened = trail[0].at
        if opened < checkpoint.at:
            return 1, (
                f"it was opened at {opened.isoformat()}, before the checkpoint of {taken},"
                " which does not hold it: it was added afterwards"
            )
        return None
    if len(trail) < signed.seq:
        return len(trail) + 1, (
            f"the trail ends at entry {len(trail)}, but the checkpoint of {taken} holds it at"
            f" entry {signed.seq}: entries were removed"
        )
    if trail[signed.seq - 1].hash != signed.hash:
        return signed.seq, (
            f"entry {signed.seq} is not the one the checkpoint of {taken} signed:"
            " the trail was rewritten"
        )
    return None


def check_stored(
    catalog: Catalog, stored: Stored, checkpoints: Sequence[Checkpoint] = ()
) -> Verification:
    """Verify one stored case: chain, head, fold, and each checkpoint."""
    case_id = stored.case_id
    if stored.problem is not None:
        return Verification(
            ok=False,
            case_id=case_id,
            entries=len(stored.trail),
            broken_at=stored.problem.seq,
            problem=stored.problem.message,
        )
    checked = verify(stored.trail, head=stored.head, case_id=case_id)
    if not checked.ok or stored.case is None:
        return checked
    found = _fold_problem(catalog, stored.case, stored.trail)
    for checkpoint in checkpoints:
        if found is not None:
            break
        found = against_checkpoint(stored.trail, case_id, checkpoint)
    if found is None:
        return checked
    return attrs.evolve(checked, ok=False, broken_at=found[0], problem=found[1])


def missing_case(case_id: str, checkpoint: Checkpoint) -> Verification:
    """The failure for a case a checkpoint holds that the store no longer has."""
    signed = checkpoint.head_of(case_id)
    seq = signed.seq if signed is not None else 1
    why = (
        f"the checkpoint of {checkpoint.at.isoformat()} holds this case at entry {seq},"
        " but the store has no such case: it was deleted"
    )
    return Verification(ok=False, case_id=case_id, entries=0, broken_at=1, problem=why)


def stray_trail(case_id: str) -> Verification:
    """The failure for entries that no case row owns."""
    why = "the store holds entries of this case but no case row: the case was deleted"
    return Verification(ok=False, case_id=case_id, entries=0, broken_at=1, problem=why)
