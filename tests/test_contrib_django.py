"""casework_flow.contrib.django and examples/django_host, on SQLite and PostgreSQL.

Django is configured by ``tests/conftest.py`` with the example host's apps; pytest-django
builds each alias's test database through the migrations, the casework tables included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.db.utils import IntegrityError

from casework_flow import Engine, ManualClock, seed
from casework_flow.contrib.django import engine_on, joining
from casework_flow.exceptions import InvalidInput, StoreError, TransitionRejected

from .conftest import ROOT, START
from .stores import UNDER_CI, pg_available, pg_schema, run_killed

EXAMPLE = ROOT / "examples" / "django_host"
ALIASES = ["default", "pg"]
pytestmark = pytest.mark.django_db(databases=ALIASES)


@pytest.fixture(params=ALIASES)
def using(request: pytest.FixtureRequest) -> str:
    alias: str = request.param
    if alias not in settings.DATABASES:
        why = pg_available() or "PostgreSQL is not configured"
        if UNDER_CI:
            pytest.fail(why)
        pytest.skip(why)
    return alias


def _count(using: str, table: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        return int(cursor.fetchone()[0])


def _app(heard: list[str] | None = None) -> Engine:
    app = Engine([seed.build_workflow()], clock=ManualClock(START))
    if heard is not None:
        app.on_commit(lambda step: heard.append(f"{step.after.id}:{step.after.revision}"))
    return app


def _id() -> str:
    return f"DJ-{uuid.uuid4().hex[:8]}"


def test_a_request_waits_in_the_supervisors_queue_on_the_hosts_connection(using):
    clock = ManualClock(START)
    app = Engine([seed.build_workflow()], clock=clock, calendar=seed.CALENDAR)
    engine = engine_on(app, using=using)
    case_id = _id()
    engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, unit=seed.MEDAN,
                assignee=seed.WORKER.id, version=1)  # fmt: skip
    for step in seed.HAPPY_PATH[:10]:
        clock.advance(timedelta(days=step[-1], hours=1))
        seed.take(engine, case_id, step)
    assert [c.id for c in engine.awaiting_decision(seed.SUPERVISOR).cases] == [case_id]
    assert _count(using, "casework_waiting") == 1
    engine.approve(case_id, actor=seed.SUPERVISOR)
    assert engine.count_awaiting(seed.SUPERVISOR) == 0
    assert _count(using, "casework_waiting") == 0


def test_the_migrations_made_the_tables_inside_the_test_database(using):
    assert _count(using, "casework_cases") == 0, "each test starts empty: the rollback covers it"
    engine = engine_on(_app(), using=using)
    engine.open(seed.WORKFLOW, "DJ-1", actor=seed.OUTREACH)
    assert joining(using).schema_version == 6  # type: ignore[attr-defined]
    assert connections[using].in_atomic_block, "pytest-django's test transaction holds the step"
    assert _count(using, "casework_cases") == 1


def test_a_second_test_sees_nothing_of_the_first(using):
    assert _count(using, "casework_cases") == 0
    assert _count(using, "casework_entries") == 0


def test_the_note_and_the_step_commit_together_and_listeners_wait(
    using, django_capture_on_commit_callbacks
):
    from visits.models import VisitNote  # noqa: PLC0415 - Django's apps are ready only now

    heard: list[str] = []
    engine = engine_on(_app(heard), using=using)
    with django_capture_on_commit_callbacks(using=using, execute=True) as callbacks:
        with transaction.atomic(using=using):
            engine.open(seed.WORKFLOW, "DJ-2", actor=seed.OUTREACH, assignee=seed.WORKER.id)
            VisitNote.objects.using(using).create(case_id="DJ-2", worker="sw-017", text="t")
            engine.record("DJ-2", "home_visit", actor=seed.WORKER)
        assert heard == [], "listeners wait for the outermost commit"
    assert len(callbacks) == 2
    assert heard == ["DJ-2:1", "DJ-2:2"]
    assert engine.verify("DJ-2").ok


def test_a_failure_after_the_step_leaves_neither_and_is_never_heard(
    using, django_capture_on_commit_callbacks
):
    from visits.models import VisitNote  # noqa: PLC0415

    heard: list[str] = []
    engine = engine_on(_app(heard), using=using)
    with django_capture_on_commit_callbacks(using=using, execute=True):
        engine.open(seed.WORKFLOW, "DJ-3", actor=seed.OUTREACH, assignee=seed.WORKER.id)
        with transaction.atomic(using=using):
            VisitNote.objects.using(using).create(case_id="DJ-3", worker="sw-017", text="t")
            engine.record("DJ-3", "home_visit", actor=seed.WORKER)
            transaction.set_rollback(True, using=using)  # as a failure after the step would
    assert heard == ["DJ-3:1"]
    assert VisitNote.objects.using(using).count() == 0
    assert [e.kind.value for e in engine.trail("DJ-3")] == ["opened"]


def test_a_failed_host_transaction_is_named_and_nothing_is_written(using):
    from visits.models import VisitNote  # noqa: PLC0415

    engine = engine_on(_app(), using=using)
    engine.open(seed.WORKFLOW, "DJ-4", actor=seed.OUTREACH)
    note = VisitNote.objects.using(using).create(case_id="DJ-4", worker="w", text="t")
    with transaction.atomic(using=using):
        with pytest.raises(IntegrityError):
            VisitNote.objects.using(using).create(id=note.id, case_id="DJ-4", worker="w", text="")
        with pytest.raises(StoreError, match="the host's transaction has failed"):
            engine.record("DJ-4", "home_visit", actor=seed.WORKER)
        transaction.set_rollback(True, using=using)
    assert len(engine.trail("DJ-4")) == 1


def test_a_refusal_inside_the_block_keeps_the_hosts_note_when_caught(using):
    from visits.models import VisitNote  # noqa: PLC0415

    engine = engine_on(_app(), using=using)
    engine.open(seed.WORKFLOW, "DJ-5", actor=seed.OUTREACH)
    with transaction.atomic(using=using):
        VisitNote.objects.using(using).create(case_id="DJ-5", worker="w", text="t")
        with pytest.raises(TransitionRejected):
            engine.fire("DJ-5", "terminate", actor=seed.WORKER)
    assert VisitNote.objects.using(using).filter(case_id="DJ-5").count() == 1
    assert [e.kind.value for e in engine.trail("DJ-5")] == ["opened", "refused"]


def test_what_cannot_be_joined_is_refused_in_words():
    with pytest.raises(InvalidInput, match=r"Django has no database 'reports' \(known: default"):
        joining("reports")


@pytest.mark.django_db(transaction=True, databases=ALIASES)
def test_the_example_hosts_service_commits_for_real_and_rolls_back_whole(using):
    from visits.models import VisitNote  # noqa: PLC0415
    from visits.services import casework, open_case, record_visit  # noqa: PLC0415

    case_id = _id()
    try:
        open_case(case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id, using=using)
        note = record_visit(case_id, "met at the market", worker=seed.WORKER, using=using)
        with pytest.raises(TransitionRejected):
            record_visit(
                case_id, "wants to close", worker=seed.WORKER, then="terminate", using=using
            )
        assert list(VisitNote.objects.using(using).filter(case_id=case_id)) == [note]
        trail = casework(using).trail(case_id)
        assert [e.kind.value for e in trail] == ["opened", "recorded"]
        assert [(c.field, c.after) for c in trail[-1].changes] == [("note_id", note.pk)]
        assert not connections[using].in_atomic_block, "these steps were really committed"
    finally:
        # Django's flush after a transactional test empties only its models' tables.
        with connections[using].cursor() as cursor:
            cursor.execute("DELETE FROM casework_entries WHERE case_id = %s", [case_id])
            cursor.execute("DELETE FROM casework_cases WHERE id = %s", [case_id])


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    os.environ["DJANGO_SETTINGS_MODULE"] = "host.settings"
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from casework_flow import seed
    from visits.models import VisitNote
    from visits.services import casework, open_case
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        open_case("K-1", actor=seed.OUTREACH, assignee=seed.WORKER.id)
        VisitNote.objects.create(case_id="K-1", worker="sw-017", text="note")
        casework().record("K-1", "home_visit", actor=seed.WORKER)
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.django_db(databases=[])
def test_killing_the_process_inside_the_hosts_atomic_block_leaves_neither(kind, tmp_path):
    with _example_env(kind, tmp_path) as env:
        run_killed(KILLED, str(EXAMPLE), env=env)
        counted = subprocess.run(
            [sys.executable, "-c", COUNT, str(EXAMPLE)],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
            env=env,
        )
        assert counted.stdout.split() == ["0", "0", "0"]


COUNT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[1])
    os.environ["DJANGO_SETTINGS_MODULE"] = "host.settings"
    import django
    django.setup()
    from django.db import connection
    with connection.cursor() as cursor:
        for table in ("casework_cases", "casework_entries", "visits_visitnote"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            print(cursor.fetchone()[0])
    """
)


@contextmanager
def _example_env(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment that points the example host at a fresh SQLite file or PG schema."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_DJANGO")}
    if kind == "sqlite":
        yield {**env, "CASEWORK_DJANGO_DB": str(tmp_path / "host.sqlite3")}
    else:
        with pg_schema() as dsn:
            yield {**env, "CASEWORK_DJANGO_PG": dsn}


@pytest.mark.django_db(databases=[])
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_example_runs_end_to_end(kind, tmp_path):
    with _example_env(kind, tmp_path) as env:
        for run in (1, 2):
            done = subprocess.run(
                [sys.executable, str(EXAMPLE / "run.py")],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
                env=env,
                cwd=Path(tmp_path),
            )
            assert done.returncode == 0, done.stderr
            assert f"MDN-DJ-{run:04d}: 1 note, 2 entries, verified=True" in done.stdout
            assert "refused, and the note was not kept either" in done.stdout
