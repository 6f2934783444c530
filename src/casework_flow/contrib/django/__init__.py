"""casework_flow inside a Django project: Django's connection and transaction hold the steps.

Add ``"casework_flow.contrib.django"`` to ``INSTALLED_APPS`` and run ``migrate``: its
migrations create the casework tables in the project's database, so they follow the
project's migrations, backups and test database (pytest-django's and Django's test
rollback covers them). Then::

    from casework_flow import Engine
    from casework_flow.contrib.django import engine_on

    casework = engine_on(Engine(workflows))  # once, at start-up

    with transaction.atomic():
        VisitNote.objects.create(case=case_id, text=text)
        casework.fire(case_id, "refer_to_shelter", actor=worker)

Each step runs in ``transaction.atomic(using=...)`` on the thread's own connection for
that alias, so it commits or rolls back with the host's outer block; listeners run
through ``transaction.on_commit``. SQLite and PostgreSQL (psycopg 3) are supported.
"""

from ._store import engine_on, joining

__all__ = ["engine_on", "joining"]
