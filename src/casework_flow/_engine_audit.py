"""The engine's audit commands: verify a case or the whole store, and take checkpoints.

These only read: they load what the store holds, hand it to `_verification`, and, for a
checkpoint, sign the heads and give the result to the host's sink. The rules of what
counts as sound live in `_verification` and `_audit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import _inputs
from ._audit import Verification
from ._checkpoint import CaseHead, Checkpoint, sign_checkpoint
from ._shell import Shell
from ._verification import StoreVerification, check_stored, missing_case, stray_trail
from .exceptions import StoreError
from .stores import Stored
from .stores._protocol import every_stored

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["Audits", "CheckpointSink"]

CheckpointSink = Callable[[Checkpoint], Any]
"""Where `Engine.checkpoint` hands a new checkpoint: a `CheckpointDirectory`, or any
callable that keeps it outside the database."""

_SCAN_PAGE = 500


def _checkpoints(given: Checkpoint | Sequence[Checkpoint] | None) -> tuple[Checkpoint, ...]:
    if given is None:
        return ()
    if isinstance(given, Checkpoint):
        return (given,)
    return tuple(given)


class Audits(Shell):
    """Verification and checkpoints, mixed into `Engine`."""

    def verify(
        self, case_id: str, *, checkpoint: Checkpoint | Sequence[Checkpoint] | None = None
    ) -> Verification:
        """Verify everything the store holds of a case, and against checkpoints if given.

        Every stored entry must link to the one before it and belong to this case, the
        trail must end exactly at the head the store reports (nothing removed from the
        end, nothing added after it), and the stored case must be the fold of its
        trail. An unreadable row is reported as the place the trail broke. With a
        checkpoint (checked against its key first, see `read_checkpoint`), the trail
        must still hold the entry the checkpoint signed for the case, which catches a
        consistent rewrite of trail, head and case together.

        Raises:
            UnknownCase: if there is no such case.
        """
        case_id = _inputs.case_id(case_id)
        try:
            snap = self._store.load(case_id)
            trail = tuple(self._store.trail(case_id))
        except StoreError as exc:
            if exc.seq is None:
                raise
            return Verification(False, case_id, 0, broken_at=exc.seq, problem=exc.message)  # noqa: FBT003
        stored = Stored(case_id, snap.head, snap.case, trail)
        return check_stored(self._catalog, stored, _checkpoints(checkpoint))

    def verify_store(
        self, *, checkpoint: Checkpoint | Sequence[Checkpoint] | None = None
    ) -> StoreVerification:
        """Verify every stored case, a page at a time, and against checkpoints if given.

        Each case is checked as `verify` checks one. With checkpoints, every case a
        checkpoint holds must still be stored, and a case it does not hold must have
        been opened after it. Entries that no case row owns are reported too.
        """
        checkpoints = _checkpoints(checkpoint)
        broken: list[Verification] = []
        seen: set[str] = set()
        checked = 0
        for stored in every_stored(self._store, page=_SCAN_PAGE):
            result = check_stored(self._catalog, stored, checkpoints)
            if not result.ok:
                broken.append(result)
            if checkpoints:
                seen.add(stored.case_id)
            checked += 1
        broken.extend(stray_trail(case_id) for case_id in self._store.stray_trails())
        strays = {b.case_id for b in broken}
        for cp in checkpoints:
            broken.extend(
                missing_case(h.case_id, cp)
                for h in cp.heads
                if h.case_id not in seen and h.case_id not in strays
            )
        return StoreVerification(not broken, checked, tuple(broken))

    def checkpoint(
        self, key: Ed25519PrivateKey, *, sink: CheckpointSink | None = None
    ) -> Checkpoint:
        """Sign every case's head as it is now, and hand the checkpoint to ``sink``.

        The time is the engine clock's, read before the heads. Keep the checkpoint
        where the database's users cannot write (``sink`` is a `CheckpointDirectory`
        on another machine, an object-store upload, a mail); keep ``key`` off the
        database server. Take one as often as a rewrite may go unnoticed (hourly, or
        after each batch); each costs one read of every case's head.
        """
        at = self._now()
        heads = [CaseHead(case_id, head.seq, head.hash) for case_id, head in self._store.heads()]
        made = sign_checkpoint(heads, at, key)
        if sink is not None:
            sink(made)
        return made
