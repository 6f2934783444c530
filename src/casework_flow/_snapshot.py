"""What a shell reads for one step, as one value: a case, its head, history, relatives."""

from __future__ import annotations

from attrs import frozen

from ._audit import ChainHead
from ._case import Case
from ._history import NO_HISTORY, History

__all__ = ["Snapshot"]


@frozen
class Snapshot:
    """A case as stored, with the head of its trail and, when asked for, its history.

    Everything the pure core needs for one step, read together: the history is the
    trail up to ``head`` and no further, so a step decided on a snapshot sees one
    consistent moment of the case.

    Attributes:
        case: The case at its latest revision.
        head: The last entry of its trail (which may be a refusal).
        history: The trail up to ``head``, when the load asked for it; empty otherwise.
        relatives: The member cases a family's case holds whose kind says what closing
            it does to them (refuse or close), loaded with it: a step that closes the
            case decides on them as they were read here.
    """

    case: Case
    head: ChainHead
    history: History = NO_HISTORY
    relatives: tuple[Snapshot, ...] = ()
