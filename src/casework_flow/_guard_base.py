"""The guard base: what a guard sees (`GuardContext`), `Guard` itself and its combinators.

Guards are small trees of frozen values; each explains why it held or failed. Measures
and comparisons live in `_measures`, documents, consent and separation of duties in
`_guards`, which also gathers the public names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from attrs import field, frozen

from ._frozen import FrozenMap
from ._history import NO_HISTORY, History

if TYPE_CHECKING:
    from ._audit import AuditEntry
    from ._case import Actor, Case

__all__ = [
    "ALWAYS",
    "AllOf",
    "AnyOf",
    "Guard",
    "GuardContext",
    "Not",
    "Traced",
    "always",
    "untraced",
    "walk",
]

MISSING: Final = object()
"""What a measure reads when there is nothing to measure."""


class GuardContext:
    """Everything a guard may look at for one attempted step. Built by the pure core.

    Attributes:
        case: The case before the step.
        actor: Who attempts it.
        event: The event attempted.
        payload: The data supplied with this step.
        data: The case's data as it would be after the step (``case.data`` + ``payload``).
        evidence: Documents on file after the step.
        supplied_evidence: Documents supplied with this step.
        now: The time of this step (given to the core; never read from a clock here).
        reason_code: The reason code given, if any.
        history: The case's trail as loaded with the case (`History`); empty when the
            workflow's guards read nothing of the past.
        personal: The data fields whose values a guard's words must not show (the
            workflow's ``personal`` fields): verdicts say ``'***'`` for them, so no
            refusal, trail table or log carries a personal value.
        active: Every state the case is in: its configuration and the stages around
            it (by default the configuration and ``case.state``).
    """

    __slots__ = (
        "active",
        "actor",
        "case",
        "data",
        "event",
        "evidence",
        "history",
        "now",
        "payload",
        "personal",
        "reason_code",
        "supplied_evidence",
    )

    def __init__(
        self,
        *,
        case: Case,
        actor: Actor,
        event: str,
        payload: FrozenMap[Any],
        evidence: FrozenMap[str],
        now: datetime,
        reason_code: str | None,
        history: History = NO_HISTORY,
        personal: frozenset[str] = frozenset(),
        active: frozenset[str] | None = None,
    ) -> None:
        self.active = frozenset((*case.configuration, case.state)) if active is None else active
        self.case = case
        self.actor = actor
        self.event = event
        self.payload = payload
        self.data = case.data.merged(payload)
        self.evidence = case.evidence.merged(evidence)
        self.supplied_evidence = evidence
        self.now = now
        self.reason_code = reason_code
        self.history = history
        self.personal = personal

    def committed(self, event: str) -> Sequence[AuditEntry]:
        """Return the committed transitions of ``event`` in the history, oldest first."""
        return self.history.committed(event)


def duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds < 0:
        return f"minus {duration(-d)}"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes and not days:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) or "less than a minute"


def show(value: object) -> str:
    if isinstance(value, timedelta):
        return duration(value)
    if isinstance(value, tuple | list | frozenset | set):
        return ", ".join(show(v) for v in value)
    if isinstance(value, str):
        return repr(value)
    return str(value)


class Guard:
    """Base of every guard. Combine guards with ``&``, ``|`` and ``~``.

    Subclasses implement `test`, returning whether the guard holds and a sentence saying
    why, and set `text`, a short formula used on diagrams and in audit entries.
    """

    __slots__ = ()
    text: str

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Evaluate against ``ctx``; return (held, a sentence saying why)."""
        raise NotImplementedError

    def conjuncts(self) -> tuple[Guard, ...]:
        """Return the parts that must all hold (self alone unless this is an ``&``)."""
        return (self,)

    def __and__(self, other: Guard) -> Guard:
        return AllOf(self.conjuncts() + other.conjuncts())

    def __or__(self, other: Guard) -> Guard:
        left = self.parts if isinstance(self, AnyOf) else (self,)
        right = other.parts if isinstance(other, AnyOf) else (other,)
        return AnyOf(left + right)

    def __invert__(self) -> Guard:
        if isinstance(self, Not):
            return self.inner
        return Not(self)


def walk(g: Guard) -> Iterator[Guard]:
    """Yield a guard and every guard inside it, depth first."""
    yield g
    if isinstance(g, AllOf | AnyOf):
        for part in g.parts:
            yield from walk(part)
    elif isinstance(g, Not | Traced):
        yield from walk(g.inner)


def untraced(g: Guard) -> Guard:
    """The guard without its requirement tags (`Traced`), for code that reads its shape."""
    while isinstance(g, Traced):
        g = g.inner
    return g


def paren(g: Guard) -> str:
    return f"({g.text})" if isinstance(g, AllOf | AnyOf) else g.text


@frozen
class Always(Guard):
    """The guard that always holds: the default of a transition without conditions."""

    text: str = field(default="always", init=False, eq=False, repr=False)

    def test(self, ctx: GuardContext) -> tuple[bool, str]:  # noqa: ARG002 - ctx unused by design
        """Always hold."""
        return True, "no condition"


ALWAYS: Final[Guard] = Always()


def always() -> Guard:
    """Return the guard that always holds."""
    return ALWAYS


@frozen
class AllOf(Guard):
    """Holds when every part holds; ``a & b``."""

    parts: tuple[Guard, ...]
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return " and ".join(paren(p) for p in self.parts)

    def conjuncts(self) -> tuple[Guard, ...]:
        """Return the parts."""
        return self.parts

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold if all parts hold; on failure, say every part that failed."""
        failed = []
        for part in self.parts:
            ok, why = part.test(ctx)
            if not ok:
                failed.append(why)
        if failed:
            return False, " and ".join(failed)
        return True, "all of: " + self.text


@frozen
class AnyOf(Guard):
    """Holds when at least one part holds; ``a | b``."""

    parts: tuple[Guard, ...]
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return " or ".join(paren(p) for p in self.parts)

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Hold at the first part that holds; on failure, say why each failed."""
        whys = []
        for part in self.parts:
            ok, why = part.test(ctx)
            if ok:
                return True, why
            whys.append(why)
        return False, "none of these held: " + " or ".join(f"[{w}]" for w in whys)


@frozen
class Not(Guard):
    """Holds when its inner guard fails; ``~g``."""

    inner: Guard
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return f"not {paren(self.inner)}"

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """Invert the inner guard, keeping its explanation."""
        ok, why = self.inner.test(ctx)
        if ok:
            return False, f"{why}, which must not be the case"
        return True, why


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@frozen
class Traced(Guard):
    """A guard that enforces requirements of the policy: it holds when its inner guard does.

    Only the traceability matrix reads the ids (``requirements:`` beside a guard's kind
    in a file); the guard's text, verdicts and refusal reasons are its inner guard's.
    """

    inner: Guard
    requirements: tuple[str, ...] = field(converter=_ids)
    text: str = field(init=False, eq=False, repr=False)

    @text.default
    def _text(self) -> str:
        return self.inner.text

    def conjuncts(self) -> tuple[Guard, ...]:
        """The inner guard's parts: a tag changes nothing a step decides."""
        return self.inner.conjuncts()

    def test(self, ctx: GuardContext) -> tuple[bool, str]:
        """The inner guard's verdict."""
        return self.inner.test(ctx)
