"""Linked cases: the names a host imports to declare and read links between cases.

A workflow declares the kinds of link its cases may be given (`LinkRule`, by
`LinkType`: a re-entry of the same client, membership of a family's case, the case a
referral's receiving unit opened; for a membership, what closing the family's case does
to its open members, by `Closing`); `Engine.link` links two cases, and each case's
``links`` lists its `Link` s, each saying which end (`Side`) the case holds. The
``linked`` guard (in `casework_flow.guards`) counts them.
"""

from ._links import Closing, Link, LinkRule, LinkType, Side

__all__ = ["Closing", "Link", "LinkRule", "LinkType", "Side"]
