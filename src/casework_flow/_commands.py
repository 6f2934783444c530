"""What a shell asks the core to do to a case, as values.

A command carries what the caller supplied, already checked for type and shape by the
shell (`_inputs`); whether it is allowed is for `decide` alone to say. One class per
kind of step, so a new shell (async, a host's transaction) builds the same values and
gets the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from ._case import Actor, Case
from ._frozen import EMPTY, FrozenMap
from ._handover import HandoverKind

__all__ = [
    "Answer",
    "Approve",
    "Assign",
    "Command",
    "Erase",
    "Fire",
    "LinkCases",
    "Migrate",
    "NewCase",
    "Open",
    "Record",
    "Reject",
    "Send",
    "View",
    "named_people",
]


@frozen
class LinkCases:
    """Link the case to another: its earlier case, its family's case, or the sending case.

    Decided on both cases' snapshots at once (`decide_link`); both commit or neither.
    ``handover`` names, for a referral, the sending case's referral the case answers.
    """

    actor: Actor
    kind: str
    other: str
    handover: str | None = None


@frozen
class NewCase:
    """One case for `Engine.open_many`: its id and what is known at intake.

    Attributes:
        case_id: The host's id for the case; None: the engine makes one (a ULID).
        data: Facts known at intake.
        evidence: Documents on file: kind → reference.
        assignee: The worker who owns it.
        unit: The unit that owns it.
    """

    case_id: str | None
    data: Mapping[str, Any] | None = None
    evidence: Mapping[str, str] | None = None
    assignee: str | None = None
    unit: str | None = None


@frozen
class Open:
    """Open a new case in its workflow's initial state."""

    case_id: str
    workflow: str
    version: int
    actor: Actor
    data: FrozenMap[Any] = EMPTY
    evidence: FrozenMap[str] = EMPTY
    assignee: str | None = None
    unit: str | None = None


@frozen
class Fire:
    """Fire an event: by a person, or by the system for a due ``timer``."""

    event: str
    actor: Actor
    data: FrozenMap[Any] = EMPTY
    evidence: FrozenMap[str] = EMPTY
    reason: str | None = None
    reason_code: str | None = None
    override_by: Actor | None = None
    timer: str | None = None


@frozen
class Approve:
    """Approve the case's request of ``kind`` (None: the only one waiting)."""

    actor: Actor
    note: str | None = None
    kind: str | None = None


@frozen
class Reject:
    """Reject the case's request of ``kind`` (None: the only one waiting), with a reason."""

    actor: Actor
    reason: str | None
    kind: str | None = None


@frozen
class Record:
    """Record data or documents without moving the case."""

    what: str
    actor: Actor
    data: FrozenMap[Any] = EMPTY
    evidence: FrozenMap[str] = EMPTY
    reason: str | None = None


@frozen
class Assign:
    """Give the case to another worker."""

    assignee: str
    actor: Actor
    reason: str | None = None


@frozen
class Send:
    """Send a handover: refer the case, transfer it, or (from outside) ask for it."""

    kind: HandoverKind
    actor: Actor
    reason: str | None
    to_unit: str | None = None
    to_worker: str | None = None
    service: str | None = None
    evidence: FrozenMap[str] = EMPTY
    reason_code: str | None = None
    override_by: Actor | None = None


@frozen
class Answer:
    """Answer a handover: ``accept``, ``reject``, ``done`` (a referral) or ``revoke``.

    ``handover_id`` is the handover's id, or a kind's name (``transfer``) for the open
    handover of that kind.
    """

    handover_id: str
    answer: str
    actor: Actor
    reason: str | None = None
    assignee: str | None = None
    evidence: FrozenMap[str] = EMPTY


@frozen
class Erase:
    """Erase the case's personal values: two people with an erasing role, and a reason.

    ``override`` allows it before the case is closed (a data subject's request). An
    erasure by ``retention`` is the workflow's own, its time up: the system actor alone.
    """

    actor: Actor
    second: Actor
    reason: str | None
    override: bool = False
    retention: bool = False


@frozen
class View:
    """Read the case as ``actor`` may see it (logged where the workflow says so).

    ``in_trail``: log the read as a ``viewed`` entry (False: the shell logs it apart).
    """

    actor: Actor
    purpose: str | None = None
    in_trail: bool = True


@frozen
class Migrate:
    """Move the case to another version of its workflow, into ``to_state``."""

    to_version: int
    state_map: FrozenMap[str]
    actor: Actor
    reason: str | None = None


Command = Fire | Approve | Reject | Record | Assign | Send | Answer | View | Migrate | Erase
"""A command on an existing case (`Open` makes one)."""


def named_people(command: Command | LinkCases, case: Case) -> tuple[str, ...]:
    """The ids of the people a command names, for the shell to look up in a directory.

    For a link, ``case`` is the other case: the sending case holds the referral.
    """
    ids = [command.actor.id]
    if case.assignee:
        ids.append(case.assignee)
    if isinstance(command, Assign):
        ids.append(command.assignee)
    elif isinstance(command, Send) and command.to_worker:
        ids.append(command.to_worker)
    elif isinstance(command, LinkCases) and command.handover:
        h = case.handovers.get(command.handover)
        if h is not None and h.to_worker:
            ids.append(h.to_worker)
    elif isinstance(command, Answer):
        if command.assignee:
            ids.append(command.assignee)
        h = case.handovers.get(command.handover_id) or case.handover(command.handover_id)
        if h is not None and h.to_worker:
            ids.append(h.to_worker)
    return tuple(dict.fromkeys(ids))
