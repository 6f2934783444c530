"""Property-testing kit for process rules (needs the ``testing`` extra: hypothesis).

State a rule your process must keep, and let hypothesis hunt for the shortest sequence
of steps that breaks it:

- strategies derived from a workflow: `actors`, `steps` (anything a caller might do,
  refused steps included), `fitting_steps` (steps with every role and the full kit of
  data and documents), `any_steps`;
- rules as values: `never` (with `reach` or `fires`, and ``unless=``), `always_before`,
  `only_roles`, `eventually_terminal`, and `holds` for any predicate over a case and
  its trail;
- `check_rules`, which raises `RuleViolated` with the shortest trail found, printed as
  the trail table;
- `workflow_machine`, a hypothesis `RuleBasedStateMachine` built from a workflow (any
  store) that checks on every step that trails verify, replay equals the stored case and
  the rules hold; subclass it to add your own rules and invariants.
"""

from ._explore import Exploration, explore
from ._hunt import check_rules
from ._machine import workflow_machine
from ._rules import (
    Rule,
    RuleViolated,
    always_before,
    eventually_terminal,
    fires,
    holds,
    never,
    only_roles,
    reach,
)
from ._situations import Reached, cases, contexts
from ._strategies import Step, actors, any_steps, fitting_steps, steps

__all__ = [
    "Exploration",
    "Reached",
    "Rule",
    "RuleViolated",
    "Step",
    "actors",
    "always_before",
    "any_steps",
    "cases",
    "check_rules",
    "contexts",
    "eventually_terminal",
    "explore",
    "fires",
    "fitting_steps",
    "holds",
    "never",
    "only_roles",
    "reach",
    "steps",
    "workflow_machine",
]
