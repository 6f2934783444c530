"""Signed checkpoints: every case's head at one moment, in a Merkle tree, signed.

After Certificate Transparency's signed tree heads (RFC 9162): the leaves are the heads
of all cases, sorted by case id, each leaf the RFC 8785 bytes of ``{"case_id", "hash",
"seq"}``; the root, the number of leaves and the time are signed with Ed25519. Kept
outside the database (a file on another machine, a write-once bucket, a mail to the
auditor), a checkpoint lets a later check prove that each case's trail still extends the
head it had then: truncation, rewrites, forged tails, swapped trails and deleted cases
show even when whoever did it also updated the case rows.

A checkpoint carries its heads, so it can be checked alone (the root must match them) and
an inclusion proof can be cut from it for one case. Values only; signing needs the
``checkpoints`` extra (``cryptography``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from attrs import field, frozen

from ._audit import ChainHead
from ._clock import to_utc
from ._frozen import text_problem
from ._merkle import inclusion_path, leaf_hash, root_from_path, tree_root
from .exceptions import CheckpointInvalid

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "CHECKPOINT_FORMAT",
    "CaseHead",
    "Checkpoint",
    "InclusionProof",
    "consistency_problems",
    "key_id",
    "sign_checkpoint",
]

CHECKPOINT_FORMAT: Final = 1
"""The version of the checkpoint encoding."""

_JSON: Final = json.JSONEncoder(ensure_ascii=False)

_LABEL: Final = b"casework_flow checkpoint\n"
"""Prefixed to the signed bytes, so a checkpoint signature is never valid for anything else."""


@frozen
class CaseHead:
    """One leaf of a checkpoint: a case and the head its trail had."""

    case_id: str
    seq: int
    hash: str

    @property
    def head(self) -> ChainHead:
        """The head alone."""
        return ChainHead(self.seq, self.hash)

    def leaf(self) -> bytes:
        """The leaf's hash: SHA-256 over a zero byte and the RFC 8785 bytes of the head.

        The three names are ASCII and already in order, the hash is hex and the seq an
        integer, so the JCS bytes are written directly (a test holds them equal to
        ``rfc8785.dumps``): a checkpoint hashes a million of them.
        """
        name = _JSON.encode(self.case_id)
        return leaf_hash(f'{{"case_id":{name},"hash":"{self.hash}","seq":{self.seq}}}'.encode())

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"case_id": self.case_id, "seq": self.seq, "hash": self.hash}


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the hex SHA-256 of its 32 raw bytes."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - optional extra

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@frozen
class InclusionProof:
    """Proof that one case's head is a leaf of a checkpoint's tree (RFC 9162, 2.1.3).

    Attributes:
        head: The case's leaf.
        index: Its place among the leaves (sorted by case id), from 0.
        size: How many leaves the tree has.
        path: The sibling hashes from the leaf up, hex.
    """

    head: CaseHead
    index: int
    size: int
    path: tuple[str, ...]

    def proves(self, root: str) -> bool:
        """Whether the path leads from the leaf to ``root``."""
        got = root_from_path(
            self.index, self.size, self.head.leaf(), [bytes.fromhex(p) for p in self.path]
        )
        return got is not None and got.hex() == root

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            **self.head.to_json(),
            "index": self.index,
            "size": self.size,
            "path": list(self.path),
        }


def _utc(value: datetime) -> datetime:
    return to_utc(value, "at")


def _sorted_heads(heads: Iterable[CaseHead]) -> tuple[CaseHead, ...]:
    return tuple(sorted(heads, key=lambda h: h.case_id))


@frozen
class Checkpoint:
    """Every case's head at one moment, the Merkle root over them, and its signature.

    Attributes:
        at: When it was taken (UTC).
        size: How many cases it holds.
        root: The Merkle root over the heads, hex.
        key_id: Which key signed it (`key_id` of the public key).
        signature: The Ed25519 signature over `signed_bytes`, hex.
        heads: The heads, sorted by case id.
    """

    at: datetime = field(converter=_utc)
    size: int
    root: str
    key_id: str
    signature: str
    heads: tuple[CaseHead, ...] = field(converter=_sorted_heads, repr=False)
    format: int = CHECKPOINT_FORMAT

    def signed_bytes(self) -> bytes:
        """What the signature covers: a label and the RFC 8785 bytes of the tree head."""
        return _signed(self.format, self.at, self.size, self.root, self.key_id)

    def head_of(self, case_id: str) -> CaseHead | None:
        """The head the checkpoint holds for a case, or None if it does not hold it."""
        found = self._index(case_id)
        return None if found is None else self.heads[found]

    def _index(self, case_id: str) -> int | None:
        lo, hi = 0, len(self.heads)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.heads[mid].case_id < case_id:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self.heads) and self.heads[lo].case_id == case_id else None

    def prove(self, case_id: str) -> InclusionProof | None:
        """An inclusion proof for a case's head, or None if the checkpoint does not hold it."""
        index = self._index(case_id)
        if index is None:
            return None
        path = inclusion_path([h.leaf() for h in self.heads], index)
        return InclusionProof(self.heads[index], index, self.size, tuple(p.hex() for p in path))

    def check(self, public_key: Ed25519PublicKey) -> None:
        """Check the signature, the key and that the heads give the signed root.

        Raises:
            CheckpointInvalid: saying which of them fails.
        """
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - optional extra

        if key_id(public_key) != self.key_id:
            raise CheckpointInvalid(
                f"it was signed by key {self.key_id[:16]}…, not by the key given"
            )
        try:
            public_key.verify(bytes.fromhex(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError):
            raise CheckpointInvalid(
                "its signature does not verify: it was altered or forged"
            ) from None
        if len(self.heads) != self.size:
            raise CheckpointInvalid(
                f"it is signed for {self.size} cases but holds {len(self.heads)}"
            )
        if len({h.case_id for h in self.heads}) != len(self.heads):
            raise CheckpointInvalid("it holds a case twice")
        if tree_root([h.leaf() for h in self.heads]).hex() != self.root:
            raise CheckpointInvalid("its heads do not give the signed root: a head was altered")

    def header(self) -> dict[str, Any]:
        """The signed tree head as JSON (everything but the heads)."""
        return {
            "checkpoint": self.format,
            "at": self.at.isoformat(),
            "size": self.size,
            "root": self.root,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, header: Mapping[str, Any], heads: Sequence[Mapping[str, Any]]) -> Checkpoint:
        """Rebuild a checkpoint from `header` and its heads' JSON, without checking it.

        Raises:
            CheckpointInvalid: if a field is missing or of the wrong type.
        """
        try:
            if type(header["checkpoint"]) is not int or header["checkpoint"] != CHECKPOINT_FORMAT:
                raise CheckpointInvalid(f"unknown checkpoint format {header['checkpoint']!r}")  # noqa: TRY301
            return cls(
                at=datetime.fromisoformat(_text(header["at"])),
                size=_count(header["size"]),
                root=_hex(header["root"]),
                key_id=_hex(header["key_id"]),
                signature=_hex(header["signature"]),
                heads=tuple(
                    CaseHead(_text(h["case_id"]), _count(h["seq"]), _hex(h["hash"])) for h in heads
                ),
            )
        except CheckpointInvalid:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointInvalid(f"malformed checkpoint: {exc!r}") from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    why = text_problem(value)
    if why is not None:
        raise ValueError(f"text that {why}: {value[:40]!r}")
    return value


def _hex(value: object) -> str:
    text = _text(value)
    bytes.fromhex(text)
    return text


def _count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def _signed(format: int, at: datetime, size: int, root: str, key: str) -> bytes:  # noqa: A002
    head: dict[str, str | int] = {
        "checkpoint": format,
        "at": at.isoformat(),
        "size": size,
        "root": root,
        "key_id": key,
    }
    return _LABEL + rfc8785.dumps(head)


def consistency_problems(older: Checkpoint, newer: Checkpoint) -> tuple[str, ...]:
    """What in ``newer`` cannot have grown from ``older`` by appending alone.

    Every case ``older`` holds must be in ``newer``, at the same entry with the same hash
    or further on. Whether a case that moved on still holds the older entry needs its
    trail: pass both checkpoints to `Engine.verify_store` for that. Both checkpoints
    should have been checked against their key first.
    """
    problems: list[str] = []
    if newer.at < older.at:
        problems.append(f"the newer checkpoint ({newer.at.isoformat()}) is older than the other")
    for head in older.heads:
        now = newer.head_of(head.case_id)
        if now is None:
            problems.append(f"{head.case_id}: held at entry {head.seq}, then gone: deleted")
        elif now.seq < head.seq:
            problems.append(
                f"{head.case_id}: held at entry {head.seq}, then at entry {now.seq}: cut short"
            )
        elif now.seq == head.seq and now.hash != head.hash:
            problems.append(f"{head.case_id}: entry {head.seq} changed between them: rewritten")
    return tuple(problems)


def sign_checkpoint(heads: Iterable[CaseHead], at: datetime, key: Ed25519PrivateKey) -> Checkpoint:
    """Build the tree over ``heads`` and sign its head with ``key``. Pure but for signing."""
    ordered = _sorted_heads(heads)
    root = tree_root([h.leaf() for h in ordered]).hex()
    signer = key_id(key.public_key())
    at = to_utc(at, "at")
    signature = key.sign(_signed(CHECKPOINT_FORMAT, at, len(ordered), root, signer)).hex()
    return Checkpoint(at, len(ordered), root, signer, signature, ordered)
