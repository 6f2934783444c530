"""Property-testing kit for process rules (needs the ``testing`` extra: hypothesis).

State a rule your process must keep, and let hypothesis hunt for the shortest sequence
of steps that breaks it:

- strategies derived from a workflow: `actors`, `steps` (anything a caller might do,
  refused steps included), `fitting_steps` (steps with every role and the full kit of
  data and documents), `any_steps`;
- rules as values: `never` (with `reach` or `fires`, and ``unless=``), `always_before`,
  `only_roles`, `eventually_terminal`, and `holds` for any predicate over a case and
  its trail;
- rules over time (`Property`): the specification patterns `absence`, `existence`,
  `universality`, `precedence` and `response` (``within=`` a time, on working days if
  asked), each within a scope (`globally`, `before`, `after`, `between`,
  `after_until`), over propositions about entries (`reach`, `fires`, `inside`,
  `by_timer`, `overridden`, `transferred`, `reopened`, `terminal`, `refused`,
  `opened`, `by_role`, `field_is`, `entry_kind`, `when`), combined with ``&``,
  ``|`` and ``~``; `explore` reports one it cannot settle as `Inconclusive`, and
  `check_trails` checks them on a store's cases as of a time;
- coverage of a workflow by trails (`coverage_of`: states, transitions, guard outcomes,
  transition pairs, timers, deadlines, requirements; text and HTML), and `recording`,
  which gathers the trails of every kit run inside it, by test;
- requirements traced (`trace`): each requirement of the workflow, the states and
  transitions that enforce it, the properties that check it, the tests that exercised
  it, and the gaps, in Markdown and HTML;
- the workflow's own contracts (state invariants, transition pre- and postconditions),
  which every tool checks with the rules given (`Contracts`);
- `check_rules`, which raises `RuleViolated` with the shortest trail found, printed as
  the trail table;
- `model_test`, which checks the host's own system against the workflow: each command
  (`OpenCase`, `FireEvent`, `ApproveRequest`, `SendHandover`, `AnswerHandover`,
  `PassTime`) goes to the host through a `Host` adapter and to the engine in memory,
  and their `Reply` and what each then shows (`Seen`) must agree; a divergence is
  shrunk, raised as `HostDiverged` and saved as a JSON fixture for `replay_fixture`;
- `workflow_machine`, a hypothesis `RuleBasedStateMachine` built from a workflow (any
  store) that checks on every step that trails verify, replay equals the stored case and
  the rules hold; subclass it to add your own rules and invariants.
"""

from ._coverage import KINDS, Coverage, CoverageItem, Recorder, coverage_of, recording
from ._declared import declared_properties
from ._explore import Exploration, explore
from ._host import (
    AnswerHandover,
    ApproveRequest,
    FireEvent,
    Host,
    HostCommand,
    HostDiverged,
    OpenCase,
    PassTime,
    Reply,
    Seen,
    SendHandover,
)
from ._hunt import check_rules
from ._machine import workflow_machine
from ._model_test import ModelReport, model_test, replay_fixture
from ._monitors import TrailFinding, check_trails
from ._propositions import (
    Moment,
    Prop,
    by_role,
    by_timer,
    entry_kind,
    field_is,
    inside,
    opened,
    overridden,
    refused,
    reopened,
    terminal,
    transferred,
    when,
)
from ._rules import (
    Contracts,
    Inconclusive,
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
from ._seed_rules import REQUIREMENTS, Requirement, seed_properties
from ._situations import Reached, cases, contexts
from ._strategies import Step, actors, any_steps, fitting_steps, steps
from ._temporal import (
    Property,
    Scope,
    Standing,
    absence,
    after,
    after_until,
    before,
    between,
    existence,
    globally,
    precedence,
    response,
    universality,
)
from ._trace import Traceability, TraceRow, trace

__all__ = [
    "KINDS",
    "REQUIREMENTS",
    "AnswerHandover",
    "ApproveRequest",
    "Contracts",
    "Coverage",
    "CoverageItem",
    "Exploration",
    "FireEvent",
    "Host",
    "HostCommand",
    "HostDiverged",
    "Inconclusive",
    "ModelReport",
    "Moment",
    "OpenCase",
    "PassTime",
    "Prop",
    "Property",
    "Reached",
    "Recorder",
    "Reply",
    "Requirement",
    "Rule",
    "RuleViolated",
    "Scope",
    "Seen",
    "SendHandover",
    "Standing",
    "Step",
    "TraceRow",
    "Traceability",
    "TrailFinding",
    "absence",
    "actors",
    "after",
    "after_until",
    "always_before",
    "any_steps",
    "before",
    "between",
    "by_role",
    "by_timer",
    "cases",
    "check_rules",
    "check_trails",
    "contexts",
    "coverage_of",
    "declared_properties",
    "entry_kind",
    "eventually_terminal",
    "existence",
    "explore",
    "field_is",
    "fires",
    "fitting_steps",
    "globally",
    "holds",
    "inside",
    "model_test",
    "never",
    "only_roles",
    "opened",
    "overridden",
    "precedence",
    "reach",
    "recording",
    "refused",
    "reopened",
    "replay_fixture",
    "response",
    "seed_properties",
    "steps",
    "terminal",
    "trace",
    "transferred",
    "universality",
    "when",
    "workflow_machine",
]
