"""What a shell asks the core to do to a case, as values.

A command carries what the caller supplied, already checked for type and shape by the
shell (`_inputs`); whether it is allowed is for `decide` alone to say. One class per
kind of step, so a new shell (async, a host's transaction) builds the same values and
gets the same answers.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from ._case import Actor
from ._frozen import EMPTY, FrozenMap

__all__ = [
    "AnswerTransfer",
    "Approve",
    "Assign",
    "Command",
    "Fire",
    "Migrate",
    "Open",
    "Record",
    "Reject",
    "Transfer",
    "View",
]


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
    """Approve the case's pending request."""

    actor: Actor
    note: str | None = None


@frozen
class Reject:
    """Reject the case's pending request, with a reason."""

    actor: Actor
    reason: str | None


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
class Transfer:
    """Ask another unit to take the case."""

    to_unit: str
    actor: Actor
    reason: str | None
    to_assignee: str | None = None


@frozen
class AnswerTransfer:
    """Accept or refuse the case's waiting transfer, for the receiving unit."""

    accept: bool
    actor: Actor
    reason: str | None = None
    assignee: str | None = None


@frozen
class View:
    """Read the case as ``actor`` may see it (logged where the workflow says so)."""

    actor: Actor
    purpose: str | None = None


@frozen
class Migrate:
    """Move the case to another version of its workflow, into ``to_state``."""

    to_version: int
    state_map: FrozenMap[str]
    actor: Actor
    reason: str | None = None


Command = Fire | Approve | Reject | Record | Assign | Transfer | AnswerTransfer | View | Migrate
"""A command on an existing case (`Open` makes one)."""
