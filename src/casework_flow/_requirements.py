"""Requirements: the rules of a policy that parts of a workflow enforce, by id.

A regulation or a standard operating procedure numbers its rules (``SOP-4.2``); an
accreditation or an audit asks where each is enforced and what tests it. A workflow
declares each requirement once, with its title and source (`Workflow.requirements`),
and its states and transitions name the ids they enforce (``requirements:``); the
testing kit's properties carry ids too, and `casework_flow.testing.trace` lines them
up in a traceability matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from attrs import frozen

from ._frozen import FrozenMap
from ._guard_base import Guard, Traced, walk
from ._parts import State
from .exceptions import Problem

if TYPE_CHECKING:
    from ._definition import Workflow

__all__ = ["Requirement", "check_requirements", "requirement_map", "traced_ids"]


@frozen
class Requirement:
    """A rule of a policy, declared once in a workflow.

    Attributes:
        id: Its id, as the policy numbers it (``SOP-4.2``, ``REF-ANSWER-14D``).
        title: What it asks, in a sentence.
        source: Where it comes from: the regulation, the procedure and its section.
    """

    id: str
    title: str = ""
    source: str = ""


def requirement_map(
    value: Mapping[str, Requirement | str] | Iterable[Requirement],
) -> FrozenMap[Requirement]:
    """Requirements by id, from a mapping (id to a `Requirement` or a title) or a list."""
    if isinstance(value, Mapping):
        return FrozenMap(
            {
                k: v if isinstance(v, Requirement) else Requirement(k, str(v))
                for k, v in value.items()
            }
        )
    if not isinstance(value, Iterable) or isinstance(value, str):
        return FrozenMap({"requirements": value})  # reported by check_requirements
    return FrozenMap({str(getattr(r, "id", i)): r for i, r in enumerate(value)})


def _states(states: object, at: str) -> Iterable[tuple[str, State]]:
    """Every state with its path; what is not a state is left to the states' own checks."""
    for i, s in enumerate(states if isinstance(states, tuple | list) else ()):
        if isinstance(s, State):
            where = f"{at}[{i}]"
            yield where, s
            yield from _states(s.states, f"{where}.states")


def check_requirements(wf: Workflow) -> list[Problem]:
    """Each requirement is a `Requirement` under its own id; each id used is declared."""
    problems = []
    for key, r in wf.requirements.items():
        if not isinstance(r, Requirement):
            problems.append(Problem(f"must be a Requirement, got {r!r}", f"requirements.{key}"))
        elif r.id != key:
            problems.append(Problem(f"is declared as {key!r} but its id is {r.id!r}",
                                    f"requirements.{key}"))  # fmt: skip
    declared = set(wf.requirements)
    used = [
        (f"{where}.requirements", s.id, s.requirements) for where, s in _states(wf.states, "states")
    ]
    used += [
        (f"transitions[{i}].requirements", t.event, t.requirements)
        for i, t in enumerate(wf.transitions)
        if hasattr(t, "requirements")
    ]
    used += [
        (f"transitions[{i}].{part}", t.event, traced_ids(getattr(t, part)))
        for i, t in enumerate(wf.transitions)
        for part in ("guard", "pre", "post")
        if isinstance(getattr(t, part, None), Guard)
    ]
    used += [
        (f"{where}.invariant", s.id, traced_ids(s.invariant))
        for where, s in _states(wf.states, "states")
        if isinstance(getattr(s, "invariant", None), Guard)
    ]
    problems += [
        Problem(f"{name}: requirement {rid!r} is not declared under requirements", where)
        for where, name, ids in used
        for rid in ids
        if rid not in declared
    ]
    return problems


def traced_ids(guard: Guard) -> tuple[str, ...]:
    """The requirement ids the parts of ``guard`` are marked as enforcing (`Traced`)."""
    return tuple(
        dict.fromkeys(rid for g in walk(guard) if isinstance(g, Traced) for rid in g.requirements)
    )
