"""The audit trail: one hash-chained entry per opening, transition and refusal.

Each entry carries the hash of the one before it and its own SHA-256 over the RFC 8785
(JCS) encoding of everything else, times in UTC ISO 8601 (see ``docs/trail-format.md``). The
first entry of a case links to a genesis hash derived from the case id, so a trail cannot
be passed off as another case's. Given the last known head (its sequence number and hash,
kept apart from the trail, for instance by the store or in a report), `verify` detects any
edit, deletion, insertion, reordering or truncation, and says which entry broke.

Building an entry is pure: the time comes in as an argument, never from a clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from hashlib import sha256
from typing import Any, Final

from attrs import Factory, field, frozen

from ._canonical import ABSENT, FORMAT, FORMATS, canonical, plain_text
from ._case import Actor
from ._clock import to_utc
from ._frozen import EMPTY, FrozenMap, freeze, frozen_map, text_problem, thaw
from ._verdict import CheckKind, Verdict
from .exceptions import InvalidInput, TrailBroken

__all__ = [
    "ABSENT",
    "AuditEntry",
    "ChainHead",
    "Change",
    "EntryKind",
    "Verification",
    "build_entry",
    "genesis_hash",
    "verify",
]

MEMBERS: Final = frozenset(
    {
        "format", "case_id", "seq", "kind", "at", "actor", "event", "from", "to", "reason",
        "reason_code", "changes", "evidence", "verdicts", "workflow", "workflow_version",
        "assignee", "prev_hash", "timer", "details", "hash",
    }
)  # fmt: skip
"""The members an entry's JSON object may hold (``timer`` and ``details`` only when set).

