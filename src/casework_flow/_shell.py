"""The engine's shell: load, decide, commit, notify. No rule of a step lives here.

`Shell` holds what every command needs (the workflow catalog, the store, the clock,
the listeners) and the one loop every command goes through (`Shell.run`). The
commands themselves are small methods on the mixins in `_engine`, `_engine_ops` and
`_engine_time`, each of which checks its input, builds a command value and runs it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Final, Self, TypeVar

import attrs
from attrs import frozen

from . import _inputs
from ._access_log import AccessLog
from ._at_rest import opened, sealing_for, shown, stored
from ._audit import AuditEntry, EntryKind
from ._calendar import DEFAULT_CALENDAR, Calendar
from ._case import Actor, Case
from ._catalog import Catalog
from ._clock import Clock, system_clock, to_utc
from ._commands import Command, named_people
from ._contracts import breaches
from ._decide import StepResult, decide
from ._definition import Workflow
from ._directory import Directory, Roster
from ._keys import KeyStore
from ._links import Closing
from ._observe import Metrics, Observer, RefusalListener, Refused
from ._snapshot import Snapshot
from ._stages import COMPLETION_ACTOR
from .exceptions import (
    ConcurrentModification,
    ContractBroken,
    InvalidInput,
    ListenerFailed,
    TransitionRejected,
)
from .stores import InMemoryStore, Store

__all__ = ["SYSTEM_ACTOR", "Committed", "Listener", "Shell"]

T = TypeVar("T")

SYSTEM_ACTOR: Final = COMPLETION_ACTOR
"""Who fires timers by default: the system actor that also completes stages."""


_STRIPES: Final = 64
"""Locks a case's commands take in this process, by a hash of its id (see `Shell._run`)."""
_MAX_PAUSE: Final = 0.05
"""The longest pause, in seconds, before a command that lost a race is tried again."""


@frozen
class Committed:
    """What a listener receives after a case was opened or moved.

    Attributes:
        before: The case before (None for an opening).
        after: The case as committed.
        entries: The audit entries committed with it, in order: the step's own, then
            what it cancelled (the approvals an accepted transfer ends, say).
    """

    before: Case | None
    after: Case
    entries: tuple[AuditEntry, ...]

    @property
    def entry(self) -> AuditEntry:
        """The step's own entry (the first committed)."""
        return self.entries[0]


Listener = Callable[[Committed], object]


