"""What a rule over time speaks of: propositions about one entry of a trail.

A proposition is true or false of a *moment*: one entry of a case's trail, with the
case before and after it (folded only when a proposition asks). They combine with
``&``, ``|`` and ``~``. `reach` and `fires`, the subjects of `never`, are propositions
too, so the same words serve both kinds of rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

from attrs import frozen

from .._audit import AuditEntry, EntryKind
from .._case import Case
from .._definition import Workflow
from ._folds import _folded
from ._kit import _active, _entered

__all__ = [
    "Moment",
    "Prop",
    "by_role",
    "by_timer",
    "entry_kind",
    "field_is",
    "fires",
    "inside",
    "opened",
    "overridden",
    "reach",
    "refused",
    "reopened",
    "terminal",
    "transferred",
    "when",
]

_MOVES = frozenset({EntryKind.OPENED, EntryKind.TRANSITION})


class Moment:
    """One entry of a trail, with the case before and after it, folded on demand."""

    __slots__ = ("__dict__", "entry", "index", "trail", "workflow")

    def __init__(self, workflow: Workflow, trail: Sequence[AuditEntry], index: int) -> None:
        self.workflow = workflow
        self.trail = trail
        self.index = index
        self.entry = trail[index]

    @cached_property
    def after(self) -> Case:
        """The case as this entry left it."""
        return _folded(self.workflow, self.trail[: self.index + 1])

    @cached_property
    def before(self) -> Case | None:
        """The case as this entry found it (None for the opening)."""
        return _folded(self.workflow, self.trail[: self.index]) if self.index else None

    @cached_property
    def active(self) -> frozenset[str]:
        """Every state the entry leaves the case in, stages included."""
        return _active(self.entry)


class Prop:
    """A proposition: true or false of a `Moment`; ``text`` says it in words."""

    text: str

    def at(self, m: Moment) -> bool:
        """Whether the proposition holds at ``m``."""
        raise NotImplementedError

    def __and__(self, other: Prop) -> Prop:
        return _All((self, other))

    def __or__(self, other: Prop) -> Prop:
        return _Any((self, other))

    def __invert__(self) -> Prop:
        return _Not(self)


@frozen
class _All(Prop):
    parts: tuple[Prop, ...]

    @property
    def text(self) -> str:  # type: ignore[override]
        return " and ".join(_grouped(p) for p in self.parts)

    def at(self, m: Moment) -> bool:
        return all(p.at(m) for p in self.parts)


@frozen
class _Any(Prop):
    parts: tuple[Prop, ...]

    @property
    def text(self) -> str:  # type: ignore[override]
        return " or ".join(_grouped(p) for p in self.parts)

    def at(self, m: Moment) -> bool:
        return any(p.at(m) for p in self.parts)


@frozen
class _Not(Prop):
    part: Prop

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"not {_grouped(self.part)}"

    def at(self, m: Moment) -> bool:
        return not self.part.at(m)


def _grouped(p: Prop) -> str:
    return f"({p.text})" if isinstance(p, _All | _Any) else p.text


@frozen
class Reach(Prop):
    """The case enters ``state`` (a stay in the same state is not an entering)."""

    state: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"reach {self.state}"

    def at(self, m: Moment) -> bool:
        step = m.entry
        if step.kind not in _MOVES:
            return False
        if "configuration" in step.details:
            return self.state in _entered(m.trail[: m.index + 1])
        return step.to_state == self.state and not (
            step.kind is EntryKind.TRANSITION and step.from_state == step.to_state
        )


@frozen
class Fires(Prop):
    """The case commits ``event``, whatever state it leads to."""

    event: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.event

    def at(self, m: Moment) -> bool:
        return m.entry.kind is EntryKind.TRANSITION and m.entry.event == self.event


def reach(state: str) -> Reach:
    """The event of a case entering ``state``."""
    return Reach(state)


def fires(event: str) -> Fires:
    """The event of a case committing ``event`` (a stay in the same state included)."""
    return Fires(event)


@frozen
class _Inside(Prop):
    state: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"in {self.state}"

    def at(self, m: Moment) -> bool:
        return self.state in m.active


def inside(state: str) -> Prop:
    """The case is in ``state`` (or inside stage ``state``) after the entry."""
    return _Inside(state)


@frozen
class _Timer(Prop):
    name: str | None

    @property
    def text(self) -> str:  # type: ignore[override]
        return "a timer" if self.name is None else f"timer {self.name}"

    def at(self, m: Moment) -> bool:
        timer = m.entry.timer
        return timer is not None and (self.name is None or timer == self.name)


def by_timer(name: str | None = None) -> Prop:
    """The entry was a timer's step (timer ``name``, or any), committed or refused."""
    return _Timer(name)


