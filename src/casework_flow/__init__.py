"""casework_flow: social-work casework as guarded state machines with a verifiable record.

Define a workflow (states, transitions, guards that explain themselves), open cases on
it through an `Engine`, fire events, and every step lands in a hash-chained audit trail
that `verify` checks and `replay` rebuilds the case from.

The top level holds what a host needs first. Families a host imports by name live in
public submodules: `casework_flow.guards`, `casework_flow.stores`,
`casework_flow.files`, `casework_flow.handovers`, `casework_flow.time`, `casework_flow.audit`,
`casework_flow.checks`, `casework_flow.migration`, `casework_flow.testing` and
`casework_flow.exceptions`.
"""

from ._async_engine import AsyncEngine
from ._audit import AuditEntry, EntryKind, verify
from ._calendar import Calendar
from ._case import Actor, Case, CaseView
from ._check import check_workflow
from ._clock import ManualClock
from ._commands import NewCase
from ._compiled import Decision
from ._definition import Approval, ConsentOverride, HandoverRule, State, Transition, Workflow
from ._engine import Engine
from ._files import load_workflow
from ._handover import Handover
from ._replay import replay
from ._requirements import Requirement
from ._shell import Committed
from ._timing import Deadline, Timer
from .exceptions import (
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    TransitionRejected,
    UnknownCase,
)
from .stores import InMemoryStore, PostgresStore, SQLiteStore

__all__ = [
    "Actor",
    "Approval",
    "AsyncEngine",
    "AuditEntry",
    "Calendar",
    "Case",
    "CaseView",
    "CaseworkError",
    "Committed",
    "ConcurrentModification",
    "ConsentOverride",
    "Deadline",
    "Decision",
    "Engine",
    "EntryKind",
    "Handover",
    "HandoverRule",
    "InMemoryStore",
    "InvalidInput",
    "ManualClock",
    "NewCase",
    "PostgresStore",
    "Requirement",
    "SQLiteStore",
    "State",
    "Timer",
    "Transition",
    "TransitionRejected",
    "UnknownCase",
    "Workflow",
    "check_workflow",
    "load_workflow",
    "replay",
    "verify",
]
