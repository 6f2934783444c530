"""Static checks of a workflow definition, and its diagrams.

`check_workflow` reports what a definition allows that it probably should not (states
no path reaches, traps, transitions that can never fire, roles that do nothing...);
`to_mermaid` and `to_dot` draw it, with a case's path if given. `CHECKS` lists every
code a check may report, with its severity and what it finds.
"""

from ._check import Finding, check_workflow
from ._diagram import to_dot, to_mermaid
from ._finding import CHECKS, CheckCode

__all__ = ["CHECKS", "CheckCode", "Finding", "check_workflow", "to_dot", "to_mermaid"]