@frozen
class _Details(Prop):
    key: str
    words: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.words

    def at(self, m: Moment) -> bool:
        return self.key in m.entry.details


def overridden() -> Prop:
    """The step went through on a consent override."""
    return _Details("overridden_by", "an override")


@frozen
class _Kind(Prop):
    kind: EntryKind
    event: str | None

    @property
    def text(self) -> str:  # type: ignore[override]
        what = self.kind.value.replace("_", " ")
        return what if self.event is None else f"{what} {self.event}"

    def at(self, m: Moment) -> bool:
        return m.entry.kind is self.kind and (self.event is None or m.entry.event == self.event)


def entry_kind(kind: EntryKind | str, event: str | None = None) -> Prop:
    """The entry is of ``kind`` (about ``event``, if given)."""
    return _Kind(EntryKind(kind), event)


def refused(event: str | None = None) -> Prop:
    """A step (of ``event``, or any) was refused."""
    return _Kind(EntryKind.REFUSED, event)


def opened() -> Prop:
    """The case was opened."""
    return _Kind(EntryKind.OPENED, None)


@frozen
class _Role(Prop):
    role: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"by a {self.role}"

    def at(self, m: Moment) -> bool:
        return self.role in m.entry.actor_roles


def by_role(role: str) -> Prop:
    """The entry's actor acted holding ``role``."""
    return _Role(role)


@frozen
class _Terminal(Prop):
    @property
    def text(self) -> str:  # type: ignore[override]
        return "closed"

    def at(self, m: Moment) -> bool:
        if m.entry.kind not in _MOVES:
            return False
        return m.workflow.state(m.entry.to_state).terminal


def terminal() -> Prop:
    """A step leaves the case in a terminal state."""
    return _Terminal()


@frozen
class _Reopened(Prop):
    @property
    def text(self) -> str:  # type: ignore[override]
        return "a reopening"

    def at(self, m: Moment) -> bool:
        e = m.entry
        if e.kind is not EntryKind.TRANSITION or e.from_state is None:
            return False
        wf = m.workflow
        return wf.state(e.from_state).terminal and not wf.state(e.to_state).terminal


def reopened() -> Prop:
    """A step takes the case out of a terminal state."""
    return _Reopened()


@frozen
class _Transferred(Prop):
    @property
    def text(self) -> str:  # type: ignore[override]
        return "a transfer"

    def at(self, m: Moment) -> bool:
        before = m.before
        return before is not None and before.unit != m.after.unit


def transferred() -> Prop:
    """The step moved the case to another unit."""
    return _Transferred()


@frozen
class _Field(Prop):
    field: str
    value: object

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"{self.field} is {self.value!r}"

    def at(self, m: Moment) -> bool:
        return bool(m.after.data.get(self.field) == self.value)


def field_is(field: str, value: object) -> Prop:
    """After the entry, the case's data field ``field`` equals ``value``."""
    return _Field(field, value)


@frozen
class _Fn(Prop):
    name: str
    fn: Callable[[Moment], bool]

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.name

    def at(self, m: Moment) -> bool:
        return bool(self.fn(m))


def when(name: str, fn: Callable[[Moment], bool]) -> Prop:
    """Any proposition: ``fn(moment)``, named ``name`` in messages."""
    return _Fn(name, fn)
