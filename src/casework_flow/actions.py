"""What a person may do on a case now, for a case page or an API's list of actions.

`Engine.actions` returns an `Action` per event the case's state offers: its label, its
`ActionStatus` (allowed now, allowed with the inputs in its `Needs`, or blocked with
every reason) and where it leads.
"""

from ._actions import Action, ActionStatus, Needs

__all__ = ["Action", "ActionStatus", "Needs"]