Anything else is refused when an entry is read: a member the hash does not cover could
otherwise ride along unnoticed."""


class EntryKind(StrEnum):
    """What an audit entry records."""

    OPENED = "opened"
    """The case was opened."""
    TRANSITION = "transition"
    """A transition was committed."""
    REFUSED = "refused"
    """A transition was attempted and refused; the case did not change."""
    APPROVAL_REQUESTED = "approval_requested"
    """A transition that needs approval was requested; it waits for an approver."""
    APPROVAL_REJECTED = "approval_rejected"
    """An approver rejected the pending request, with a reason."""
    RECORDED = "recorded"
    """Data or documents were recorded without a change of state."""
    ASSIGNED = "assigned"
    """The case was given to another worker."""
    APPROVAL_CANCELLED = "approval_cancelled"
    """A waiting request was cancelled by what the step did (a move, a transfer)."""
    HANDOVER_SENT = "handover_sent"
    """A referral, transfer or transfer request was sent; its addressee must answer."""
    HANDOVER_ANSWERED = "handover_answered"
    """A handover was accepted, rejected, marked done, revoked or cancelled."""
    VIEWED = "viewed"
    """Someone read personal fields through `Engine.read`; the case did not change."""
    MIGRATED = "migrated"
    """The case moved to another version of its workflow."""
    APPROVAL_VOTED = "approval_voted"
    """One vote on a request that needs several approvers; the request waits on."""
    LINKED = "linked"
    """The case was linked to another case (the other case's trail has the other end)."""
    ERASED = "erased"
    """The case's personal values were erased: its data key destroyed, its trail whole."""


@frozen
class Change:
    """One data field's value before and after a step.

    Attributes:
        field: The data field.
        after: Its new value.
        before: Its old value, or `ABSENT` if it had none.
    """

    field: str
    after: Any
    before: Any = ABSENT

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form; ``before`` is left out when absent."""
        out = {"field": self.field, "after": thaw(self.after)}
        if self.before is not ABSENT:
            out["before"] = thaw(self.before)
        return out


@frozen
class ChainHead:
    """Where a trail ends: the last entry's sequence number and hash.

    Keep the head apart from the trail (the store does); with it, `verify` also detects
    entries removed from the end.
    """

    seq: int
    hash: str


@frozen(repr=False)
class AuditEntry:
    """One line of a case's audit trail.

    Attributes:
        case_id: The case.
        seq: 1 for the opening, then one more per entry (refusals included).
        kind: Opening, transition or refusal.
        at: When (UTC, from the engine's clock).
        actor_id: Who acted.
        actor_roles: The roles they acted with, sorted.
        event: The event (``open`` for the opening).
        from_state: The state before (None for the opening).
        to_state: The state after (for a refusal, the unchanged state).
        reason: The written reason given, if any.
        reason_code: The reason code given, if any.
        changes: Data fields changed by this step, before and after.
        evidence: Documents added or replaced by this step: kind → reference.
        verdicts: For a transition, the verdicts of its guard; for a refusal, every check
            that failed.
        workflow: The workflow's name.
        workflow_version: The workflow version the case was on.
        assignee: The case's assignee after this step.
        prev_hash: The previous entry's hash (the genesis hash for the first).
        timer: The timer that fired this step, when the system did it on its own
            (left out of the encoding when None, so older entries keep their hashes).
        details: What else this kind of step records: who requested an approved step,
            who overrode a missing consent and which, the worker a case was assigned
            from (left out of the encoding when empty).
        format: The encoding the hash covers (see the trail format page): 2 for
            entries written now, 1 for entries written before format 2 existed.
    """

    case_id: str
    seq: int
    kind: EntryKind
    at: datetime
    actor_id: str
    actor_roles: tuple[str, ...]
    event: str
    from_state: str | None
    to_state: str
    reason: str | None
    reason_code: str | None
    changes: tuple[Change, ...]
    evidence: FrozenMap[str] = field(converter=frozen_map)
    verdicts: tuple[Verdict, ...]
    workflow: str
    workflow_version: int
    assignee: str | None
    prev_hash: str
    timer: str | None = None
    details: FrozenMap[str] = field(converter=frozen_map, factory=FrozenMap)
    format: int = FORMAT
    _text: str | None = field(default=None, init=False, eq=False, repr=False)
    hash: str = field(default=Factory(lambda e: e.computed_hash(keep=True), takes_self=True))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.case_id}#{self.seq} {self.kind.value} {self.event}>"

    @property
    def head(self) -> ChainHead:
        """This entry as a chain head."""
        return ChainHead(self.seq, self.hash)

    def body(self) -> dict[str, Any]:
        """Return the JSON form of every field but ``hash``: what the hash covers."""
        body = {
            "format": self.format,
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "actor": {"id": self.actor_id, "roles": list(self.actor_roles)},
            "event": self.event,
            "from": self.from_state,
            "to": self.to_state,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "changes": [c.to_json() for c in self.changes],
            "evidence": self.evidence.as_dict(),
            "verdicts": [v.to_json() for v in self.verdicts],
            "workflow": self.workflow,
            "workflow_version": self.workflow_version,
            "assignee": self.assignee,
            "prev_hash": self.prev_hash,
        }
        if self.timer is not None:
            body["timer"] = self.timer
        if self.details:
            body["details"] = self.details.as_dict()
        return body

    def to_json(self) -> dict[str, Any]:
        """Return the full JSON form, hash included (one line of a JSON Lines export)."""
        out = self.body()
        out["hash"] = self.hash
        return out

    def computed_hash(self, *, keep: bool = False) -> str:
        """Recompute the hash from the content; equal to ``hash`` unless tampered with.

        ``keep`` (a new entry's own hash) keeps the text hashed for `stored_text`, when
        it is also a faithful JSON copy (`plain_text`).
        """
        body = self.body()
        free = (body["changes"], body["evidence"], body.get("details", {}))
        text = plain_text(body, self.format, free=free)
        if text is None:
            return sha256(canonical(body, self.format, free=free)).hexdigest()
        if keep:
            object.__setattr__(self, "_text", text)
        return sha256(text.encode()).hexdigest()

    def stored_text(self) -> str:
        """`to_json` as text, what a store writes: for a new entry, the text it hashed."""
        if self._text is None:
            return json.dumps(
                self.to_json(), ensure_ascii=False, separators=(",", ":"), allow_nan=False
            )
        return f'{{"hash":"{self.hash}",{self._text[1:]}'

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AuditEntry:
        """Rebuild an entry from `to_json` output, without checking its hash.

        Raises:
            TrailBroken: if a field is missing or of the wrong type.
        """
        seq = raw.get("seq") if isinstance(raw, Mapping) else None
        seq = seq if type(seq) is int else None
        given = raw if isinstance(raw, Mapping) else {}
        unknown = sorted(str(k) for k in given if k not in MEMBERS)
        if unknown:
            case_id = given.get("case_id")
            msg = (
                f"unknown member{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}:"
                " an entry holds only the members of the trail format"
            )
            raise TrailBroken(case_id if isinstance(case_id, str) else None, seq, msg)
        try:
            encoding = raw["format"]
            if type(encoding) is not int or encoding not in FORMATS:
                msg = f"unknown entry format {encoding!r}"
                raise TrailBroken(None, seq, msg)  # noqa: TRY301 - one handler for all shape errors
            actor = raw["actor"]
            return cls(
                case_id=_str(raw["case_id"]),
                seq=_int(raw["seq"]),
                kind=EntryKind(raw["kind"]),
                at=_time(raw["at"]),
                actor_id=_str(actor["id"]),
                actor_roles=tuple(_str(r) for r in actor["roles"]),
                event=_str(raw["event"]),
                from_state=_opt_str(raw["from"]),
                to_state=_str(raw["to"]),
                reason=_opt_str(raw["reason"]),
                reason_code=_opt_str(raw["reason_code"]),
                changes=tuple(
                    Change(
                        _str(c["field"]),
                        freeze(c["after"]),
                        freeze(c["before"]) if "before" in c else ABSENT,
                    )
                    for c in raw["changes"]
                ),
                evidence={_str(k): _str(v) for k, v in raw["evidence"].items()},
                verdicts=tuple(_verdict(v) for v in raw["verdicts"]),
                workflow=_str(raw["workflow"]),
                workflow_version=_int(raw["workflow_version"]),
                assignee=_opt_str(raw["assignee"]),
                prev_hash=_str(raw["prev_hash"]),
                hash=_str(raw["hash"]),
                timer=_opt_str(raw.get("timer")),
                details={_str(k): _str(v) for k, v in raw.get("details", {}).items()},
                format=encoding,
            )
        except TrailBroken:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, InvalidInput) as exc:
            raise TrailBroken(None, seq, f"malformed entry: {exc!r}") from None


def _verdict(raw: Mapping[str, Any]) -> Verdict:
    passed = raw["passed"]
    if not isinstance(passed, bool):
        raise TypeError(f"expected true or false, got {passed!r}")
    return Verdict(
        kind=CheckKind(raw["kind"]),
        check=_str(raw["check"]),
        passed=passed,
        why=_str(raw["why"]),
        dest=_opt_str(raw.get("dest")),
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    why = text_problem(value)
    if why is not None:
        raise ValueError(f"text that {why}: {value[:40]!r}")
    return value


def _time(value: object) -> datetime:
    return to_utc(datetime.fromisoformat(_str(value)), "at")


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def genesis_hash(case_id: str) -> str:
    """The ``prev_hash`` of a case's first entry: binds the chain to the case id."""
    return hashlib.sha256(b"casework_flow genesis\x00" + case_id.encode()).hexdigest()


def build_entry(
    *,
    case_id: str,
    seq: int,
    kind: EntryKind,
    at: datetime,
    actor: Actor,
    event: str,
    from_state: str | None,
    to_state: str,
    workflow: str,
    workflow_version: int,
    prev_hash: str,
    assignee: str | None,
    reason: str | None = None,
    reason_code: str | None = None,
    changes: Sequence[Change] = (),
    evidence: Mapping[str, str] = EMPTY,
    verdicts: Sequence[Verdict] = (),
    timer: str | None = None,
    details: Mapping[str, str] = EMPTY,
) -> AuditEntry:
    """Build an entry and compute its hash. Pure: every input is an argument."""
    return AuditEntry(
        case_id=case_id,
        seq=seq,
        kind=kind,
        at=at,
        actor_id=actor.id,
        actor_roles=actor.sorted_roles,
        event=event,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        reason_code=reason_code,
        changes=tuple(changes),
        evidence=evidence,
        verdicts=tuple(verdicts),
        workflow=workflow,
        workflow_version=workflow_version,
        assignee=assignee,
        prev_hash=prev_hash,
        timer=timer,
        details=details,
    )


@frozen
class Verification:
    """The result of `verify`.

    Attributes:
        ok: Whether the whole trail is intact (and reaches the known head, if given).
        case_id: The case the trail belongs to, if it could be told.
        entries: How many entries were read.
        head: The head the trail ends at, when it verified.
        broken_at: The sequence number where it first broke (or should have continued).
        problem: What is wrong, in a sentence.
    """

    ok: bool
    case_id: str | None
    entries: int
    head: ChainHead | None = None
    broken_at: int | None = None
    problem: str | None = None

    def raise_if_broken(self) -> None:
        """Raise `TrailBroken` with the details if the trail did not verify."""
        if not self.ok:
            raise TrailBroken(self.case_id, self.broken_at, self.problem or "unknown problem")


def _link_problem(entry: AuditEntry, seq: int, case_id: str, prev: str) -> str | None:
    if entry.case_id != case_id:
        return f"entry belongs to case {entry.case_id!r}"
    if entry.seq != seq:
        return (
            f"expected entry {seq} here, found entry {entry.seq}:"
            " entries were removed, inserted or reordered"
        )
    if entry.prev_hash != prev:
        return "it does not link to the entry before it"
    if entry.computed_hash() != entry.hash:
        return "its content does not match its hash: it was altered"
    if (entry.kind is EntryKind.OPENED) != (seq == 1):
        return "the trail does not start with the opening" if seq == 1 else "a second opening"
    return None


def _head_problem(trail: Sequence[AuditEntry], head: ChainHead) -> tuple[int, str] | None:
    last = trail[-1].seq
    if head.seq < 1:
        return 1, f"the known head names entry {head.seq}, which cannot exist"
    if head.seq < last:
        return head.seq + 1, (
            f"the trail goes on to entry {last} past the known head, entry {head.seq}:"
            " entries were added behind the store's back"
        )
    if head.seq > last:
        return last + 1, (
            f"the trail ends at entry {last} but the known head is entry {head.seq}:"
            " entries were removed from the end"
        )
    if trail[head.seq - 1].hash != head.hash:
        return head.seq, "it differs from the known head: the trail was rewritten"
    return None


def verify(
    trail: Sequence[AuditEntry], *, head: ChainHead | None = None, case_id: str | None = None
) -> Verification:
    """Check a case's trail link by link, and against a known head if one is given.

    Args:
        trail: The case's entries, oldest first.
        head: Where the trail is known to end (the store's head, a head kept elsewhere);
            without it, removing entries from the end cannot be told from a shorter
            history. A trail that goes on past it is broken too.
        case_id: The case the trail must belong to; without it, the first entry's.

    Returns:
        A `Verification`; call ``raise_if_broken()`` to turn a failure into `TrailBroken`.
    """
    n = len(trail)
    if not n:
        return Verification(
            ok=False,
            case_id=None,
            entries=0,
            broken_at=1,
            problem="the trail is empty; it must start with the opening",
        )
    case_id = trail[0].case_id if case_id is None else case_id
    prev = genesis_hash(case_id)
    for seq, entry in enumerate(trail, 1):
        problem = _link_problem(entry, seq, case_id, prev)
        if problem is not None:
            return Verification(
                ok=False, case_id=case_id, entries=n, broken_at=seq, problem=problem
            )
        prev = entry.hash
    found = _head_problem(trail, head) if head is not None else None
    if found is not None:
        return Verification(
            ok=False, case_id=case_id, entries=n, broken_at=found[0], problem=found[1]
        )
    return Verification(ok=True, case_id=case_id, entries=n, head=trail[-1].head)
