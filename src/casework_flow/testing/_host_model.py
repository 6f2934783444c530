"""The model side of a model test: the engine in memory, runs and their comparison.

`_Model` answers each command as the library does (an engine on memory, on a manual
clock); `_Run` sends each command to it and to the host and compares the answers and
what each then shows; `_Setup.play` plays a sequence on a fresh host and `shrink` drops
every command a divergence does not need.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from .._calendar import Calendar
from .._case import Case
from .._definition import Workflow
from .._engine import Engine
from ..exceptions import (
    CaseExists,
    CaseworkError,
    ConcurrentModification,
    InvalidInput,
    TransitionRejected,
    UnknownCase,
    UnknownEvent,
)
from ..stores import InMemoryStore
from ._coverage import _record, _recording
from ._host import (
    AnswerHandover,
    ApproveRequest,
    FireEvent,
    Host,
    HostCommand,
    HostDiverged,
    OpenCase,
    PassTime,
    Reply,
    Seen,
    SendHandover,
)

__all__ = ["CASE", "_Model", "_Run", "_Setup", "on_engine", "reply_to", "seen_on"]

CASE: Final = "CASE-1"
_SHRINK_TRIALS: Final = 300
_SAID: Final = {
    "allowed": "allowed it",
    "refused": "refused it",
    "conflict": "answered a conflict",
    "not_found": "found no such case or event",
    "invalid": "called the input invalid",
}


def on_engine(engine: Engine, workflow: str, c: HostCommand) -> None:
    """Carry ``c`` out on ``engine`` as a host that keeps its cases with the library does.

    Every command but `PassTime`, which moves the host's own clock (then `run_due`).

    Raises:
        CaseworkError: as the engine raises it; `reply_to` says what a host answers.
    """
    match c:
        case OpenCase():
            engine.open(workflow, c.case_id, actor=c.actor, assignee=c.assignee, unit=c.unit)
        case FireEvent():
            engine.fire(c.case_id, c.event, actor=c.actor, data=dict(c.data),
                        evidence=dict(c.evidence), reason=c.reason, reason_code=c.reason_code,
                        expected_revision=c.expected_revision,
                        override_by=c.override_by)  # fmt: skip
        case ApproveRequest():
            engine.approve(c.case_id, actor=c.actor, kind=c.kind)
        case SendHandover() if c.kind == "referral":
            engine.refer(c.case_id, actor=c.actor, to_unit=c.to_unit, reason=c.reason,
                         evidence=dict(c.evidence))  # fmt: skip
        case SendHandover():
            engine.transfer(c.case_id, c.to_unit, actor=c.actor, reason=c.reason,
                            evidence=dict(c.evidence))  # fmt: skip
        case AnswerHandover() if c.accept:
            engine.accept_handover(c.case_id, c.handover, actor=c.actor, evidence=dict(c.evidence))
        case AnswerHandover():
            engine.reject_handover(c.case_id, c.handover, actor=c.actor, reason=c.reason or "")
        case PassTime():
            raise InvalidInput("command", "time passes on the host's clock, not on an engine")


def reply_to(error: CaseworkError) -> Reply:
    """The `Reply` an engine's error is: refused with its checks, a conflict, not found..."""
    if isinstance(error, TransitionRejected):
        return Reply("refused", {r.check for r in error.reasons})
    if isinstance(error, ConcurrentModification | CaseExists):
        return Reply("conflict")
    if isinstance(error, UnknownCase | UnknownEvent):
        return Reply("not_found")
    return Reply("invalid")


def seen_on(engine: Engine, case_id: str) -> Seen | None:
    """What ``engine`` shows of a case: its state, revision and data (None: no such case)."""
    try:
        case = engine.get(case_id)
    except UnknownCase:
        return None
    return Seen(case.state, case.revision, case.data)


class _Now:
    """The clock of every model of one test; each model sets it to its own time first.

    The workflow is compiled once, for one engine, and each model runs a copy of it on
    a store of its own (`Engine.using`); the models take turns, never interleaved.
    """

    __slots__ = ("at",)

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class _Model:
    """The library's own answer: the engine on memory, on a clock of its own."""

    def __init__(self, workflow: Workflow, base: Engine, now: _Now, start: datetime) -> None:
        self.workflow = workflow
        self.now = start
        self._clock = now
        self._engine = base.using(InMemoryStore())
        self.cases: list[str] = []

    @property
    def engine(self) -> Engine:
        """The model's engine, its clock set to the model's time."""
        self._clock.at = self.now
        return self._engine

    def clock(self) -> datetime:
        """The model's time."""
        return self.now

    def fork(self) -> _Model:
        """A model where this one is now, to go on from apart: its cases and trails copied."""
        other = _Model(self.workflow, self._engine, self._clock, self.now)
        for case_id in dict.fromkeys(self.cases):
            other.engine.store.create(self.engine.get(case_id), self.engine.trail(case_id))
        other.cases = list(self.cases)
        return other

    def apply(self, c: HostCommand) -> Reply:
        try:
            if isinstance(c, PassTime):
                self.now = max(c.to, self.now)
                self.engine.run_due()
            else:
                on_engine(self.engine, self.workflow.name, c)
        except CaseworkError as e:
            return reply_to(e)
        if isinstance(c, OpenCase):
            self.cases.append(c.case_id)
        return Reply("allowed")

    def look(self, case_id: str) -> Seen | None:
        return seen_on(self.engine, case_id)

    def case(self, case_id: str) -> Case:
        return self.engine.get(case_id)

    def allows(self, c: FireEvent) -> bool:
        try:
            return self.engine.can_fire(c.case_id, c.event, actor=c.actor, data=dict(c.data),
                                        evidence=dict(c.evidence), reason=c.reason,
                                        reason_code=c.reason_code).allowed  # fmt: skip
        except CaseworkError:
            return False


