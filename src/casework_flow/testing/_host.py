"""What a model test says to the host's system, and what it hears back.

A model test drives the host's own system (its API, its database, its screens) with
the commands a caller could send, and the same commands through the library's engine
in memory (the model). A `Host` adapter turns each command into the host's own call
and its answer into a `Reply`; `look` reads back what the host shows of a case. The
commands and answers are plain values, so a failing sequence is saved as a JSON file
and replayed by a one-line test.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

from attrs import field, frozen

from .._case import Actor
from .._frozen import EMPTY, FrozenMap, freeze
from ..exceptions import CaseworkError, InvalidInput

__all__ = [
    "FORMAT",
    "OUTCOMES",
    "AnswerHandover",
    "ApproveRequest",
    "FireEvent",
    "Host",
    "HostCommand",
    "HostDiverged",
    "OpenCase",
    "PassTime",
    "Reply",
    "ReplyOutcome",
    "Seen",
    "SendHandover",
    "read_fixture",
    "write_fixture",
]

FORMAT: Final = "casework-flow/model-test/1"
"""The format tag of a saved model-test fixture."""

ReplyOutcome = Literal["allowed", "refused", "conflict", "not_found", "invalid"]
OUTCOMES: Final[tuple[str, ...]] = ("allowed", "refused", "conflict", "not_found", "invalid")


def _data(value: Mapping[str, Any] | None) -> FrozenMap[Any]:
    return EMPTY if not value else freeze(dict(value))


def _maybe_data(value: Mapping[str, Any] | None) -> FrozenMap[Any] | None:
    return None if value is None else _data(value)


@frozen
class OpenCase:
    """Open a case in the workflow's initial state."""

    case_id: str
    actor: Actor
    assignee: str | None = None
    unit: str | None = None


@frozen
class FireEvent:
    """Fire an event on a case, as `Engine.fire` takes it."""

    case_id: str
    event: str
    actor: Actor
    data: FrozenMap[Any] = field(converter=_data, factory=dict)
    evidence: FrozenMap[Any] = field(converter=_data, factory=dict)
    reason: str | None = None
    reason_code: str | None = None
    expected_revision: int | None = None
    override_by: Actor | None = None


@frozen
class ApproveRequest:
    """Approve the case's request waiting under ``kind``."""

    case_id: str
    actor: Actor
    kind: str | None = None


@frozen
class SendHandover:
    """Send a referral or a transfer of the case to another unit."""

    case_id: str
    kind: str
    actor: Actor
    to_unit: str
    reason: str
    evidence: FrozenMap[Any] = field(converter=_data, factory=dict)


@frozen
class AnswerHandover:
    """Accept (or reject, with a reason) an open handover, as its addressee."""

    case_id: str
    handover: str
    actor: Actor
    accept: bool = True
    reason: str | None = None
    evidence: FrozenMap[Any] = field(converter=_data, factory=dict)


@frozen
class PassTime:
    """The clock moves on to ``to``; the host then fires every timer due by then."""

    to: datetime


HostCommand = OpenCase | FireEvent | ApproveRequest | SendHandover | AnswerHandover | PassTime


def _outcome(value: str) -> str:
    if value not in OUTCOMES:
        raise InvalidInput("outcome", f"must be one of {', '.join(OUTCOMES)}, got {value!r}")
    return value


