"""Stores on Django's connection for one database alias, each step in ``transaction.atomic``."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import DatabaseError, connections, transaction
from django.db.utils import ConnectionDoesNotExist

from ..._shell import Shell
from ...exceptions import CaseworkError, InvalidInput, StoreError
from ...stores import Store
from ...stores._joined import JoinedPostgresStore, JoinedSQLiteStore

__all__ = ["engine_on", "joining"]

E = TypeVar("E", bound=Shell)


class _Source:
    """The current thread's DB-API connection for a Django alias, opened if need be."""

    def __init__(self, using: str) -> None:
        self.using = using

    def __call__(self) -> Any:  # noqa: ANN401 - sqlite3 or psycopg
        wrapper = connections[self.using]
        wrapper.ensure_connection()
        return wrapper.connection


class _Django:
    """What both Django stores share: steps in ``atomic``, Django's errors in words."""

    _using: str
    _where: str

    @contextmanager
    def _django_errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except CaseworkError:
            raise
        except DatabaseError as exc:
            raise StoreError(f"{self._where}: could not {doing}: {exc}") from exc

    def _refuse_failed(self) -> None:
        if connections[self._using].needs_rollback:
            msg = (
                f"{self._where}: the host's transaction has failed (Django marked it for"
                " rollback); leave its atomic block before the next step (nothing of this"
                " step was written)"
            )
            raise StoreError(msg)


class DjangoSQLiteStore(_Django, JoinedSQLiteStore):
    """The casework tables in a Django project's SQLite database."""

    def __init__(self, using: str, *, where: str) -> None:
        super().__init__(_Source(using), where=where)
        self._using = using

    @contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._errors(doing), self._django_errors(doing):
            yield self._conn()

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._errors(doing), self._django_errors(doing):
            self._refuse_failed()
            with transaction.atomic(using=self._using):
                yield self._conn()


class DjangoPostgresStore(_Django, JoinedPostgresStore):
    """The casework tables in a Django project's PostgreSQL database (psycopg 3)."""

    def __init__(self, using: str, *, where: str) -> None:
        super().__init__(_Source(using), where=where)
        self._using = using

    def _usable(self) -> Any:  # noqa: ANN401 - psycopg.Connection
        self._refuse_failed()
        return super()._usable()

    @contextmanager
    def _read(self, doing: str) -> Iterator[Any]:
        with self._errors(doing), self._django_errors(doing):
            yield self._usable()

    @contextmanager
    def _write(self, doing: str) -> Iterator[Any]:
        with self._errors(doing), self._django_errors(doing):
            conn = self._usable()
            with transaction.atomic(using=self._using):
                yield conn


def joining(using: str = "default") -> Store:
    """A store on Django's connection for the alias ``using``, joining its transactions.

    Each call uses the calling thread's connection (Django keeps one per thread); each
    step runs in ``transaction.atomic(using=using)``, so inside the host's atomic block
    it is a savepoint that commits or rolls back with the host's rows, and outside it
    commits on its own. The tables come from this app's migrations.

    Raises:
        InvalidInput: for an alias Django does not know, or a database other than SQLite
            and PostgreSQL (with psycopg 3).
    """
    try:
        wrapper = connections[using]
    except ConnectionDoesNotExist:
        known = ", ".join(sorted(connections.settings)) or "none"
        raise InvalidInput("using", f"Django has no database {using!r} (known: {known})") from None
    config = wrapper.settings_dict
    if wrapper.vendor == "sqlite":
        return DjangoSQLiteStore(using, where=f"{config['NAME']} (Django database {using!r})")
    if wrapper.vendor == "postgresql":
        if wrapper.Database.__name__ != "psycopg":  # pragma: no cover - psycopg2 is not installed
            msg = f"Django database {using!r} uses psycopg2; casework_flow needs psycopg 3"
            raise InvalidInput("using", msg)
        user, host = config.get("USER") or "", config.get("HOST") or "localhost"
        port, name = config.get("PORT") or "5432", config.get("NAME") or ""
        where = f"postgresql://{user}@{host}:{port}/{name}"
        return DjangoPostgresStore(using, where=where)
    msg = f"casework_flow keeps its tables on SQLite or PostgreSQL, not {wrapper.vendor}"
    raise InvalidInput("using", f"{msg} (Django database {using!r})")


def _on_commit(using: str, run: Callable[[], None]) -> None:
    transaction.on_commit(run, using=using)


def engine_on(engine: E, using: str = "default") -> E:
    """``engine`` on `joining(using)`, its listeners run by ``transaction.on_commit``.

    Listeners of a step inside an atomic block run once the outermost block commits,
    and never if it (or the savepoint around the step) rolls back; outside any block
    they run when the step commits. Build it once, at start-up: it resolves the
    thread's connection on every call.
    """
    return engine.using(joining(using), after_commit=functools.partial(_on_commit, using))
