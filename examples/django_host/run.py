"""The Django host end to end: migrate, open a case, a visit with its note, a failed one.

    python examples/django_host/run.py

Uses ``db.sqlite3`` beside this file (``CASEWORK_DJANGO_DB`` to choose another file,
``CASEWORK_DJANGO_PG`` for PostgreSQL).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "host.settings")

import django

django.setup()

from django.core.management import call_command
from visits.models import VisitNote
from visits.services import casework, open_case, record_visit

from casework_flow import seed
from casework_flow.exceptions import TransitionRejected


def main() -> None:
    """Play one case through the host's service functions and print what was kept."""
    call_command("migrate", verbosity=0)
    case_id = f"MDN-DJ-{VisitNote.objects.count() + 1:04d}"
    open_case(case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
    record_visit(case_id, "Met Budi at the market; agreed to an assessment.", worker=seed.WORKER)
    try:
        record_visit(case_id, "Wants to close the case.", worker=seed.WORKER, then="terminate")
    except TransitionRejected as refused:
        print(f"refused, and the note was not kept either: {refused.reasons[0].why}")
    notes = VisitNote.objects.filter(case_id=case_id).count()
    trail = casework().trail(case_id)
    print(
        f"{case_id}: {notes} note, {len(trail)} entries, verified={casework().verify(case_id).ok}"
    )


if __name__ == "__main__":
    main()
