"""Rules over time as a workflow declares them: plain values that the testing kit builds.

A workflow file may state its process rules next to the states they speak of
(``properties:``): the specification patterns of the testing kit (absence, existence,
universality, precedence, response) with a scope, over propositions about entries. The
core keeps each as data, a `PropertySpec`, since building one into a checkable
`casework_flow.testing.Property` needs the kit (and hypothesis);
`casework_flow.testing.declared_properties` builds them, and every kit tool checks
them with the rules it is given. `check_properties` holds them to the workflow: each
names states, events and timers it has and requirements it declares.

A proposition (a `Term`) is a pair: ``("reach", "closed")``, ``("fires", "refer")``,
``("by_timer", None)``, ``("entry_kind", ("approval_requested", "refer"))``,
``("field_is", ("age", 18))``, ``("all", (term, ...))``, ``("any", (...))`` or
``("not", term)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from attrs import field, frozen

from ._audit import EntryKind
from .exceptions import Problem

if TYPE_CHECKING:
    from ._definition import Workflow
    from ._tree import StateTree

__all__ = [
    "ATOMS",
    "PATTERNS",
    "SCOPES",
    "PropertySpec",
    "Term",
    "check_properties",
    "terms_of",
]

Term = tuple[str, Any]
PATTERNS: Final = ("absence", "existence", "universality", "precedence", "response")
"""The patterns: the first three over one proposition, the last two over a pair."""
PAIRED: Final = frozenset({"precedence", "response"})
SCOPES: Final = ("globally", "before", "after", "between", "after_until")
"""The scopes: ``before`` and ``after`` take one proposition, the last two a pair."""
ATOMS: Final[dict[str, str | None]] = {
    "reach": "state",
    "inside": "state",
    "fires": "event",
    "refused": "event or true",
    "by_timer": "timer or true",
    "by_role": "role",
    "entry_kind": "entry kind",
    "field_is": "data field",
    "overridden": None,
    "transferred": None,
    "reopened": None,
    "terminal": None,
    "opened": None,
}
"""Each kind of simple proposition, and what it names (None: nothing, it is ``true``)."""


def _terms(value: Iterable[Term]) -> tuple[Term, ...]:
    return tuple(value)


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@frozen
class PropertySpec:
    """A rule over time as a workflow declares it (see the module's description).

    Attributes:
        name: What it says, in words; unique in the workflow.
        pattern: One of `PATTERNS`.
        terms: Its propositions: one, or for precedence ``(first, then)`` and for
            response ``(trigger, answer)``.
        scope: Where in a trail the rule applies: `globally` (the default), `before`
            or `after` a proposition, `between` or `after_until` a pair of them.
        scope_terms: The scope's propositions (none for ``globally``).
        within: For a response, the time the answer must come in.
        working: Count ``within`` on the workflow calendar's working days.
        requirements: The requirement ids it checks.
    """

    name: str
    pattern: str
    terms: tuple[Term, ...] = field(converter=_terms)
    scope: str = "globally"
    scope_terms: tuple[Term, ...] = field(converter=_terms, default=())
    within: timedelta | None = None
    working: bool = False
    requirements: tuple[str, ...] = field(converter=_ids, default=())


def terms_of(term: Term) -> Iterator[Term]:
    """``term`` and every proposition inside it."""
    yield term
    kind, body = term
    if kind in {"all", "any"}:
        for t in body:
            yield from terms_of(t)
    elif kind == "not":
        yield from terms_of(body)


def _names(wf: Workflow, tree: StateTree) -> dict[str, set[str]]:
    return {
        "state": {s.id for s in tree.states()},
        "event": {str(getattr(t, "event", "")) for t in wf.transitions},
        "timer": {t.name for s in tree.states() for t in getattr(s, "timers", ()) if t.name},
        "entry kind": {str(k) for k in EntryKind},
    }


def _unknown(term: Term, names: dict[str, set[str]]) -> str | None:
    """Why a simple proposition names something the workflow lacks (None: it does not)."""
    kind, body = term
    wanted = ATOMS.get(kind)
    if kind == "entry_kind":
        kind_name, event = body
        if kind_name not in names["entry kind"]:
            return f"entry_kind: no entry kind {kind_name!r}"
        body, wanted = event, "event"
    elif wanted in {"event or true", "timer or true"}:
        wanted = wanted.split()[0]
    if wanted not in names or body is None:
        return None
    if body not in names[wanted]:
        return f"{kind}: the workflow has no {wanted} {body!r}"
    return None


def check_properties(wf: Workflow, tree: StateTree) -> list[Problem]:
    """Each property is a `PropertySpec` with a unique name, naming what the workflow has."""
    problems: list[Problem] = []
    names = _names(wf, tree)
    seen: set[str] = set()
    for i, spec in enumerate(wf.properties):
        at = f"properties[{i}]"
        if not isinstance(spec, PropertySpec):
            problems.append(Problem(f"must be a PropertySpec, got {spec!r}", at))
            continue
        if spec.name in seen:
            problems.append(Problem(f"{spec.name!r}: a second property of that name", at))
        seen.add(spec.name)
        for term in (*spec.terms, *spec.scope_terms):
            for t in terms_of(term):
                why = _unknown(t, names)
                if why is not None:
                    problems.append(Problem(f"{spec.name}: {why}", at))
        problems += [
            Problem(f"{spec.name}: requirement {rid!r} is not declared under requirements", at)
            for rid in spec.requirements
            if rid not in wf.requirements
        ]
    return problems
