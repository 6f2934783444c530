"""Signed checkpoints: a record kept outside the database that the database must match.

`Engine.checkpoint` signs every case's head (a Merkle tree over them, sorted by case id,
after RFC 9162) with an Ed25519 key and hands it to a sink such as `CheckpointDirectory`;
`Engine.verify` and `Engine.verify_store` take checkpoints and prove that each case's
trail still extends the head signed for it. `Checkpoint.prove` cuts an inclusion proof
for one case, for an auditor who gets that case's trail alone. Needs the ``checkpoints``
extra (``pip install 'casework-flow[checkpoints]'``).
"""

from ._checkpoint import (
    CaseHead,
    Checkpoint,
    InclusionProof,
    consistency_problems,
    key_id,
    sign_checkpoint,
)
from ._checkpoint_files import (
    CheckpointDirectory,
    generate_keys,
    load_private_key,
    load_public_key,
    parse_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from ._engine_audit import CheckpointSink
from ._verification import StoreVerification

__all__ = [
    "CaseHead",
    "Checkpoint",
    "CheckpointDirectory",
    "CheckpointSink",
    "InclusionProof",
    "StoreVerification",
    "consistency_problems",
    "generate_keys",
    "key_id",
    "load_private_key",
    "load_public_key",
    "parse_checkpoint",
    "read_checkpoint",
    "sign_checkpoint",
    "write_checkpoint",
]
