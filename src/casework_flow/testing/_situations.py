"""Strategies for situations: cases in any reachable state, and guard inputs that pass or fail.

`cases` draws real cases (with their verified trails) from every situation the bounded
explorer reaches, so a test can start from any point of a process without scripting the
way there. `contexts` draws the input a guard sees, built to make the guard hold or fail:
data around its thresholds, documents present or not, a history with the counted events
spread over time, and time passed in the state and since opening.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from attrs import frozen
from hypothesis import strategies as st

from .._audit import AuditEntry, EntryKind, build_entry, genesis_hash
from .._case import Actor, Case
from .._definition import Workflow
from .._engine import Engine
from .._frozen import FrozenMap, freeze
from .._guard_logic import impossible
from .._guards import (
    CONSENT_PREFIX,
    Always,
    Compare,
    Consent,
    Count,
    Evidence,
    Fact,
    Guard,
    GuardContext,
    Handed,
    NotActorOf,
    Present,
    Span,
    walk,
)
from .._handover import Handover, HandoverStatus
from .._history import NO_HISTORY, History
from .._replay import replay
from ._explore import explore
from ._rules import START
from ._strategies import _around

__all__ = ["Reached", "cases", "contexts"]


@frozen
class Reached:
    """A case reached by real steps, with its trail (which verifies).

    Attributes:
        case: The case as the trail leaves it.
        trail: Every entry from the opening on.
    """

    case: Case
    trail: tuple[AuditEntry, ...]

    def into(self, engine: Engine) -> Case:
        """Store the case and its trail in ``engine``'s store, to go on from there."""
        engine.store.create(self.case, self.trail)
        return self.case


def cases(
    workflow: Workflow, *, depth: int = 8, states: set[str] | None = None
) -> st.SearchStrategy[Reached]:
    """Cases in any situation reachable within ``depth`` steps (optionally in ``states``).

    The situations come from one `explore` of the workflow, made when the strategy is
    first drawn from; shrinking goes towards cases that took fewer steps.
    """

    def build() -> st.SearchStrategy[Reached]:
        found = explore(workflow, depth=depth)
        trails = [t for t in found.trails if states is None or t[-1].to_state in states]
        if not trails:
            wanted = ", ".join(sorted(states or ()))
            msg = f"no case of {workflow.name} reaches {wanted} within {depth} steps"
            raise ValueError(msg)
        return st.sampled_from(trails).map(lambda t: Reached(replay(workflow, t), t))

    return st.deferred(build)


def _pool(guard: Guard) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for g in walk(guard):
        if isinstance(g, Compare) and isinstance(g.measure, Fact):
            near = _around(g.value)
            if near == [g.value]:
                near.append(f"not {g.value}")
            values.setdefault(g.measure.name, [None]).extend(near)
        elif isinstance(g, Present) and isinstance(g.measure, Fact):
            values.setdefault(g.measure.name, [None]).extend(["", "on file"])
    return values


def _values(guard: Guard, name: str, pool: list[Any], *, lean: bool) -> st.SearchStrategy[Any]:
    """Values for one field; when ``lean``, mostly those that pass every test of it."""
    if not lean:
        return st.sampled_from(pool)
    tests = [
        g
        for g in walk(guard)
        if isinstance(g, Compare | Present)
        and isinstance(g.measure, Fact)
        and g.measure.name == name
    ]
    good = [v for v in pool if all(t.test(_probe(name, v))[0] for t in tests)]
    if not good:
        return st.sampled_from(pool)
    return st.sampled_from(good * 9 + pool)


def _probe(name: str, value: object) -> GuardContext:
    case = Case(
        id="PROBE", workflow="any", version=1, state="open", data=FrozenMap(),
        evidence=FrozenMap(), revision=1, opened_at=START, state_entered_at=START,
    )  # fmt: skip
    return GuardContext(
        case=case, actor=Actor("probe", set()), event="(any)",
        payload=freeze({name: value}) if value is not None else FrozenMap(),
        evidence=FrozenMap(), now=START, reason_code=None, history=NO_HISTORY,
    )  # fmt: skip


def _counted(guard: Guard) -> dict[str, int]:
    caps: dict[str, int] = {}
    for g in walk(guard):
        measure = getattr(g, "measure", None)
        if isinstance(measure, Count | Span):
            cap = 2
            if isinstance(g, Compare) and isinstance(g.value, int):
                cap = g.value + 1
            caps[measure.event] = max(caps.get(measure.event, 0), cap)
        elif isinstance(g, NotActorOf):
            caps[g.event] = max(caps.get(g.event, 0), 1)
    return caps


def _documents(guard: Guard) -> list[str]:
    kinds = set()
    for g in walk(guard):
        if isinstance(g, Evidence):
            kinds.add(g.kind)
        elif isinstance(g, Consent):
            kinds.add(CONSENT_PREFIX + g.purpose)
    return sorted(kinds)