def _checks(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@frozen
class Reply:
    """How the host answered a command.

    Attributes:
        outcome: ``allowed``, ``refused`` (the workflow said no), ``conflict`` (a
            revision or id clash), ``not_found`` (no such case or event) or ``invalid``
            (input that cannot be used).
        checks: For a refusal, the names of the failed checks the host reported; None
            when the host does not show them (they are then not compared).
    """

    outcome: str = field(converter=_outcome)
    checks: frozenset[str] | None = field(default=None, converter=_checks)


@frozen
class Seen:
    """What the host shows of a case; a field left None is not compared.

    Attributes:
        state: The state the host says the case is in (for a staged workflow, the
            configuration joined by ``+``, as `Case.state` gives it).
        revision: The case's revision, if the host shows it.
        data: The case's data as the host shows it (every field it keeps).
    """

    state: str
    revision: int | None = None
    data: FrozenMap[Any] | None = field(default=None, converter=_maybe_data)


@runtime_checkable
class Host(Protocol):
    """The adapter between a model test and the host's system.

    ``start`` gives a fresh, empty system whose clock reads ``at`` (each run of the
    test starts there); ``apply`` sends one command and returns the host's answer;
    ``look`` reads back what the host shows of a case (None: it has no such case);
    ``stop`` releases what ``start`` took.
    """

    def start(self, at: datetime) -> None: ...

    def apply(self, command: HostCommand) -> Reply: ...

    def look(self, case_id: str) -> Seen | None: ...

    def stop(self) -> None: ...


class HostDiverged(CaseworkError, AssertionError):
    """The host's system answered a command otherwise than the workflow does.

    Attributes:
        commands: The shortest sequence found, ending with the command that diverged.
        step: The index of that command in ``commands``.
        why: What differed, in words.
        expected: What the model answered or showed (a `Reply` or a `Seen`, or None).
        got: What the host answered or showed.
        fixture: Where the sequence was saved, if it was.
    """

    def __init__(
        self,
        commands: tuple[HostCommand, ...],
        why: str,
        expected: Reply | Seen | None,
        got: Reply | Seen | None,
        fixture: Path | None = None,
    ) -> None:
        self.commands = commands
        self.step = len(commands) - 1
        self.why = why
        self.expected = expected
        self.got = got
        self.fixture = fixture
        lines = [f"the host diverged from the workflow at step {self.step + 1}: {why}"]
        lines += [f"  {i + 1:>3}. {describe(c)}" for i, c in enumerate(commands)]
        if fixture is not None:
            lines.append(f"saved as {fixture}")
        super().__init__("\n".join(lines))


def _fire_words(c: FireEvent) -> str:
    parts = [f"fire {c.event} on {c.case_id} as {c.actor.id}"]
    if c.data:
        parts.append(f"data {dict(c.data)}")
    if c.evidence:
        parts.append(f"documents {sorted(c.evidence)}")
    if c.reason_code:
        parts.append(f"code {c.reason_code}")
    if c.expected_revision is not None:
        parts.append(f"expecting revision {c.expected_revision}")
    if c.override_by is not None:
        parts.append(f"overridden by {c.override_by.id}")
    return ", ".join(parts)


def describe(command: HostCommand) -> str:
    """One command in words, for a person reading a failure."""
    match command:
        case FireEvent():
            return _fire_words(command)
        case OpenCase(case_id=case_id, actor=actor):
            return f"open {case_id} as {actor.id}"
        case ApproveRequest(case_id=case_id, actor=actor, kind=kind):
            return f"approve {kind or 'the request'} on {case_id} as {actor.id}"
        case SendHandover(case_id=case_id, actor=actor, kind=kind, to_unit=to):
            return f"send a {kind} of {case_id} to {to} as {actor.id}"
        case AnswerHandover(case_id=case_id, actor=actor, handover=handover, accept=accept):
            return f"{'accept' if accept else 'reject'} {handover} on {case_id} as {actor.id}"
        case PassTime(to=to):
            return f"the clock moves to {to.isoformat()} and due timers run"


# --- the portable fixture -----------------------------------------------------------------


def _actor_json(actor: Actor | None) -> dict[str, Any] | None:
    if actor is None:
        return None
    return {
        "id": actor.id,
        "roles": sorted(actor.roles),
        "units": sorted(actor.units),
        "unit_roles": {u: sorted(r) for u, r in sorted(actor.unit_roles.items())},
    }


def _actor_of(raw: Mapping[str, Any] | None) -> Actor | None:
    if raw is None:
        return None
    return Actor(raw["id"], set(raw["roles"]), units=set(raw.get("units", ())),
                 unit_roles={u: set(r) for u, r in raw.get("unit_roles", {}).items()})  # fmt: skip


_KINDS: Final[dict[str, type]] = {
    "open": OpenCase,
    "fire": FireEvent,
    "approve": ApproveRequest,
    "send": SendHandover,
    "answer": AnswerHandover,
    "time": PassTime,
}
_ACTORS: Final = ("actor", "override_by")


def command_json(command: HostCommand) -> dict[str, Any]:
    """A command as plain JSON values."""
    kind = next(k for k, cls in _KINDS.items() if isinstance(command, cls))
    out: dict[str, Any] = {"do": kind}
    for a in command.__attrs_attrs__:
        value = getattr(command, a.name)
        if a.name in _ACTORS:
            value = _actor_json(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, FrozenMap):
            value = json.loads(json.dumps(dict(value), default=str))
        out[a.name] = value
    return out


def command_of(raw: Mapping[str, Any]) -> HostCommand:
    """The command a JSON object names (the inverse of `command_json`)."""
    cls = _KINDS.get(raw.get("do", ""))
    if cls is None:
        raise InvalidInput("do", f"must be one of {', '.join(_KINDS)}, got {raw.get('do')!r}")
    args: dict[str, Any] = {}
    for a in cls.__attrs_attrs__:  # type: ignore[attr-defined]
        if a.name not in raw:
            continue
        value = raw[a.name]
        if a.name in _ACTORS:
            value = _actor_of(value)
        elif a.name == "to":
            value = datetime.fromisoformat(value)
        args[a.name] = value
    command: HostCommand = cls(**args)
    return command


def write_fixture(path: Path, workflow: str, start: datetime, error: HostDiverged) -> Path:
    """Save a diverging sequence as JSON: the workflow, the start time, the commands."""
    body = {
        "format": FORMAT,
        "workflow": workflow,
        "start": start.isoformat(),
        "why": error.why,
        "commands": [command_json(c) for c in error.commands],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as e:
        raise InvalidInput("save_to", f"{path}: the fixture cannot be written: {e}") from None
    return path


def read_fixture(path: Path) -> tuple[str, datetime, tuple[HostCommand, ...]]:
    """The workflow (``name@version``), start time and commands of a saved fixture."""
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidInput("fixture", f"{path}: cannot be read as JSON: {e}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise InvalidInput("fixture", f"{path}: not a model-test fixture (format {FORMAT})")
    try:
        commands = tuple(command_of(c) for c in body["commands"])
        return str(body["workflow"]), datetime.fromisoformat(body["start"]), commands
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("fixture", f"{path}: a command cannot be read: {e}") from None
