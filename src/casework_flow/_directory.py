"""Who the workers are: the host's directory, as a small protocol, and its answers as values.

A case names people by id. Whether an id is a worker, is active, works in which units
(with which roles there), belongs to which groups and may be sent referrals or
transfers is the host's to say: its user table, an LDAP, a settings file. The engine
asks a `Directory` for the people a command names, before it decides, and the pure core
reads the answers as a `Roster`; so a rule such as "user3 is in another group" is
decided in one place, on every store, with no I/O inside the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from attrs import field, frozen

from ._case import _roles
from ._frozen import FrozenMap, frozen_map
from ._handover import KINDS

__all__ = ["Directory", "InMemoryDirectory", "Roster", "Worker"]


def _unit_roles(value: Mapping[str, Iterable[str] | str]) -> FrozenMap[frozenset[str]]:
    return FrozenMap({unit: _roles(roles) for unit, roles in value.items()})


@frozen
class Worker:
    """One person in the host's directory.

    Attributes:
        id: The id cases and actors use (``sw-017``).
        roles: The roles the worker holds in each unit they work in
            (``{"dinsos-medan": {"social_worker"}}``); the units are its keys.
        groups: The groups the worker belongs to (teams, a region), for assignment
            scoped to a group.
        active: Whether the worker may be given cases now (not on leave, not gone).
        receives: The kinds of handover the worker may be sent (``referral``,
            ``transfer``, ``transfer_request``); all by default.
        name: A display name, for messages; the id when empty.

    >>> w = Worker("sw-017", {"dinsos-medan": {"social_worker"}}, groups={"north"})
    >>> w.units, w.home
    (frozenset({'dinsos-medan'}), 'dinsos-medan')
    """

    id: str
    roles: FrozenMap[frozenset[str]] = field(converter=_unit_roles, factory=FrozenMap)
    groups: frozenset[str] = field(converter=_roles, factory=frozenset, kw_only=True)
    active: bool = field(default=True, kw_only=True)
    receives: frozenset[str] = field(converter=_roles, default=KINDS, kw_only=True)
    name: str = field(default="", kw_only=True)

    @property
    def units(self) -> frozenset[str]:
        """The units the worker works in."""
        return frozenset(self.roles)

    @property
    def home(self) -> str | None:
        """The worker's unit when they work in exactly one, else None."""
        return next(iter(self.roles)) if len(self.roles) == 1 else None

    def roles_in(self, unit: str) -> frozenset[str]:
        """The roles the worker holds in ``unit`` (none when they do not work there)."""
        found: frozenset[str] = self.roles.get(unit, frozenset())
        return found


@runtime_checkable
class Directory(Protocol):
    """What the engine asks the host about people: one lookup by id.

    Return None for an id that is not a worker. Implement it over the host's own user
    table (see ``examples/directory_from_user_table.py``); `InMemoryDirectory` serves
    tests and small hosts.
    """

    def worker(self, worker_id: str) -> Worker | None:
        """The worker with this id, or None if there is none."""
        ...


class InMemoryDirectory:
    """A `Directory` held in memory, for tests and small hosts.

    >>> d = InMemoryDirectory([Worker("sw-017", {"dinsos-medan": {"social_worker"}})])
    >>> d.worker("sw-017").home, d.worker("nobody")
    ('dinsos-medan', None)
    """

    __slots__ = ("_workers",)

    def __init__(self, workers: Iterable[Worker] = ()) -> None:
        self._workers: dict[str, Worker] = {}
        for w in workers:
            self.put(w)

    def put(self, worker: Worker) -> None:
        """Add or replace a worker (a change of unit, a worker leaving)."""
        if not isinstance(worker, Worker):
            msg = f"not a Worker: {worker!r}"
            raise TypeError(msg)
        self._workers[worker.id] = worker

    def worker(self, worker_id: str) -> Worker | None:
        """The worker with this id, or None."""
        return self._workers.get(worker_id)

    def __len__(self) -> int:
        return len(self._workers)

    def __repr__(self) -> str:
        return f"<InMemoryDirectory workers={len(self._workers)}>"


@frozen
class Roster:
    """The directory's answers for the people one command names, read before deciding.

    ``None`` as a roster (no directory configured) means workers are bare ids and no
    directory check applies.
    """

    workers: FrozenMap[Worker | None] = field(converter=frozen_map, factory=FrozenMap)

    def get(self, worker_id: str) -> Worker | None:
        """The worker, or None when the directory does not know the id."""
        found: Worker | None = self.workers.get(worker_id)
        return found

    @classmethod
    def read(cls, directory: Directory, ids: Iterable[str]) -> Roster:
        """Ask ``directory`` for each id (once each)."""
        answers: dict[str, Worker | None] = {i: directory.worker(i) for i in dict.fromkeys(ids)}
        workers: FrozenMap[Worker | None] = FrozenMap(answers)
        return cls(workers)
