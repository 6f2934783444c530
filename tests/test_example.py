"""The seed example runs end to end and shows what the issue asks for."""

from __future__ import annotations

import subprocess
import sys

from casework_flow import SQLiteStore
from casework_flow import seed as demo
from casework_flow.guards import count, evidence, not_actor_of
from casework_flow.testing import always_before, eventually_terminal, never, only_roles, reach

from .conftest import ROOT


def test_the_seed_example_plays_the_story_and_ends_with_a_verified_chain(tmp_path):
    db = tmp_path / "demo.sqlite3"
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "medan_street_beggar.py"), "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "sw-017 tries family_unresponsive: refused" in out
    assert "record_contact_attempt was recorded 1 time; at least 3 needed" in out
    assert "sw-017 tries refer_to_shelter_unit: refused" in out
    assert "sw-017 requested refer_to_shelter_unit; someone else must approve it" in out
    assert "spv-002 approves: the referral goes to the shelter unit" in out
    assert "timer: family_response_14_days" in out
    assert "late 1 day" in out
    assert "sw-017 did handover_done on this case; someone else must do terminate" in out
    assert "Penampungan sementara · Temporary shelter" in out
    assert "Rujuk ke UPT · Refer to the shelter unit" in out
    assert "client_alias='***'" in out
    assert "'R.'" not in out
    assert "Final state: closed_independent (Ditutup: mandiri)" in out
    assert out.rstrip().splitlines()[-1].startswith("Chain verified: 30 entries")
    assert out.rstrip().endswith("replay equals the stored case.")
    assert f"Stored in {db} (SQLite)." in out
    store = SQLiteStore(db)
    assert store.load("MDN-2024-0173").case.state == "closed_independent"
    assert len(store.trail("MDN-2024-0173")) == 30
    store.close()


def test_the_seed_workflow_keeps_the_practice_rules(process_rules):
    """The rules the story is about, proved within 12 steps through the pytest plugin."""
    found = process_rules.explore(
        demo.build_workflow(),
        never(
            reach("referral_pending"),
            unless=(count("record_contact_attempt") >= 3) & evidence("referral_letter"),
        ),
        only_roles("refer_to_shelter_unit", {"supervisor"}),
        always_before("terminate", "complete_follow_up"),
        never(reach("follow_up"), unless=not_actor_of("handover_done")),
        eventually_terminal(),
        depth=12,
    )
    assert {"referral_pending", "follow_up", "closed_reunified"} <= found.reached


def test_the_directory_example_reads_the_hosts_user_table():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "directory_from_user_table.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines() == [
        "assign to sw-021: refused: sw-021 is not active",
        "assign to sw-999: refused: sw-999 is not a worker",
        "assigned to spv-002",
    ]


def test_the_nightly_checkpoint_example_catches_what_the_database_hides():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "nightly_checkpoint.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith("checkpoint of 1 case(s) written to checkpoint-2024")
    assert out[1:] == [
        "the database alone: ok=True",
        (
            "against the checkpoint: MDN-2024-0173 BROKEN: the trail ends at entry 23, but the"
            " checkpoint of 2024-08-25T00:30:00+00:00 holds it at entry 24: entries were removed"
        ),
    ]
