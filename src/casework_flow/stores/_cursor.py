"""Opaque page cursors, shared by every store so a cursor means the same everywhere."""

from __future__ import annotations

from datetime import datetime

from ..exceptions import InvalidInput

__all__ = ["MAX_PAGE", "check_limit", "decode", "encode"]

MAX_PAGE = 10_000


def check_limit(limit: object) -> None:
    """Refuse a page size that is not a whole number from 1 to `MAX_PAGE`."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be an integer from 1 to {MAX_PAGE}, got {limit!r}")


def encode(case_id: str, due_at: datetime | None) -> str:
    """Encode the sort key of the last case on a page."""
    if due_at is None:
        return f"i:{case_id}"
    return f"d:{due_at.isoformat()}|{case_id}"


def decode(cursor: str, *, by_due: bool) -> tuple[str, datetime | None]:
    """Decode a cursor made by `encode` for the same kind of query."""
    try:
        if by_due and cursor.startswith("d:"):
            when, _, case_id = cursor[2:].partition("|")
            return case_id, datetime.fromisoformat(when)
        if not by_due and cursor.startswith("i:"):
            return cursor[2:], None
    except (AttributeError, ValueError):
        pass
    raise InvalidInput("after", f"{cursor!r} is not a cursor returned by this query")
