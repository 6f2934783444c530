"""Trails out of and into the library: JSON Lines and CSV, personal data masked by default.

An export is for people outside the case system (an auditor, a court, a statistics
office). Fields the workflow marks as personal are replaced by ``***`` unless the caller
explicitly asks for them (``include_personal=True``), and a masked JSON Lines entry lists
what was masked. A masked trail no longer matches its hashes, so only a full export can be
imported; an import verifies the whole chain before anything is written.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any, Final

from ._audit import AuditEntry, ChainHead, verify
from ._case import MASK
from ._definition import Workflow
from .exceptions import TrailBroken

__all__ = ["MASK", "entry_json", "export_csv", "export_jsonl", "read_jsonl"]

CSV_COLUMNS: Final = (
    "case_id",
    "seq",
    "kind",
    "at",
    "actor_id",
    "actor_roles",
    "event",
    "timer",
    "from_state",
    "to_state",
    "reason_code",
    "reason",
    "changes",
    "evidence",
    "failed_checks",
    "details",
    "prev_hash",
    "hash",
)


def _masked(entry: AuditEntry, personal: frozenset[str]) -> tuple[dict[str, Any], list[str]]:
    raw = entry.to_json()
    hidden: list[str] = []
    for change in raw["changes"]:
        if change["field"] in personal:
            change["after"] = MASK
            if "before" in change:
                change["before"] = MASK
            hidden.append(f"changes.{change['field']}")
    if personal:
        mentions = re.compile(r"\b(" + "|".join(map(re.escape, sorted(personal))) + r")\b")
        for i, verdict in enumerate(raw["verdicts"]):
            if mentions.search(verdict["check"]) or mentions.search(verdict["why"]):
                verdict["why"] = MASK
                hidden.append(f"verdicts[{i}].why")
    return raw, hidden


def entry_json(entry: AuditEntry, personal: frozenset[str]) -> dict[str, Any]:
    """The entry's JSON object with ``personal`` fields masked, as `export_jsonl` writes it."""
    raw, hidden = _masked(entry, personal)
    if hidden:
        raw["masked"] = hidden
    return raw


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def export_jsonl(
    trail: Iterable[AuditEntry],
    out: IO[str],
    *,
    workflow: Workflow,
    include_personal: bool = False,
) -> int:
    """Write one JSON object per entry; return how many were written.

    Args:
        trail: The entries, oldest first.
        out: A text stream.
        workflow: The case's workflow, for its personal fields.
        include_personal: Write personal fields as they are. Only such an export can be
            imported again.
    """
    personal = frozenset() if include_personal else workflow.personal
    n = 0
    for entry in trail:
        out.write(_dumps(entry_json(entry, personal)) + "\n")
        n += 1
    return n


def export_csv(
    trail: Iterable[AuditEntry],
    out: IO[str],
    *,
    workflow: Workflow,
    include_personal: bool = False,
) -> int:
    """Write a CSV table (one row per entry, header first); return the rows written.

    Changes are ``field=value`` pairs (values as JSON), documents ``kind=reference``
    pairs, failed checks their sentences and details (who requested an approved step,
    who overrode a consent, the units of a transfer) ``key=value`` pairs, each joined
    with ``; ``.
    """
    personal = frozenset() if include_personal else workflow.personal
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for entry in trail:
        raw, _ = _masked(entry, personal)
        changes = "; ".join(f"{c['field']}={_dumps(c['after'])}" for c in raw["changes"])
        failed = "; ".join(v["why"] for v in raw["verdicts"] if not v["passed"])
        writer.writerow(
            (
                entry.case_id,
                entry.seq,
                entry.kind.value,
                entry.at.isoformat(),
                entry.actor_id,
                ";".join(entry.actor_roles),
                entry.event,
                entry.timer or "",
                entry.from_state or "",
                entry.to_state,
                entry.reason_code or "",
                entry.reason or "",
                changes,
                "; ".join(f"{k}={v}" for k, v in sorted(entry.evidence.items())),
                failed,
                "; ".join(f"{k}={v}" for k, v in sorted(entry.details.items())),
                entry.prev_hash,
                entry.hash,
            )
        )
        n += 1
    return n


def read_jsonl(
    lines: Iterable[str | bytes], *, head: ChainHead | None = None, source: str = "input"
) -> Sequence[AuditEntry]:
    """Read a JSON Lines trail and verify its chain before returning it.

    Args:
        lines: The lines (text or UTF-8 bytes); blank lines are skipped.
        head: The head the trail must reach, if known.
        source: Named in errors (a file name).

    Raises:
        TrailBroken: naming the line or entry that is unreadable, masked or broken.
    """
    entries = []
    for number, line in enumerate(lines, 1):
        where = f"{source}, line {number}"
        try:
            text = line.decode() if isinstance(line, bytes) else line
        except UnicodeDecodeError:
            raise TrailBroken(None, None, f"{where} is not UTF-8 text") from None
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as exc:
            why = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
            raise TrailBroken(None, None, f"{where} is not JSON: {why}") from None
        if not isinstance(raw, dict):
            raise TrailBroken(None, None, f"{where} is not a JSON object")
        if "masked" in raw:
            msg = (
                f"{where} comes from a masked export ({', '.join(map(str, raw['masked']))});"
                " import needs an export made with include_personal=True"
            )
            raise TrailBroken(raw.get("case_id"), raw.get("seq"), msg)
        try:
            entries.append(AuditEntry.from_json(raw))
        except TrailBroken as exc:
            raise TrailBroken(exc.case_id, exc.seq, f"{where}: {exc.problem}") from None
    verify(entries, head=head).raise_if_broken()
    return tuple(entries)
