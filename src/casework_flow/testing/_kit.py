"""What the random and exhaustive tools put into a step, and what a step's entries entered.

`_kit` lists what an event's transitions read (data fields, documents, reason codes),
so a generated step can supply them; `_active` and `_entered` read the states an entry
left a case in from the paths it records, for workflows with stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from attrs import frozen

from .._audit import AuditEntry
from .._case import Actor
from .._definition import Workflow
from .._guards import Consent, Evidence, Fact, walk
from ._strategies import Step

__all__ = ["_Kit", "_active", "_entered", "_kit", "_kit_step"]


def _active(entry: AuditEntry) -> frozenset[str]:
    """The states an entry leaves the case in, stages included (from its recorded paths)."""
    paths = entry.details.get("configuration")
    if paths is None:
        return frozenset((entry.to_state,))
    return frozenset(s for path in paths.split() for s in path.split("/"))


def _entered(trail: Sequence[AuditEntry]) -> frozenset[str]:
    """The states the newest step entered (its to_state, in a workflow with no stages)."""
    step = trail[-1]
    if "configuration" not in step.details:
        return frozenset((step.to_state,))
    before = next(
        (_active(e) for e in reversed(trail[:-1]) if "configuration" in e.details), frozenset()
    )
    return _active(step) - before


@frozen
class _Kit:
    data: frozenset[str]
    evidence: frozenset[str]
    codes: tuple[str, ...]


def _kit(workflow: Workflow, event: str) -> _Kit:
    """What an event's transitions read: data fields, documents and reason codes."""
    data: set[str] = set()
    docs: set[str] = set()
    codes: list[str] = []
    for t in workflow.transitions:
        if t.event != event:
            continue
        data.update(t.requires)
        codes += [c for c in t.reason_codes if c not in codes]
        for g in walk(t.guard):
            measure = getattr(g, "measure", None)
            if isinstance(measure, Fact):
                data.add(measure.name)
            elif isinstance(g, Evidence):
                docs.add(g.kind)
            elif isinstance(g, Consent):
                docs.add(f"consent:{g.purpose}")
    return _Kit(frozenset(data), frozenset(docs), tuple(codes))


def _kit_step(
    event: str, actor: Actor, kit: _Kit, facts: dict[str, object], wait: timedelta
) -> Step:
    """A step aimed at ``event`` with the data, documents and reason code it uses."""
    return Step(
        event=event,
        actor=actor,
        data={k: v for k, v in facts.items() if k in kit.data},
        evidence=dict.fromkeys(kit.evidence, "DOC"),
        reason="as recorded",
        reason_code=kit.codes[0] if kit.codes else None,
        advance=wait,
    )
