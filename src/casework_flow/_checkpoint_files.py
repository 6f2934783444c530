"""Checkpoints and their keys on disk: the edge where checkpoints meet files.

A checkpoint file is JSON Lines: the signed tree head first, then one head per line,
sorted by case id. It is written to a temporary name and renamed, so a reader never sees
half a checkpoint. Keys are PEM files (PKCS #8 for the private key, SubjectPublicKeyInfo
for the public one), as ``openssl genpkey -algorithm ed25519`` writes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._checkpoint import Checkpoint
from .exceptions import CheckpointInvalid, InvalidInput

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "CheckpointDirectory",
    "generate_keys",
    "load_private_key",
    "load_public_key",
    "parse_checkpoint",
    "read_checkpoint",
    "write_checkpoint",
]


def _dumps(value: Any) -> str:  # noqa: ANN401 - JSON
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_checkpoint(checkpoint: Checkpoint, path: Path | str) -> Path:
    """Write ``checkpoint`` to ``path`` whole or not at all; return the path."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(_dumps(checkpoint.header()) + "\n")
        for head in checkpoint.heads:
            out.write(_dumps(head.to_json()) + "\n")
        out.flush()
        os.fsync(out.fileno())
    partial.replace(target)
    return target


def parse_checkpoint(lines: Iterable[str], *, source: str = "checkpoint") -> Checkpoint:
    """Read a checkpoint from its lines, without checking its signature.

    Raises:
        CheckpointInvalid: naming the line that cannot be read.
    """
    rows: list[Any] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            raise CheckpointInvalid("not JSON", f"{source}, line {number}") from None
        if not isinstance(row, dict):
            raise CheckpointInvalid("not a JSON object", f"{source}, line {number}")
        rows.append(row)
    if not rows:
        raise CheckpointInvalid("it is empty", source)
    try:
        return Checkpoint.from_json(rows[0], rows[1:])
    except CheckpointInvalid as exc:
        raise CheckpointInvalid(exc.problem, source) from None


def read_checkpoint(path: Path | str, public_key: Ed25519PublicKey) -> Checkpoint:
    """Read a checkpoint file and check it against the public key.

    Raises:
        CheckpointInvalid: if the file cannot be read, or its signature, key or root
            does not hold.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointInvalid(f"cannot be read: {exc}", source) from None
    checkpoint = parse_checkpoint(text.splitlines(), source=source)
    try:
        checkpoint.check(public_key)
    except CheckpointInvalid as exc:
        raise CheckpointInvalid(exc.problem, source) from None
    return checkpoint


def _crypto() -> Any:  # noqa: ANN401 - the module
    try:
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the extra is installed in the tests
        msg = "checkpoints need the 'checkpoints' extra: pip install 'casework-flow[checkpoints]'"
        raise InvalidInput("checkpoints", msg) from None
    return serialization


def generate_keys(private_path: Path | str, public_path: Path | str) -> Ed25519PrivateKey:
    """Make a new Ed25519 key pair and write both halves as PEM; never overwrite a file.

    The private key file is readable by its owner only. Keep it on the machine that
    takes checkpoints, not on the database server; give the public key to whoever
    verifies.

    Raises:
        InvalidInput: if either file exists already.
    """
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )

    for path in (private_path, public_path):
        if Path(path).exists():
            raise InvalidInput(str(path), "exists already; a key is never overwritten")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    Path(public_path).write_bytes(public)
    return key


def _read_pem(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(str(path), f"the key file cannot be read: {exc}") from None


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from a PEM file.

    Raises:
        InvalidInput: if the file cannot be read or holds no Ed25519 private key.
    """
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )

    try:
        key = serialization.load_pem_private_key(_read_pem(path), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(str(path), f"holds no unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(str(path), f"holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path | str) -> Ed25519PublicKey:
    """Read an Ed25519 public key from a PEM file.

    Raises:
        InvalidInput: if the file cannot be read or holds no Ed25519 public key.
    """
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    try:
        key = serialization.load_pem_public_key(_read_pem(path))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(str(path), f"holds no PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(str(path), f"holds a {type(key).__name__}, not an Ed25519 key")
    return key


class CheckpointDirectory:
    """A sink for `Engine.checkpoint`: one file per checkpoint in a directory.

    Files are named by the checkpoint's time (``checkpoint-20240304T013000000000Z.jsonl``),
    so they sort in time order. Point it at a directory the database's users cannot
    write to, ideally on another machine or a write-once mount.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"<CheckpointDirectory {self.path}>"

    def __call__(self, checkpoint: Checkpoint) -> Path:
        """Write ``checkpoint`` into the directory; return its file."""
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"checkpoint-{checkpoint.at.strftime('%Y%m%dT%H%M%S%fZ')}.jsonl"
        return write_checkpoint(checkpoint, self.path / name)

    def files(self) -> list[Path]:
        """The checkpoint files, oldest first."""
        return sorted(self.path.glob("checkpoint-*.jsonl"))

    def latest(self, public_key: Ed25519PublicKey) -> Checkpoint | None:
        """The newest checkpoint, checked against the key; None if there is none yet."""
        found = self.files()
        return read_checkpoint(found[-1], public_key) if found else None