def _handed(guard: Guard) -> list[str]:
    return sorted({g.kind for g in walk(guard) if isinstance(g, Handed)})


def _handovers(kinds: list[str], accepted: dict[str, bool], at: datetime) -> FrozenMap[Handover]:
    out = {}
    for i, kind in enumerate(kinds, start=2):
        status = HandoverStatus.ACCEPTED if accepted[kind] else HandoverStatus.IN_PROGRESS
        hid = f"{kind}-{i}"
        out[hid] = Handover(
            hid, kind, status, "sw-1", at, i, to_unit="unit-b", answered_by="head-b"
        )
    return FrozenMap(out)


_WAITS = st.sampled_from([0, 1, 3, 6, 7, 8, 13, 14, 15, 30, 31, 90]).map(
    lambda d: timedelta(days=d)
)


def contexts(
    guard: Guard, *, holds: bool = True, workflow: Workflow | None = None
) -> st.SearchStrategy[GuardContext]:
    """What a guard may see on a step, drawn so that the guard holds (or fails).

    Data fields take values at, just below and just above the thresholds the guard
    compares with, or are missing; documents are on file or not; the history holds
    each counted event up to one more time than the guard asks for, by the acting
    worker or another, days apart (leaning towards what a guard asks for when drawing
    contexts where it holds); time in the state and since opening vary around
    the usual deadlines; a handover a guard asks for is accepted or still waiting. Host
    `check` guards are called as they are.

    Args:
        guard: The guard (a transition's ``guard``, or any combination).
        holds: Draw contexts where ``guard.test`` passes (True) or fails (False).
        workflow: Put the case in this workflow's states (a neutral one otherwise).

    Raises:
        ValueError: for a guard that can never hold (asked to hold) or never fail.
    """
    if not holds and isinstance(guard, Always):
        msg = f"{guard.text!r} cannot fail"
        raise ValueError(msg)
    why = impossible(guard) if holds else None
    if why is not None:
        msg = why
        raise ValueError(msg)
    pools = _pool(guard)
    counted = _counted(guard)
    docs = _documents(guard)
    handed = _handed(guard)
    states = [s.id for s in workflow.states] if workflow is not None else ["open"]
    present = st.sampled_from([True] * 9 + [False]) if holds else st.booleans()
    values = {k: _values(guard, k, pool, lean=holds) for k, pool in pools.items()}

    @st.composite
    def build(draw: st.DrawFn) -> GuardContext:
        actor = Actor(draw(st.sampled_from(["sw-1", "sw-2"]), label="actor"), {"social_worker"})
        data = {k: draw(values[k], label=k) for k in sorted(pools)}
        papers = {k: f"DOC-{k}" for k in docs if draw(present, label=k)}
        accepted = {k: draw(present, label=f"{k} accepted") for k in handed}
        history = []
        at = START
        seq = 1
        prev = genesis_hash("CASE-1")
        for event, cap in sorted(counted.items()):
            times = st.sampled_from([cap] * 4 + list(range(cap))) if holds else st.integers(0, cap)
            for _ in range(draw(times, label=f"count({event})")):
                at += draw(_WAITS, label="days apart")
                seq += 1
                doer = Actor(draw(st.sampled_from(["sw-1", "sw-2"])), {"social_worker"})
                entry = build_entry(
                    case_id="CASE-1", seq=seq, kind=EntryKind.TRANSITION, at=at,
                    actor=doer, event=event, from_state=None, to_state=states[0],
                    workflow=workflow.name if workflow else "any", workflow_version=1,
                    prev_hash=prev, assignee="sw-1",
                )  # fmt: skip
                prev = entry.hash
                history.append(entry)
        entered = at + draw(_WAITS, label="time before entering the state")
        now = entered + draw(_WAITS, label="time in the state")
        case = Case(
            id="CASE-1",
            workflow=workflow.name if workflow else "any",
            version=workflow.version if workflow else 1,
            state=draw(st.sampled_from(states), label="state"),
            data=FrozenMap(),
            evidence=FrozenMap(),
            revision=seq,
            opened_at=START,
            state_entered_at=entered,
            assignee=draw(st.sampled_from(["sw-1", "sw-3"]), label="assignee"),
            handovers=_handovers(handed, accepted, START),
        )
        frozen_history = tuple(history)
        return GuardContext(
            case=case,
            actor=actor,
            event="(any)",
            payload=freeze({k: v for k, v in data.items() if v is not None}),
            evidence=FrozenMap(papers),
            now=now,
            reason_code=None,
            history=History(frozen_history),
        )

    return build().filter(lambda ctx: guard.test(ctx)[0] is holds)
