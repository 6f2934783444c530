"""A trail as a table a person can read, with labels in the workflow's locales."""

from __future__ import annotations

from collections.abc import Sequence

from ._audit import AuditEntry, EntryKind
from ._definition import Workflow

__all__ = ["format_trail"]

_HEADERS = ("#", "when (UTC)", "actor", "step", "state after")
_PREFIX = {
    EntryKind.REFUSED: "REFUSED",
    EntryKind.APPROVAL_REQUESTED: "REQUESTED",
    EntryKind.APPROVAL_REJECTED: "REJECTED",
    EntryKind.RECORDED: "RECORDED",
    EntryKind.ASSIGNED: "ASSIGNED",
    EntryKind.APPROVAL_CANCELLED: "APPROVAL CANCELLED",
    EntryKind.HANDOVER_SENT: "HANDOVER SENT",
    EntryKind.HANDOVER_ANSWERED: "HANDOVER ANSWERED",
    EntryKind.VIEWED: "VIEWED",
    EntryKind.MIGRATED: "MIGRATED",
    EntryKind.APPROVAL_VOTED: "VOTED",
    EntryKind.LINKED: "LINKED",
    EntryKind.ERASED: "ERASED",
}


def format_trail(
    trail: Sequence[AuditEntry], workflow: Workflow, *, locales: Sequence[str] = ("id", "en")
) -> str:
    """Render a trail as a text table; each label shows in every locale given.

    Reasons, codes, documents and the reasons for refusals follow their row, indented.
    Personal data fields (``workflow.personal``) show as ``***``.
    """
    rows: list[tuple[str, ...]] = []
    notes: list[list[str]] = []
    for e in trail:
        step = e.event if e.kind is EntryKind.OPENED else _event_label(workflow, e, locales)
        prefix = _PREFIX.get(e.kind)
        if prefix:
            step = f"{prefix} {step}"
        rows.append(
            (
                str(e.seq),
                e.at.strftime("%Y-%m-%d %H:%M"),
                e.actor_id,
                step,
                _state_label(workflow, e.to_state, locales),
            )
        )
        notes.append(_notes(e, workflow))
    widths = [max(len(r[i]) for r in (_HEADERS, *rows)) for i in range(len(_HEADERS))]
    indent = " " * (widths[0] + 3)

    def line(cells: Sequence[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(_HEADERS), "-+-".join("-" * w for w in widths)]
    for row, extra in zip(rows, notes, strict=True):
        out.append(line(row))
        out.extend(indent + n for n in extra)
    return "\n".join(out)


def _event_label(workflow: Workflow, e: AuditEntry, locales: Sequence[str]) -> str:
    for t in workflow.transitions:
        if t.event == e.event:
            labels = dict.fromkeys(t.label(loc) for loc in locales)
            return f"{e.event} ({' · '.join(labels)})"
    return e.event


def _state_label(workflow: Workflow, state: str, locales: Sequence[str]) -> str:
    if not workflow.has_state(state):
        return state
    s = workflow.state(state)
    labels = dict.fromkeys(s.label(loc) for loc in locales)
    return f"{state}: {' · '.join(labels)}"


def _notes(e: AuditEntry, workflow: Workflow) -> list[str]:
    out = []
    if e.timer:
        out.append(f"timer: {e.timer}")
    if e.details:
        extra = {k: v for k, v in e.details.items() if k not in {"dest", "approvers"}}
        if e.kind is EntryKind.APPROVAL_REQUESTED:
            out.append(f"awaiting approval by {e.details.get('approvers', '')}")
        if e.kind is EntryKind.ASSIGNED:
            out.append(f"assigned from {extra.pop('from', '') or '(nobody)'} to {e.assignee}")
        out.extend(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(extra.items()))
    if e.reason_code:
        out.append(f"reason code: {e.reason_code}")
    if e.reason:
        out.append(f"reason: {e.reason}")
    if e.changes:
        shown = ", ".join(
            f"{c.field}={'***' if c.field in workflow.personal else c.after!r}" for c in e.changes
        )
        out.append(f"data: {shown}")
    if e.evidence:
        out.append("documents: " + ", ".join(sorted(e.evidence)))
    if e.kind is EntryKind.REFUSED:
        out.extend(f"why: {v.why}" for v in e.verdicts if not v.passed)
    return out
