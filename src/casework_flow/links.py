"""Linked cases: the names a host imports to declare and read links between cases.

A workflow declares the kinds of link its cases may be given (`LinkRule`: a re-entry of
the same client, membership of a family's case, by `LinkType`); `Engine.link` links two
cases, and each case's ``links`` lists its `Link` s, each saying which end (`Side`) the
case holds. The ``linked`` guard (in `casework_flow.guards`) counts them.
"""

from ._links import Link, LinkRule, LinkType, Side

__all__ = ["Link", "LinkRule", "LinkType", "Side"]
