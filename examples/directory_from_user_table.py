"""A worker directory backed by the host's own user table (here in SQLite).

A case system already knows its staff: a ``users`` table with who is active, and a
``memberships`` table with each person's role in each unit. The engine only needs one
method, ``worker(worker_id) -> Worker | None``; this class answers it with two
queries, so assignments, handovers and approvals are checked against the same table
the host's login uses. Run it: ``python examples/directory_from_user_table.py``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from casework_flow import Engine, ManualClock, TransitionRejected
from casework_flow.handovers import Worker
from casework_flow.seed import BINJAI, CALENDAR, MEDAN, SUPERVISOR, WORKER, WORKFLOW, build_workflow

SCHEMA = """
CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL,
                    team TEXT, takes_referrals INTEGER NOT NULL DEFAULT 1);
CREATE TABLE memberships (user_id TEXT REFERENCES users(id), unit TEXT, role TEXT);
"""


class UserTableDirectory:
    """The host's ``users`` and ``memberships`` tables, read as a `Directory`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def worker(self, worker_id: str) -> Worker | None:
        """The user with this id, as a `Worker`; None for an id the table does not hold."""
        row = self._conn.execute(
            "SELECT name, active, team, takes_referrals FROM users WHERE id = ?", (worker_id,)
        ).fetchone()
        if row is None:
            return None
        name, active, team, takes_referrals = row
        roles: dict[str, set[str]] = {}
        for unit, role in self._conn.execute(
            "SELECT unit, role FROM memberships WHERE user_id = ?", (worker_id,)
        ):
            roles.setdefault(unit, set()).add(role)
        receives = {"referral", "transfer", "transfer_request"} if takes_referrals else set()
        return Worker(
            worker_id,
            roles,
            groups={team} if team else set(),
            active=bool(active),
            receives=receives,
            name=name,
        )


def user_table() -> sqlite3.Connection:
    """An in-memory copy of a small office's staff tables."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
        [
            ("sw-017", "Social worker 017", 1, "north", 1),
            ("sw-021", "Social worker 021", 0, "north", 1),
            ("spv-002", "Supervisor 002", 1, "north", 1),
            ("upt-bnj-head", "Head of the Binjai unit", 1, None, 1),
        ],
    )
    conn.executemany(
        "INSERT INTO memberships VALUES (?, ?, ?)",
        [
            ("sw-017", MEDAN, "social_worker"),
            ("sw-021", MEDAN, "social_worker"),
            ("spv-002", MEDAN, "supervisor"),
            ("upt-bnj-head", BINJAI, "shelter_head"),
        ],
    )
    return conn


def main() -> None:
    """Open the seed case with the table as the directory, and show two refusals."""
    directory = UserTableDirectory(user_table())
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    engine = Engine([build_workflow()], clock=clock, calendar=CALENDAR, directory=directory)
    engine.open(WORKFLOW, "MDN-2024-0174", actor=WORKER, assignee=WORKER.id, unit=MEDAN)
    for assignee in ("sw-021", "sw-999"):
        try:
            engine.assign("MDN-2024-0174", assignee, actor=SUPERVISOR)
        except TransitionRejected as exc:
            print(f"assign to {assignee}: refused: {exc.reasons[0].why}")
    case = engine.assign("MDN-2024-0174", "spv-002", actor=SUPERVISOR, reason="Cover.")
    print(f"assigned to {case.assignee}")


if __name__ == "__main__":
    main()
