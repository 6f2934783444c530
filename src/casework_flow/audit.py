"""The audit trail: entries, verification, replay, exports and the trail table.

Every step appends an `AuditEntry` chained by SHA-256 to the one before; `verify`
checks a trail link by link (and against a known head), `replay` rebuilds the case from
it, and the exports write it for people outside the case system with personal data
masked by default (JSON Lines and CSV, and event logs for process mining: XES and
OCEL 2.0). Reads of personal fields are logged in the trail, or, where the
engine has an `AccessLog`, in a table of their own outside the hash chain.
"""

from ._access_log import (
    Access,
    AccessLog,
    InMemoryAccessLog,
    PostgresAccessLog,
    SQLiteAccessLog,
)
from ._audit import ABSENT, AuditEntry, ChainHead, Change, EntryKind, Verification, verify
from ._case import MASK
from ._export import export_csv, export_jsonl, read_jsonl
from ._mining import export_ocel, export_xes, stored_trails
from ._replay import replay
from ._table import format_trail

__all__ = [
    "ABSENT",
    "MASK",
    "Access",
    "AccessLog",
    "AuditEntry",
    "ChainHead",
    "Change",
    "EntryKind",
    "InMemoryAccessLog",
    "PostgresAccessLog",
    "SQLiteAccessLog",
    "Verification",
    "export_csv",
    "export_jsonl",
    "export_ocel",
    "export_xes",
    "format_trail",
    "read_jsonl",
    "replay",
    "stored_trails",
    "verify",
]
