"""Every error casework_flow raises, with the data a host needs to show it to a person.

The tree::

    CaseworkError
     ├── WorkflowError (also ValueError)        a definition is invalid
     ├── InvalidInput (also ValueError)         an argument a caller passed is unusable
     ├── UnknownWorkflow (also LookupError)     no such workflow name or version
     ├── UnknownCase (also LookupError)         no such case id in the store
     ├── CaseExists                             a case id is already taken
     ├── UnknownEvent (also LookupError)        the workflow has no such event
     ├── TransitionRejected                     a guard, role or requirement failed
     ├── ConcurrentModification                 the case changed since it was read
     ├── TrailBroken                            an audit trail failed verification
     ├── ReplayError                            a trail does not fit its workflow
     ├── StoreError                             the store could not do its work
     └── ListenerFailed                         a transition committed, a listener raised

Errors of the libraries underneath (`transitions`, the standard library) never leak out of
the public API: they are translated into one of these at the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from attrs import frozen

if TYPE_CHECKING:
    from ._case import Case
    from ._verdict import Verdict

__all__ = [
    "CaseExists",
    "CaseworkError",
    "CheckpointInvalid",
    "ConcurrentModification",
    "ContractBroken",
    "FeedPositionConflict",
    "InvalidInput",
    "KeyMissing",
    "KeysMismatch",
    "ListenerFailed",
    "OutOfScope",
    "Problem",
    "ReplayError",
    "StoreError",
    "TrailBroken",
    "TransitionRejected",
    "UnknownCase",
    "UnknownEvent",
    "UnknownWorkflow",
    "WorkflowError",
]


class CaseworkError(Exception):
    """The root of every error raised by casework_flow.

    Attributes:
        message: The human-readable explanation, also ``str(error)``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@frozen
class Problem:
    """One problem in a workflow definition, and where it is.

    Attributes:
        message: What is wrong, with the nearest valid name where one fits.
        path: Where in the definition (``transitions[3].guard.fact``); empty for the
            whole definition.
        file: The file it came from, if any.
        line: 1-based line in that file (YAML and JSON), if known.
        column: 1-based column, if known.
    """

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        parts = [p for p in (where, self.path, self.message) if p]
        return ": ".join(parts)


class WorkflowError(CaseworkError, ValueError):
    """A workflow definition is invalid; raised when it is built, never when a case fires.

    Attributes:
        workflow: The workflow's name, if it got that far.
        details: Every problem found, as `Problem` values with their locations.
        problems: The same, each as one sentence (``str(problem)``).
    """

    def __init__(self, workflow: str | None, problems: Sequence[str | Problem]) -> None:
        self.workflow = workflow
        self.details = tuple(p if isinstance(p, Problem) else Problem(p) for p in problems)
        self.problems = tuple(str(p) for p in self.details)
        where = f"workflow {workflow!r}" if workflow else "workflow"
        if len(self.problems) == 1:
            message = f"{where} is invalid: {self.problems[0]}"
        else:
            listed = "".join(f"\n  - {p}" for p in self.problems)
            message = f"{where} has {len(self.problems)} problems:{listed}"
        super().__init__(message)