class Shell:
    """What every engine command shares; see `Engine` for the arguments."""

    __slots__ = (
        "_access_log",
        "_catalog",
        "_clock",
        "_contracts",
        "_defer",
        "_directory",
        "_keys",
        "_listeners",
        "_observer",
        "_record_refusals",
        "_refusal_listeners",
        "_retries",
        "_store",
        "_stripes",
        "_system",
    )

    def __init__(
        self,
        workflows: Iterable[Workflow] = (),
        *,
        store: Store | None = None,
        clock: Clock = system_clock,
        record_refusals: bool = True,
        calendar: Calendar = DEFAULT_CALENDAR,
        system_actor: Actor = SYSTEM_ACTOR,
        directory: Directory | None = None,
        retries: int = 8,
        metrics: Metrics | None = None,
        keys: KeyStore | None = None,
        access_log: AccessLog | None = None,
        check_contracts: bool = False,
    ) -> None:
        self._catalog = Catalog(workflows, calendar=calendar)
        self._contracts = bool(check_contracts)
        if keys is not None and not isinstance(keys, KeyStore):
            raise InvalidInput("keys", "must have data_key, new_data_key and destroy methods")
        self._keys = keys
        if access_log is not None and not isinstance(access_log, AccessLog):
            raise InvalidInput("access_log", "must have record(access) and reads(case_id)")
        self._access_log = access_log
        if directory is not None and not isinstance(directory, Directory):
            raise InvalidInput("directory", "must have a worker(worker_id) method")
        self._directory = directory
        self._system = _inputs.actor(system_actor, "system_actor")
        self._store: Store = store if store is not None else InMemoryStore()
        if not callable(clock):
            msg = f"must be a callable giving the time (such as a ManualClock), got {clock!r}"
            raise InvalidInput("clock", msg)
        self._clock = clock
        self._record_refusals = record_refusals
        self._listeners: list[Listener] = []
        self._refusal_listeners: list[RefusalListener] = []
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidInput("retries", "must be an integer, 0 or more")
        self._retries = retries
        self._stripes: tuple[AbstractContextManager[object], ...] = tuple(
            threading.Lock() for _ in range(_STRIPES)
        )
        if metrics is not None and not isinstance(metrics, Metrics):
            raise InvalidInput("metrics", "must have add(name, value, attributes) and record(...)")
        self._observer = Observer(metrics)
        self._defer: Callable[[Callable[[], None]], object] | None = None

    def __repr__(self) -> str:
        return f"<Engine workflows={len(self._catalog)} store={self._store!r}>"

    @property
    def store(self) -> Store:
        """The store cases live in."""
        return self._store

    @property
    def directory(self) -> Directory | None:
        """The worker directory addressees are checked against, if any."""
        return self._directory

    @property
    def calendar(self) -> Calendar:
        """The working-day calendar deadlines and timers count on."""
        return self._catalog.calendar

    @property
    def catalog(self) -> Catalog:
        """The registered workflow versions."""
        return self._catalog

    @property
    def system_actor(self) -> Actor:
        """Who fires timers."""
        return self._system

    def register(self, workflow: Workflow) -> None:
        """Register (and compile) a workflow version.

        Raises:
            WorkflowError: if a different definition is registered under the same name
                and version; registering the same one again does nothing.
        """
        self._catalog.register(workflow)

    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """Return a registered workflow; the latest version unless one is given.

        Raises:
            UnknownWorkflow: if no such name or version is registered.
        """
        return self._catalog.workflow(name, version)

    def on_commit(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(Committed)`` after every committed step.

        Listeners run in registration order, after the store committed; one that raises
        does not undo the step (see `ListenerFailed`).

        Returns:
            A function that unregisters the listener.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def using(
        self, store: Store, *, after_commit: Callable[[Callable[[], None]], object] | None = None
    ) -> Self:
        """This engine on another store: the same workflows, clock, directory and listeners.

        For a step inside the host's own transaction, pass a store joined to the host's
        connection (`SQLiteStore.joining`, `PostgresStore.joining`) and ``after_commit``:
        listeners then run not when the step is written but when the host's transaction
        commits. ``after_commit(run)`` receives a callable to run after the commit:
        Django's ``transaction.on_commit``, or an `AfterCommit` the host runs itself.
        """
        other = copy.copy(self)
        other._store = store  # noqa: SLF001 - a copy of this very class
        other._defer = after_commit  # noqa: SLF001
        return other

    def on_refusal(self, listener: RefusalListener) -> Callable[[], None]:
        """Call ``listener(Refused)`` after every refused step, before it is raised.

        For supervision and security monitoring: who tried what and why it was refused.
        Listeners run after the refusal's entry was committed (when the host's
        transaction commits, on a joined engine); one that raises turns the
        `TransitionRejected` into `ListenerFailed`.

        Returns:
            A function that unregisters the listener.
        """
        self._refusal_listeners.append(listener)
        return lambda: self._refusal_listeners.remove(listener)

    def retrying(self, attempts: int) -> Self:
        """This engine, trying each command up to ``attempts`` times against other writers.

        Every command (``engine.retrying(10).approve(...)``) is then decided again on the
        case as it now is when another writer got there first, its guards checked
        afresh, so a step no longer allowed is refused rather than forced through. A
        command given ``expected_revision`` is never retried past it, and a `StoreError`
        is never retried (whether an interrupted commit landed is the caller's to find
        out).
        """
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise InvalidInput("attempts", "must be a positive integer")
        other = copy.copy(self)
        other._retries = attempts - 1  # noqa: SLF001 - a copy of this very class
        return other

    def _without_turns(self) -> Self:
        """This engine with no per-case locks: for a caller that takes its own turns.

        `AsyncEngine` runs commands as tasks of one thread, where a thread's lock would
        block the event loop; it takes an asyncio lock per case instead.
        """
        other = copy.copy(self)
        other._stripes = (contextlib.nullcontext(),)  # noqa: SLF001 - a copy of this class
        return other

    def _notify(self, committed: Committed) -> None:
        """Run every listener on a committed step now, or when the host commits."""
        self._defer_or_run(functools.partial(self._run_listeners, committed))

    def _defer_or_run(self, run: Callable[[], None]) -> None:
        if self._defer is not None:
            self._defer(run)
        else:
            run()

    def _run_listeners(self, committed: Committed) -> None:
        """Run every listener on a committed step; raise `ListenerFailed` if any raised."""
        _run_all(self._listeners, committed, committed.after)

    def _now(self) -> datetime:
        """The clock's time, in UTC."""
        return to_utc(self._clock(), "clock()")

    # --- reading ------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        """Return the case at its latest revision.

        Raises:
            UnknownCase: if there is no such case.
        """
        return self._shown(self._store.load(_inputs.case_id(case_id)).case)

    def trail(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's audit trail, oldest first."""
        return self._store.trail(_inputs.case_id(case_id))

    def relatives(self, case_id: str, *, kind: str | None = None) -> tuple[Case, ...]:
        """Return the cases linked to this one (of one ``kind``, if given), in link order.

        A family's case lists its members, a member its family, a returning client's case
        the earlier ones and they the later; each at its latest revision.

        Raises:
            UnknownCase: if there is no such case.
        """
        case = self.get(case_id)
        wanted = _inputs.optional_id(kind, "kind")
        return tuple(
            self._shown(self._store.load(link.other).case)
            for link in case.links
            if wanted is None or link.kind == wanted
        )

    # --- the one loop -----------------------------------------------------------------

    def _load(self, case_id: str) -> Snapshot:
        """Read the case with its head, its history and its relatives, as one snapshot.

        The history is read where the case's guards need one; the relatives are the
        member cases whose kind says what closing the case does to them.
        """
        keys = self._catalog.history_keys
        snap = self._store.load(case_id, history=keys)
        held = [
            link.other
            for link in snap.case.links
            if link.holds_member and link.on_close is not Closing.LEAVE
        ]
        if not held:
            return snap
        relatives = tuple(self._store.load(other, history=keys) for other in held)
        return attrs.evolve(snap, relatives=relatives)

    def _decide(self, snap: Snapshot, command: Command, now: datetime) -> tuple[StepResult, Case]:
        """What ``command`` decides on ``snap``, and the case folded over its entries.

        The case (and those in ``others``) is as the store keeps it: sealed, where the
        engine has a key store (`_shown` opens it).
        """
        result, after, _ = self._decide_open(snap, command, now)
        return result, after

    def _decide_open(
        self, snap: Snapshot, command: Command, now: datetime
    ) -> tuple[StepResult, Case, tuple[Case, Case] | None]:
        """`_decide`, and the case before and after open where values are sealed."""
        roster = None
        if self._directory is not None:
            roster = Roster.read(self._directory, named_people(command, snap.case))
        sealing = sealing_for(self._keys, self._catalog, snap)
        if sealing is None:
            result = decide(self._catalog, snap, command, now, roster)
            self._keep_contracts(snap, result)
            return result, snap.case if result.after is None else result.after, None
        open_snap = opened(snap, sealing)
        result = decide(self._catalog, open_snap, command, now, roster, sealing=sealing)
        self._keep_contracts(open_snap, result)
        shown_after = open_snap.case if result.after is None else result.after
        result = stored(self._catalog, snap, result)
        after = snap.case if result.after is None else result.after
        return result, after, (open_snap.case, shown_after)

    def _keep_contracts(self, snap: Snapshot, result: StepResult) -> None:
        """With ``check_contracts``, refuse a step that breaks a contract (`ContractBroken`)."""
        if self._contracts and not result.refused and result.entries:
            opening = result.entries[0].kind is EntryKind.OPENED
            before = None if opening else snap.case
            found = breaches(self._catalog, before, result.entries, snap.history.entries)
            if found:
                raise ContractBroken(snap.case.id, result.entries[-1].event, found)

    def _shown(self, case: Case) -> Case:
        """The case as the engine shows it: open, where personal values are sealed."""
        return shown(self._keys, self._catalog, case)

    def _run(
        self,
        case_id: str,
        command: Command,
        *,
        now: datetime | None = None,
        expected_revision: int | None = None,
    ) -> tuple[StepResult, Case]:
        """Load, decide, commit and notify: every command on a case goes through here.

        A step that loses a race with another writer is decided again on the case as it
        now is, up to the engine's ``retries`` times, unless the caller named the
        revision it worked from (``expected_revision``): then it is theirs to re-read.
        A refusal is committed as its own entry (unless the engine was told not to
        record refusals and the refusal is not binding), handed to the refusal
        listeners, then raised as `TransitionRejected` with every reason.

        Returns:
            What was decided and the case as committed.
        """
        started = time.perf_counter()
        attempts = 1 if expected_revision is not None else self._retries + 1
        lock = self._stripes[hash(case_id) % len(self._stripes)]
        for attempt in range(1, attempts + 1):
            lost: ConcurrentModification | None = None
            with lock:
                snap = self._load(case_id)
                case = snap.case
                if expected_revision is not None and expected_revision != case.revision:
                    raise ConcurrentModification(case.id, expected_revision, case.revision)
                result, after, open_pair = self._decide_open(
                    snap, command, self._now() if now is None else now
                )
                try:
                    recorded = self._commit(case, result, after)
                except ConcurrentModification as exc:
                    lost = exc
            if lost is not None:
                self._observer.conflict(case, result.event, attempt, final=attempt == attempts)
                if attempt == attempts:
                    raise lost
                pause = min(_MAX_PAUSE, 0.001 * 2**attempt)
                time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter only
                continue
            seconds = time.perf_counter() - started
            if open_pair is not None:
                case, after = open_pair
            self._tell(command, case, result, after, recorded=recorded, seconds=seconds)
            return result, after
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _tell(
        self,
        command: Command,
        case: Case,
        result: StepResult,
        after: Case,
        *,
        recorded: tuple[AuditEntry, ...],
        seconds: float,
    ) -> None:
        """Log and measure a decided step, then tell the listeners; raise a refusal."""
        if result.refused:
            self._observer.refused(case, result.event, result.refused, seconds)
            if self._refusal_listeners:
                actor = getattr(command, "actor", None)
                refused = Refused(case, result.event, actor, result.refused, recorded)
                self._defer_or_run(functools.partial(self._tell_refused, refused))
            raise TransitionRejected(case.id, result.event, case.state, result.refused)
        if not result.entries:
            return
        timer = result.entries[0].timer
        self._observer.committed(after, result.event, seconds, len(result.entries), timer)
        if self._listeners:
            self._notify(Committed(case, after, result.entries))
            for before, other in result.others:
                self._notify(
                    Committed(
                        self._shown(before), self._shown(other.after or before), other.entries
                    )
                )

    def _commit(self, case: Case, result: StepResult, after: Case) -> tuple[AuditEntry, ...]:
        """Write what ``result`` decided; return the entries written."""
        entries = result.entries
        if not entries:
            return ()
        if result.refused:
            if not (self._record_refusals or result.binding):
                return ()
            self._store.commit(after, entries, expected_revision=case.revision)
        elif result.others:
            self._store.commit_many(
                [
                    (after, entries, case.revision),
                    *((o.after or b, o.entries, b.revision) for b, o in result.others),
                ]
            )
        else:
            self._store.commit(after, entries, expected_revision=case.revision)
        return entries

    def _tell_refused(self, refused: Refused) -> None:
        """Run every refusal listener; raise `ListenerFailed` if any raised."""
        _run_all(self._refusal_listeners, refused, refused.case)


def _run_all(listeners: Sequence[Callable[[T], object]], value: T, case: Case) -> None:
    """Call every listener with ``value``; raise `ListenerFailed` (on ``case``) if any raised."""
    errors: list[BaseException] = []
    for listener in tuple(listeners):
        try:
            listener(value)
        except Exception as exc:  # noqa: BLE001 - every listener runs; errors are returned
            errors.append(exc)
    if errors:
        raise ListenerFailed(case, errors)
