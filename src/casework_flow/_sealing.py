"""Sealing personal values: AES-256-GCM under a data key of each case, before hashing.

A sealed value is text (``sealed:v1:`` and the base64 of nonce and ciphertext), so every
store, export and hash treats it as any other value; the hash of an entry covers the
ciphertext, and a trail verifies without any key. The nonce is synthetic: an HMAC, under
a key derived from the case's data key, of the field and the value. The same value of
the same field of one case always seals alike, so a case folded from its sealed trail
equals the case stored, and two different values never share a nonce. The additional
data is the case id: a sealed value cannot be moved to another case.

What is sealed: the values of the workflow's ``personal`` fields in entries' changes and
in the case's data (waiting requests' data too), and the references of documents whose
kind is listed in ``personal``. Verdicts never quote a personal value (they mask it),
so they stay readable to an auditor with no key. Without the key (erased, or never
given), opening a value gives `ERASED`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import attrs

from ._audit import ABSENT, AuditEntry, Change
from ._case import Case
from ._frozen import FrozenMap, freeze, thaw
from .exceptions import CaseworkError, KeyMissing

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["ERASED", "PREFIX", "Sealing", "is_sealed"]

PREFIX: Final = "sealed:v1:"
ERASED: Final = "[erased]"
"""What a sealed value reads as once its case's key is gone."""
_NONCE: Final = 12


def is_sealed(value: object) -> bool:
    """Whether ``value`` is a sealed value."""
    return isinstance(value, str) and value.startswith(PREFIX)


def _aead(key: bytes) -> AESGCM:
    """AES-256-GCM under ``key`` (``cryptography``: the ``crypto`` extra)."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415
    except ImportError:  # pragma: no cover - an install without the extra
        raise CaseworkError(
            "sealing personal fields needs cryptography: pip install 'casework-flow[crypto]'"
        ) from None
    return AESGCM(key)


class Sealing:
    """The data keys of the cases a command touches, and the fields they seal.

    Args:
        personal: The workflow's personal fields (and document kinds).
        keys: Each case's data key (32 bytes); None for a case whose key is erased.
    """

    __slots__ = ("_ciphers", "_keys", "personal")

    def __init__(self, personal: frozenset[str], keys: Mapping[str, bytes | None]) -> None:
        self.personal = personal
        self._keys = dict(keys)
        self._ciphers: dict[str, tuple[AESGCM, bytes]] = {}

    def _cipher(self, case_id: str, key: bytes) -> tuple[AESGCM, bytes]:
        """The case's cipher and nonce key, made once per sealing."""
        known = self._ciphers.get(case_id)
        if known is None:
            nonce_key = hashlib.sha256(b"casework-flow nonce" + key).digest()
            known = self._ciphers[case_id] = (_aead(key), nonce_key)
        return known

    def key(self, case_id: str) -> bytes | None:
        """The case's data key (None: erased or unknown)."""
        return self._keys.get(case_id)

    # --- values ------------------------------------------------------------------

    def seal(self, case_id: str, field: str, value: object) -> object:
        """``value`` sealed for ``field`` of the case.

        Always sealed, even text that looks sealed: a value given by a person is never
        taken for ciphertext.
        """
        key = self._keys.get(case_id)
        if key is None:
            raise KeyMissing(case_id, "no data key to seal its personal fields with")
        plain = json.dumps(thaw(value), sort_keys=True, separators=(",", ":"), default=str)
        data = plain.encode("utf-8")
        cipher, nonce_key = self._cipher(case_id, key)
        nonce = hmac.digest(nonce_key, field.encode("utf-8") + b"\0" + data, "sha256")[:_NONCE]
        sealed = cipher.encrypt(nonce, data, case_id.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, case_id: str, value: object) -> object:
        """The value a sealed value holds; `ERASED` without the case's key."""
        if not is_sealed(value):
            return value
        key = self._keys.get(case_id)
        if key is None:
            return ERASED
        assert isinstance(value, str)  # noqa: S101 - is_sealed said so
        from cryptography.exceptions import InvalidTag  # noqa: PLC0415

        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
            cipher = self._cipher(case_id, key)[0]
            data = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], case_id.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise KeyMissing(case_id, "a sealed value does not open with the case's key") from None
        return freeze(json.loads(data))

    def _opened(self, case_id: str, field: str, value: object) -> object:
        """A personal field's value opened; any other field's as it is."""
        return self.open(case_id, value) if field in self.personal else value

    # --- entries and cases ---------------------------------------------------------

    def seal_entry(self, entry: AuditEntry) -> AuditEntry:
        """The entry with its personal values sealed, its hash over what it now holds."""
        cid = entry.case_id
        changes = tuple(
            Change(
                c.field,
                self.seal(cid, c.field, c.after),
                c.before if c.before is ABSENT else self.seal(cid, c.field, c.before),
            )
            if c.field in self.personal
            else c
            for c in entry.changes
        )  # fmt: skip
        evidence = {
            k: str(self.seal(cid, k, v)) if k in self.personal else v
            for k, v in entry.evidence.items()
        }
        if changes == entry.changes and evidence == dict(entry.evidence):
            return entry
        sealed = attrs.evolve(entry, changes=changes, evidence=FrozenMap(evidence))
        return attrs.evolve(sealed, hash=sealed.computed_hash())

    def open_entry(self, entry: AuditEntry) -> AuditEntry:
        """The entry as it was before sealing (`ERASED` where the key is gone); unhashed."""
        cid = entry.case_id
        changes = tuple(
            Change(c.field, self._opened(cid, c.field, c.after),
                   self._opened(cid, c.field, c.before))
            for c in entry.changes
        )  # fmt: skip
        evidence = FrozenMap({k: str(self._opened(cid, k, v)) for k, v in entry.evidence.items()})
        return attrs.evolve(entry, changes=changes, evidence=evidence)

    def open_case(self, case: Case) -> Case:
        """The case with its personal values opened (`ERASED` where the key is gone)."""
        cid = case.id

        def values(found: FrozenMap[object]) -> dict[str, object]:
            return {k: self._opened(cid, k, v) for k, v in found.items()}

        def papers(found: FrozenMap[str]) -> dict[str, str]:
            return {k: str(self._opened(cid, k, v)) for k, v in found.items()}

        approvals = {
            kind: attrs.evolve(p, data=values(p.data), evidence=papers(p.evidence))
            for kind, p in case.approvals.items()
        }
        return attrs.evolve(
            case, data=values(case.data), evidence=papers(case.evidence), approvals=approvals
        )
