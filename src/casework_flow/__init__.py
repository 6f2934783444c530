"""casework_flow: social-work casework as guarded state machines with a verifiable record.

Define a workflow (states, transitions, guards that explain themselves), open cases on
it through an `Engine`, fire events, and every step lands in a hash-chained audit trail
that `verify` checks and `replay` rebuilds the case from.
"""

from ._audit import ABSENT, AuditEntry, ChainHead, Change, EntryKind, Verification, verify
from ._calendar import Calendar, load_holidays
from ._case import MASK, Actor, Case, CaseView, Pending, Transfer
from ._check import Finding, check_workflow
from ._clock import Clock, ManualClock, system_clock
from ._compiled import Decision
from ._definition import Approval, ConsentOverride, State, Transition, Workflow
from ._diagram import to_dot, to_mermaid
from ._due import Due, DueTimer, Outcome, Overdue, OverdueReport, RunReport, TimerRun
from ._engine import Engine
from ._export import export_csv, export_jsonl, read_jsonl
from ._files import (
    dump_workflow,
    load_workflow,
    loads_workflow,
    workflow_from_dict,
    workflow_to_dict,
)
from ._frozen import FrozenMap
from ._guards import (
    Guard,
    GuardContext,
    Measure,
    always,
    check,
    consent,
    count,
    evidence,
    fact,
    not_actor_of,
    not_assignee,
    span,
    time_in_state,
    time_since_opened,
)
from ._migration import MigrationItem, MigrationPlan, MigrationReport
from ._replay import replay
from ._shell import Committed
from ._table import format_trail
from ._timing import Deadline, DeadlineClock, Timer
from ._verdict import CheckKind, Verdict
from .exceptions import (
    CaseExists,
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    ListenerFailed,
    Problem,
    ReplayError,
    StoreError,
    TrailBroken,
    TransitionRejected,
    UnknownCase,
    UnknownEvent,
    UnknownWorkflow,
    WorkflowError,
)
from .stores import InMemoryStore, Page, PostgresStore, Query, Snapshot, SQLiteStore, Store

__all__ = [
    "ABSENT",
    "MASK",
    "Actor",
    "Approval",
    "AuditEntry",
    "Calendar",
    "Case",
    "CaseExists",
    "CaseView",
    "CaseworkError",
    "ChainHead",
    "Change",
    "CheckKind",
    "Clock",
    "Committed",
    "ConcurrentModification",
    "ConsentOverride",
    "Deadline",
    "DeadlineClock",
    "Decision",
    "Due",
    "DueTimer",
    "Engine",
    "EntryKind",
    "Finding",
    "FrozenMap",
    "Guard",
    "GuardContext",
    "InMemoryStore",
    "InvalidInput",
    "ListenerFailed",
    "ManualClock",
    "Measure",
    "MigrationItem",
    "MigrationPlan",
    "MigrationReport",
    "Outcome",
    "Overdue",
    "OverdueReport",
    "Page",
    "Pending",
    "PostgresStore",
    "Problem",
    "Query",
    "ReplayError",
    "RunReport",
    "SQLiteStore",
    "Snapshot",
    "State",
    "Store",
    "StoreError",
    "Timer",
    "TimerRun",
    "TrailBroken",
    "Transfer",
    "Transition",
    "TransitionRejected",
    "UnknownCase",
    "UnknownEvent",
    "UnknownWorkflow",
    "Verdict",
    "Verification",
    "Workflow",
    "WorkflowError",
    "always",
    "check",
    "check_workflow",
    "consent",
    "count",
    "dump_workflow",
    "evidence",
    "export_csv",
    "export_jsonl",
    "fact",
    "format_trail",
    "load_holidays",
    "load_workflow",
    "loads_workflow",
    "not_actor_of",
    "not_assignee",
    "read_jsonl",
    "replay",
    "span",
    "system_clock",
    "time_in_state",
    "time_since_opened",
    "to_dot",
    "to_mermaid",
    "verify",
    "workflow_from_dict",
    "workflow_to_dict",
]