class InvalidInput(CaseworkError, ValueError):
    """A value passed to the library cannot be used (not JSON data, a naive datetime...).

    Attributes:
        field: Which argument or data field was wrong.
        problem: What was wrong with it, in a sentence.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.problem = message
        super().__init__(f"{field}: {message}")


class UnknownWorkflow(CaseworkError, LookupError):
    """No workflow with this name (or this version of it) is registered.

    Attributes:
        workflow: The name asked for.
        version: The version asked for, or None for "the latest".
        known: The (name, version) pairs that are registered.
    """

    def __init__(
        self, workflow: str, version: int | None, known: Sequence[tuple[str, int]]
    ) -> None:
        self.workflow = workflow
        self.version = version
        self.known = tuple(known)
        asked = workflow if version is None else f"{workflow} version {version}"
        listed = ", ".join(f"{n} v{v}" for n, v in self.known) or "none"
        super().__init__(f"unknown workflow {asked}; registered: {listed}")


class UnknownCase(CaseworkError, LookupError):
    """The store holds no case with this id.

    Attributes:
        case_id: The id asked for.
    """

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case with id {case_id!r}")


class CaseExists(CaseworkError):
    """A case was opened with an id the store already holds.

    The error says nothing of the case that holds the id (not its unit, workflow or
    state): the id may belong to another unit's case.

    Attributes:
        case_id: The id that is taken.
    """

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"the case id {case_id!r} is taken; leave the id out to have one made")


class UnknownEvent(CaseworkError, LookupError):
    """An event was fired that the case's workflow does not define at all.

    Attributes:
        case_id: The case it was fired on.
        event: The event name given.
        workflow: The case's workflow name.
        suggestions: Defined events whose names are close to the one given.
    """

    def __init__(self, case_id: str, event: str, workflow: str, suggestions: Sequence[str]) -> None:
        self.case_id = case_id
        self.event = event
        self.workflow = workflow
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {' or '.join(map(repr, self.suggestions))}?" if suggestions else ""
        super().__init__(f"case {case_id}: workflow {workflow!r} has no event {event!r}{hint}")


class TransitionRejected(CaseworkError):
    """A transition was refused; the case and its state are unchanged.

    Attributes:
        case_id: The case.
        event: The event that was refused.
        state: The state the case is (still) in.
        reasons: Every failed check, each a `Verdict` with ``passed`` False.
    """

    def __init__(self, case_id: str, event: str, state: str, reasons: Sequence[Verdict]) -> None:
        self.case_id = case_id
        self.event = event
        self.state = state
        self.reasons = tuple(reasons)
        listed = "".join(f"\n  - {r.why}" for r in self.reasons)
        super().__init__(f"case {case_id}: {event} refused in state {state}:{listed}")


class ConcurrentModification(CaseworkError):
    """The case changed after it was read; nothing was written.

    Re-read the case, check again that the step still makes sense, and fire again
    (`Engine.fire` does the re-reading when called without ``expected_revision``).

    Attributes:
        case_id: The case.
        expected_revision: The revision the caller worked from.
        actual_revision: The revision in the store, when known.
    """

    def __init__(
        self, case_id: str, expected_revision: int | None, actual_revision: int | None
    ) -> None:
        self.case_id = case_id
        self.expected_revision = expected_revision
        self.actual_revision = actual_revision
        now = "" if actual_revision is None else f", it is now at revision {actual_revision}"
        super().__init__(
            f"case {case_id} changed since revision {expected_revision} was read{now};"
            " nothing was written"
        )


class FeedPositionConflict(CaseworkError):
    """A feed consumer's stored position is not the one it moved from; nothing was written.

    Another run of the same consumer got there first (or this one is replaying): roll
    back what it wrote with the position, read the stored position and go on from there.

    Attributes:
        consumer: The consumer's name.
        expected: The position the caller moved from.
        stored: The position stored for the consumer.
    """

    def __init__(self, consumer: str, expected: int, stored: int) -> None:
        self.consumer = consumer
        self.expected = expected
        self.stored = stored
        super().__init__(
            f"feed consumer {consumer} is at position {stored}, not {expected}; nothing was written"
        )


class TrailBroken(CaseworkError):
    """An audit trail failed verification.

    Attributes:
        case_id: The case the trail belongs to, when known.
        seq: The sequence number of the first entry found broken (or expected there).
        problem: What is wrong with it.
    """

    def __init__(self, case_id: str | None, seq: int | None, problem: str) -> None:
        self.case_id = case_id
        self.seq = seq
        self.problem = problem
        where = f"case {case_id}" if case_id else "trail"
        at = f" at entry {seq}" if seq is not None else ""
        super().__init__(f"{where}: audit trail broken{at}: {problem}")


class CheckpointInvalid(CaseworkError):
    """A checkpoint cannot be trusted: unreadable, signed by another key, or altered.

    Attributes:
        problem: What is wrong with it.
        source: Where it was read from (a file and line), when it was read from one.
    """

    def __init__(self, problem: str, source: str | None = None) -> None:
        self.problem = problem
        self.source = source
        super().__init__(f"{source or 'checkpoint'}: {problem}")


class ContractBroken(CaseworkError):
    """A step would break a contract of the workflow; nothing was committed.

    Raised only by an engine made with ``check_contracts=True``: a state's invariant,
    or a transition's precondition or postcondition, failed on the step. It is a
    defect of the process (or of the data the host let through), not a refusal.

    Attributes:
        case_id: The case.
        event: The event that was fired.
        contracts: What failed, one sentence each.
    """

    def __init__(self, case_id: str, event: str, contracts: Sequence[str]) -> None:
        self.case_id = case_id
        self.event = event
        self.contracts = tuple(contracts)
        super().__init__(
            f"case {case_id}: {event} would break the workflow's contracts: "
            + "; ".join(self.contracts)
        )


class ReplayError(CaseworkError):
    """A trail verifies but cannot be replayed on the given workflow.

    Attributes:
        case_id: The case.
        seq: The entry that does not fit.
        problem: Why.
    """

    def __init__(self, case_id: str | None, seq: int | None, problem: str) -> None:
        self.case_id = case_id
        self.seq = seq
        self.problem = problem
        at = f" at entry {seq}" if seq is not None else ""
        super().__init__(f"case {case_id}: cannot replay{at}: {problem}")


class StoreError(CaseworkError):
    """The store could not read or write; nothing half-written was left behind.

    Attributes:
        case_id: The case it was reading or writing, when there was one.
        seq: The sequence number of a stored entry that could not be read, if any.
    """

    def __init__(self, message: str, *, case_id: str | None = None, seq: int | None = None) -> None:
        super().__init__(message)
        self.case_id = case_id
        self.seq = seq


class OutOfScope(CaseworkError, PermissionError):
    """A queue or count was asked for units the actor does not work in; nothing was read.

    Attributes:
        actor_id: Who asked.
        what: The queue or count asked for.
        units: The units asked for that are not the actor's.
        allowed: The units the actor works in.
    """

    def __init__(
        self, actor_id: str, what: str, units: Iterable[str], allowed: Iterable[str]
    ) -> None:
        self.actor_id = actor_id
        self.what = what
        self.units = tuple(sorted(units))
        self.allowed = tuple(sorted(allowed))
        super().__init__(
            f"{actor_id} asked for {what} of {', '.join(self.units)};"
            f" they work in {', '.join(self.allowed)} only"
        )


class ListenerFailed(CaseworkError):
    """A transition was committed, then one or more listeners raised.

    The transition stands: the case is at its new state. The errors are attached so the
    host can log or retry its own side effects.

    Attributes:
        case: The case as committed.
        errors: The exceptions the listeners raised, in the order they ran.
    """

    def __init__(self, case: Case, errors: Sequence[BaseException]) -> None:
        self.case = case
        self.errors = tuple(errors)
        names = ", ".join(type(e).__name__ for e in self.errors)
        super().__init__(
            f"case {case.id}: committed at revision {case.revision}, but listeners failed: {names}"
        )


class KeyMissing(CaseworkError):
    """A personal value could not be sealed or opened with its case's data key.

    Attributes:
        case_id: The case.
    """

    def __init__(self, case_id: str, problem: str) -> None:
        self.case_id = case_id
        super().__init__(f"{case_id}: {problem}")


class KeysMismatch(CaseworkError):
    """A wrapped data key does not unwrap with the key-encryption key given.

    Attributes:
        case_id: The case whose key did not unwrap.
    """

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(
            f"{case_id}: its data key does not unwrap with this key-encryption key"
            " (a wrong key, or one rotated away); nothing was read"
        )


def first_line(exc: BaseException) -> str:
    """The first line of an error from a driver, or its type's name when it says nothing."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
