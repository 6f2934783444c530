"""Running the Node verifier (``tests/verify_trail.mjs``) from the tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives import serialization

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SCRIPT = Path(__file__).parent / "verify_trail.mjs"


def require_node() -> str:
    """The node executable; skip without it, except under CI, where it is a failure."""
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed; CI needs it for the independent verifier")
        pytest.skip("node is not installed")
    return found


def public_pem(key: Ed25519PrivateKey, folder: Path) -> Path:
    """Write the key's public half as PEM into ``folder``; return the file."""
    path = folder / "checkpoint.pub"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def verify(*args: str) -> dict[str, Any]:
    """Run the verifier; return its JSON verdict (its exit status must agree with it)."""
    done = subprocess.run(
        [require_node(), str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.stderr == "", done.stderr
    verdict: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == (0 if verdict["ok"] else 1)
    return verdict
