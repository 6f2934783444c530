"""What the host's views call: a visit note and the case's step in one transaction.

The engine is built once per database alias; `engine_on` runs every step in
``transaction.atomic`` on Django's connection, so the note and the step commit together,
and a failure anywhere in the block leaves neither.
"""

from __future__ import annotations

from functools import cache

from django.db import transaction

from casework_flow import Actor, Case, Engine, seed
from casework_flow.contrib.django import engine_on

from .models import VisitNote


@cache
def casework(using: str = "default") -> Engine:
    """The engine on the host's database ``using`` (one per alias, shared by threads)."""
    return engine_on(Engine([seed.build_workflow()], calendar=seed.CALENDAR), using=using)


def open_case(case_id: str, *, actor: Actor, assignee: str, using: str = "default") -> Case:
    """Open a street-beggar case, assigned to a social worker."""
    return casework(using).open(seed.WORKFLOW, case_id, actor=actor, assignee=assignee)


def record_visit(
    case_id: str,
    text: str,
    *,
    worker: Actor,
    then: str | None = None,
    using: str = "default",
) -> VisitNote:
    """Write the note, record the visit and fire ``then``: all of it, or none of it.

    A refusal of ``then`` rolls back the note and the recorded visit with it.
    """
    engine = casework(using)
    with transaction.atomic(using=using):
        note = VisitNote.objects.using(using).create(case_id=case_id, worker=worker.id, text=text)
        engine.record(case_id, "home_visit", actor=worker, data={"note_id": note.pk})
        if then is not None:
            engine.fire(case_id, then, actor=worker)
    return note
