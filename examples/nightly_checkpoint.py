"""A nightly checkpoint into a separate directory, and the morning check against it.

The case system's database is one SQLite file; the checkpoints go to another directory
(in production, another machine or a write-once mount the database's administrators
cannot change), signed with a key kept beside them, not beside the database. Overnight
someone with write access rewrites a case consistently (trail, hashes, head and case
row): the database alone still looks sound, the checkpoint does not.

Run it: ``python examples/nightly_checkpoint.py`` (needs the ``checkpoints`` extra).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from casework_flow import Engine, ManualClock, SQLiteStore, replay
from casework_flow.checkpoints import CheckpointDirectory, generate_keys, load_public_key
from casework_flow.seed import CALENDAR, CASE_ID, build_workflow, play_happy_path


def main() -> None:
    """Play the seed case, checkpoint it, tamper with the database, check again."""
    root = Path(tempfile.mkdtemp(prefix="casework-nightly-"))
    database = root / "db" / "cases.sqlite3"
    vault = root / "vault"
    database.parent.mkdir()
    vault.mkdir(mode=0o700)
    key = generate_keys(vault / "checkpoint.pem", vault / "checkpoint.pub")
    clock = ManualClock(datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    with SQLiteStore(database) as store:
        engine = Engine([build_workflow()], store=store, clock=clock, calendar=CALENDAR)
        play_happy_path(engine, clock)

        nightly = CheckpointDirectory(vault / "checkpoints")
        taken = engine.checkpoint(key, sink=nightly)
        print(f"checkpoint of {taken.size} case(s) written to {nightly.files()[-1].name}")

        _rewrite_the_last_step(database, engine)
        print(f"the database alone: ok={engine.verify(CASE_ID).ok}")

        public = load_public_key(vault / "checkpoint.pub")
        checked = engine.verify_store(checkpoint=nightly.latest(public))
        for broken in checked.broken:
            print(f"against the checkpoint: {broken.case_id} BROKEN: {broken.problem}")


def _rewrite_the_last_step(database: Path, engine: Engine) -> None:
    """What an administrator could do: drop the last step, and make row and head agree."""
    kept = engine.trail(CASE_ID)[:-1]
    case = replay(build_workflow(), kept, calendar=CALENDAR)
    with sqlite3.connect(database) as conn:
        conn.execute(
            "DELETE FROM casework_entries WHERE case_id = ? AND seq > ?", (CASE_ID, len(kept))
        )
        conn.execute(
            "UPDATE casework_cases SET head_seq = ?, head_hash = ?, state = ?, revision = ?,"
            " body = ? WHERE id = ?",
            (
                kept[-1].seq,
                kept[-1].hash,
                case.state,
                case.revision,
                json.dumps(case.to_json()),
                CASE_ID,
            ),
        )


if __name__ == "__main__":
    main()
