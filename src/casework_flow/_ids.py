"""Case ids the engine makes when the host gives none: time-ordered and unguessable.

The form is a ULID: 26 characters of Crockford's base32, the first ten the millisecond
of the injected clock, the other sixteen 80 random bits from `secrets`. Ids made later
sort after those made earlier; no one can guess another case's id from their own, and
a clash is as likely as guessing 80 random bits.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Final

__all__ = ["ULID_ALPHABET", "new_case_id"]

ULID_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_case_id(now: datetime) -> str:
    """A new case id for a case opened at ``now``."""
    millis = int(now.timestamp() * 1000)
    value = (millis << 80) | secrets.randbits(80)
    return "".join(ULID_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))
