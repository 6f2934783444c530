"""Handovers, approvals by kind and the worker directory: the names a host imports.

A case holds its handovers (`Handover`: referrals, transfers, transfer requests) and its
requests waiting for approval (`Pending`), one per approval kind. A workflow declares per handover
kind a `HandoverRule`, and per approval what a move or a transfer does to a waiting
request (`OnMove`, `OnTransfer`). The engine checks the people a command names through
a `Directory` the host implements (`InMemoryDirectory` for tests and small hosts).
"""

from ._case import Pending
from ._definition import AssignScope
from ._directory import Directory, InMemoryDirectory, Roster, Worker
from ._handover import OPEN_STATUSES, Handover, HandoverKind, HandoverStatus, OnClose, OnTransfer
from ._parts import HandoverRule, OnMove

__all__ = [
    "OPEN_STATUSES",
    "AssignScope",
    "Directory",
    "Handover",
    "HandoverKind",
    "HandoverRule",
    "HandoverStatus",
    "InMemoryDirectory",
    "OnClose",
    "OnMove",
    "OnTransfer",
    "Pending",
    "Roster",
    "Worker",
]
