"""The rules over time a workflow declares (``properties:``), built into `Property` values.

The core keeps each as a `PropertySpec` (plain data, read from the workflow file with
file-and-line errors); `declared_properties` turns them into the kit's properties, and
every kit tool (`explore`, `check_rules`, `workflow_machine`) checks them with the rules
it is given, as it checks the workflow's contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any, Final

from .._definition import Workflow
from .._property_specs import PropertySpec, Term
from ._propositions import (
    Prop,
    by_role,
    by_timer,
    entry_kind,
    field_is,
    fires,
    inside,
    opened,
    overridden,
    reach,
    refused,
    reopened,
    terminal,
    transferred,
)
from ._rules import Rule, with_contracts
from ._temporal import (
    Property,
    Scope,
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

__all__ = ["declared_properties", "prop_of", "with_declared"]

_ATOMS: Final[dict[str, Callable[[Any], Prop]]] = {
    "reach": reach,
    "inside": inside,
    "fires": fires,
    "refused": refused,
    "by_timer": by_timer,
    "by_role": by_role,
    "entry_kind": lambda body: entry_kind(body[0], body[1]),
    "field_is": lambda body: field_is(body[0], body[1]),
    "overridden": lambda _: overridden(),
    "transferred": lambda _: transferred(),
    "reopened": lambda _: reopened(),
    "terminal": lambda _: terminal(),
    "opened": lambda _: opened(),
}


def prop_of(term: Term) -> Prop:
    """The proposition a `Term` names."""
    kind, body = term
    if kind == "all":
        return reduce(lambda a, b: a & b, (prop_of(t) for t in body))
    if kind == "any":
        return reduce(lambda a, b: a | b, (prop_of(t) for t in body))
    if kind == "not":
        return ~prop_of(body)
    return _ATOMS[kind](body)


def _scope(spec: PropertySpec) -> Scope:
    terms = [prop_of(t) for t in spec.scope_terms]
    if spec.scope == "before":
        return before(terms[0])
    if spec.scope == "after":
        return after(terms[0])
    if spec.scope == "between":
        return between(terms[0], terms[1])
    if spec.scope == "after_until":
        return after_until(terms[0], terms[1])
    return globally()


def _built(spec: PropertySpec, workflow: str) -> Property:
    p = [prop_of(t) for t in spec.terms]
    named: dict[str, Any] = {
        "scope": _scope(spec),
        "name": spec.name,
        "requirements": spec.requirements,
        "workflow": workflow,
    }
    if spec.pattern == "precedence":
        return precedence(p[0], p[1], **named)
    if spec.pattern == "response":
        return response(p[0], p[1], within=spec.within, working=spec.working, **named)
    single = {"absence": absence, "existence": existence, "universality": universality}
    return single[spec.pattern](p[0], **named)


def declared_properties(workflow: Workflow) -> tuple[Property, ...]:
    """The workflow's own rules over time (its ``properties:``), as the kit checks them.

    >>> from casework_flow import seed
    >>> declared_properties(seed.build_workflow())[3].text
    'a timer never closes a case'
    """
    return tuple(_built(spec, workflow.name) for spec in workflow.properties)


def with_declared(workflow: Workflow, rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """``rules``, then the workflow's declared properties not among them, and its contracts.

    A declared property given again (one with the same text) is checked once.
    """
    given = {r.text for r in rules}
    extra = [p for p in declared_properties(workflow) if p.text not in given]
    return with_contracts(workflow, (*rules, *extra))
