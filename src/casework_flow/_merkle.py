"""Merkle trees as RFC 9162 (Certificate Transparency 2.0) defines them, section 2.1.

A leaf's hash is SHA-256 over a zero byte and its data, an inner node's over a one byte
and its two children; a tree of n leaves splits at the largest power of two below n. An
inclusion proof is the list of sibling hashes from a leaf up to the root. Pure functions
over bytes: the checkpoint module decides what the leaves are.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

__all__ = ["inclusion_path", "leaf_hash", "root_from_path", "tree_root"]

EMPTY_ROOT = sha256(b"").digest()
"""The root of a tree with no leaves."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || data)."""
    return sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """The root over leaf hashes, level by level (a lone last node moves up unchanged).

    Building levels pairwise from the left gives the same tree as RFC 9162's recursive
    split, in linear time and without recursion.
    """
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` (RFC 9162, 2.1.3.1), lowest sibling first."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of a tree of {len(leaves)}")
    path: list[bytes] = []
    level = list(leaves)
    at = index
    while len(level) > 1:
        sibling = at ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        at //= 2
    return path


def root_from_path(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that ``path`` proves ``leaf`` at ``index`` under (RFC 9162, 2.1.3.2).

    Returns None when the path cannot be a proof for a tree of ``size`` leaves (too
    long or too short); compare a returned root with the signed one.
    """
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    node = leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            node = _node(sibling, node)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:  # pragma: no mutate - fn > 0: never reaches 0
                    fn >>= 1
                    sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    return node if sn == 0 else None
