"""Static checks of a workflow definition, and its diagrams.

`check_workflow` reports what a definition allows that it probably should not (states
no path reaches, traps, transitions that can never fire, roles that do nothing...);
`to_mermaid` and `to_dot` draw it, with a case's path if given.
"""

from ._check import Finding, check_workflow
from ._diagram import to_dot, to_mermaid

__all__ = ["Finding", "check_workflow", "to_dot", "to_mermaid"]