def _plain(value: object) -> object:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _said(r: Reply) -> str:
    text = _SAID[r.outcome]
    if r.outcome == "refused" and r.checks:
        text += f" ({', '.join(sorted(r.checks))})"
    return text


def _reply_differs(want: Reply, got: Reply) -> str | None:
    if want.outcome != got.outcome:
        return f"the workflow {_said(want)}, the host {_said(got)}"
    if want.outcome == "refused" and got.checks is not None and got.checks != want.checks:
        return f"both refused it, the workflow {_said(want)}, the host {_said(got)}"
    return None


def _seen_differs(want: Seen | None, got: Seen | None) -> str | None:
    if want is None or got is None:
        return _presence(want, got)
    if got.state != want.state:
        return f"the host shows state {got.state!r}, the workflow {want.state!r}"
    if got.revision is not None and got.revision != want.revision:
        return f"the host shows revision {got.revision}, the workflow {want.revision}"
    shown, kept = _plain(dict(got.data or {})), _plain(dict(want.data or {}))
    if got.data is not None and shown != kept:
        return f"the host shows data {shown}, the workflow {kept}"
    return None


def _presence(want: Seen | None, got: Seen | None) -> str | None:
    if want is None and got is not None:
        return f"the host shows it in {got.state}; the workflow has no such case"
    if want is not None and got is None:
        return f"the host has no such case; the workflow has it in {want.state}"
    return None


class _Run:
    """One run: every command to the model and the host, their answers compared."""

    def __init__(self, model: _Model, host: Host) -> None:
        self.model = model
        self.host = host
        self.done: list[HostCommand] = []

    def step(self, c: HostCommand) -> None:
        self.done.append(c)
        want = self.model.apply(c)
        got = self.host.apply(c)
        if not isinstance(got, Reply):
            raise InvalidInput("host", f"apply must return a Reply, got {got!r}")
        why = _reply_differs(want, got)
        if why is not None:
            raise HostDiverged(tuple(self.done), why, want, got)
        for case_id in self.model.cases if isinstance(c, PassTime) else (c.case_id,):
            expected, seen = self.model.look(case_id), self.host.look(case_id)
            if seen is not None and not isinstance(seen, Seen):
                raise InvalidInput("host", f"look must return a Seen or None, got {seen!r}")
            why = _seen_differs(expected, seen)
            if why is not None:
                raise HostDiverged(tuple(self.done), f"then {case_id}: {why}", expected, seen)

    def trails(self) -> list[tuple[Any, ...]]:
        return [tuple(self.model.engine.trail(c)) for c in dict.fromkeys(self.model.cases)]


class _Setup:
    """What every run of one model test shares: the model, the host, the start; a tally."""

    def __init__(self, workflow: Workflow, host: Host, start: datetime, calendar: Calendar) -> None:
        self.workflow = workflow
        self.host = host
        self.start = start
        self.calendar = calendar
        self.sent = 0
        """Commands sent to the host so far."""
        self._now = _Now(start)
        self._base = Engine([workflow], clock=self._now, calendar=calendar)

    def model(self) -> _Model:
        """A fresh model: no case yet, its clock at the start."""
        return _Model(self.workflow, self._base, self._now, self.start)

    def run(self) -> _Run:
        return _Run(self.model(), self.host)

    def play(
        self,
        commands: Sequence[HostCommand],
        after: Callable[[_Run, int], None] | None = None,
    ) -> HostDiverged | None:
        """Play ``commands`` on a fresh host; the divergence, if any (``after``: probes)."""
        self.host.start(self.start)
        run = self.run()
        try:
            for i, c in enumerate(commands):
                run.step(c)
                if after is not None:
                    after(run, i)
        except HostDiverged as e:
            return e
        finally:
            self.finish(run)
        return None

    def finish(self, run: _Run) -> None:
        """The host stopped; the run's commands counted and its trails recorded."""
        self.sent += len(run.done)
        self.host.stop()
        if _recording():
            _record(self.workflow, run.trails(), ())

    def shrink(self, found: HostDiverged) -> HostDiverged:
        """Drop every command the divergence does not need (each tried, until none can go)."""
        trials = 0
        shrinking = True
        while shrinking and trials < _SHRINK_TRIALS:
            shrinking = False
            for i in reversed(range(1, len(found.commands) - 1)):
                trials += 1
                again = self.play((*found.commands[:i], *found.commands[i + 1 :]))
                if again is not None and len(again.commands) < len(found.commands):
                    found, shrinking = again, True
                    break
        return found
