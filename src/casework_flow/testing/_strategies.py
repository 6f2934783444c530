"""Hypothesis strategies derived from a workflow: steps a host could take on its cases.

Derived from the workflow itself: every event (and one it does not define), actors with
and without the roles transitions name, data with and without required fields and
values around the thresholds the guards compare with, documents that guards ask for,
reasons and codes from the lists or not, and clock advances.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from attrs import frozen
from hypothesis import strategies as st

from .._case import Actor
from .._definition import Workflow
from .._guards import Compare, Consent, Evidence, Fact, walk

__all__ = ["Step", "actors", "any_steps", "fitting_steps", "steps"]


@frozen
class Step:
    """One attempted step: what `Engine.fire` is called with, and how long passes first."""

    event: str
    actor: Actor
    data: dict[str, Any]
    evidence: dict[str, str]
    reason: str | None
    reason_code: str | None
    advance: timedelta


def _around(operand: object) -> list[Any]:
    """The values a comparison with ``operand`` tells apart.

    Each listed value, or the number and its neighbours, or the value itself.
    """
    if isinstance(operand, tuple):
        return list(operand)
    if isinstance(operand, int | float) and not isinstance(operand, bool):
        return [operand - 1, operand, operand + 1]
    return [operand]


def _fact_values(workflow: Workflow) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for t in workflow.transitions:
        for g in walk(t.guard):
            if isinstance(g, Compare) and isinstance(g.measure, Fact):
                values.setdefault(g.measure.name, []).extend(_around(g.value))
        for name in t.requires:
            values.setdefault(name, []).append(f"{name} value")
    return values


def _documents(workflow: Workflow) -> list[str]:
    kinds = []
    for t in workflow.transitions:
        for g in walk(t.guard):
            if isinstance(g, Evidence):
                kinds.append(g.kind)
            elif isinstance(g, Consent):
                kinds.append(f"consent:{g.purpose}")
    return sorted(set(kinds))


def actors(workflow: Workflow) -> st.SearchStrategy[Actor]:
    """Actors holding any subset of the workflow's roles (often exactly one)."""
    roles = sorted({r for t in workflow.transitions for r in t.roles} | {"visitor"})
    return st.builds(
        Actor,
        st.sampled_from(["sw-1", "sw-2", "spv-1", "head-1", "sys"]),
        st.one_of(
            st.sampled_from(roles).map(lambda r: {r}),
            st.sets(st.sampled_from(roles), max_size=3),
        ),
    )


def steps(workflow: Workflow) -> st.SearchStrategy[Step]:
    """One step: an event with everything a caller might or might not pass."""
    values = _fact_values(workflow)
    docs = _documents(workflow)
    codes = sorted({c for t in workflow.transitions for c in t.reason_codes} | {"BOGUS"})
    data = (
        st.dictionaries(
            st.sampled_from(sorted(values)),
            st.sampled_from(sorted(values)).flatmap(lambda k: st.sampled_from(values[k])),
            max_size=len(values),
        )
        if values
        else st.just({})
    )
    return st.builds(
        Step,
        event=st.one_of(st.sampled_from(workflow.events), st.just("no_such_event")),
        actor=actors(workflow),
        data=data,
        evidence=st.dictionaries(st.sampled_from(docs), st.just("DOC-1"), max_size=len(docs))
        if docs
        else st.just({}),
        reason=st.one_of(st.none(), st.just("as discussed with the supervisor")),
        reason_code=st.one_of(st.none(), st.sampled_from(codes)),
        advance=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    )


def fitting_steps(workflow: Workflow) -> st.SearchStrategy[Step]:
    """Steps biased to pass: actors with every role and the full kit of data and documents."""
    values = _fact_values(workflow)
    everyone = Actor("sw-all", {r for t in workflow.transitions for r in t.roles})
    docs = dict.fromkeys(_documents(workflow), "DOC-1")
    codes = sorted({c for t in workflow.transitions for c in t.reason_codes})

    @st.composite
    def build(draw: st.DrawFn) -> Step:
        data = {k: draw(st.sampled_from(v)) for k, v in sorted(values.items())}
        return Step(
            event=draw(st.sampled_from(workflow.events)),
            actor=draw(st.sampled_from([everyone, Actor("spv-9", everyone.roles)])),
            data=data,
            evidence=docs,
            reason="recorded at the case conference",
            reason_code=draw(st.sampled_from(codes)) if codes else None,
            advance=draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))),
        )

    return build()


def any_steps(workflow: Workflow) -> st.SearchStrategy[list[Step]]:
    """Sequences mixing arbitrary and fitting steps."""
    return st.lists(st.one_of(steps(workflow), fitting_steps(workflow)), max_size=40)
