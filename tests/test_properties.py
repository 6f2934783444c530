"""Properties of the engine over random event sequences on the seed workflow."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from casework_flow import (
    Actor,
    Engine,
    EntryKind,
    ManualClock,
    TransitionRejected,
    replay,
    verify,
)
from casework_flow._canonical import canonical
from casework_flow.exceptions import UnknownEvent
from casework_flow.testing import Step, fitting_steps, steps

from .conftest import START, load_example

seed = load_example("medan_street_beggar")
WORKFLOW = seed.build_workflow()
CASE = "MDN-2024-0173"
EVERYONE = Actor("sw-all", {r for t in WORKFLOW.transitions for r in t.roles})


def snapshot(engine: Engine) -> tuple[bytes, list[bytes]]:
    case = engine.get(CASE)
    return canonical(case.to_json()), [canonical(e.to_json()) for e in engine.trail(CASE)]


def apply(engine: Engine, step: Step) -> None:
    engine.fire(
        CASE,
        step.event,
        actor=step.actor,
        data=step.data,
        evidence=step.evidence,
        reason=step.reason,
        reason_code=step.reason_code,
    )


@pytest.mark.slow
@settings(max_examples=200)
@given(st.data(), st.booleans())
def test_random_sequences_keep_every_process_invariant(data, record_refusals):
    clock = ManualClock(START)
    engine = Engine([WORKFLOW], clock=clock, record_refusals=record_refusals)
    engine.open(seed.WORKFLOW, CASE, actor=seed.OUTREACH, assignee="sw-017")
    walk = st.one_of(steps(WORKFLOW), fitting_steps(WORKFLOW))
    reached = {WORKFLOW.initial}
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        before_case = engine.get(CASE)
        before_bytes, before_trail = snapshot(engine)
        available = engine.available_events(CASE, EVERYONE)
        step = data.draw(walk, label="step")
        if available and data.draw(st.booleans(), label="follow an available event"):
            step = attrs.evolve(
                data.draw(fitting_steps(WORKFLOW), label="fitting step"),
                event=data.draw(st.sampled_from(available), label="available event"),
            )
        clock.advance(step.advance)
        try:
            apply(engine, step)
        except UnknownEvent:
            assert snapshot(engine) == (before_bytes, before_trail)
            continue
        except TransitionRejected as exc:
            reasons = exc.reasons
            after_bytes, after_trail = snapshot(engine)
            assert after_bytes == before_bytes
            assert after_trail[: len(before_trail)] == before_trail
            assert len(after_trail) == len(before_trail) + record_refusals
            if record_refusals:
                refusal = engine.trail(CASE)[-1]
                assert refusal.kind is EntryKind.REFUSED
                assert refusal.to_state == refusal.from_state == before_case.state
                assert tuple(refusal.verdicts) == reasons
            assert reasons
            assert all(not r.passed for r in reasons)
            continue
        case = engine.get(CASE)
        assert WORKFLOW.has_state(case.state)
        assert not WORKFLOW.state(before_case.state).terminal
        assert case.revision == before_case.revision + 1
        assert snapshot(engine)[1][: len(before_trail)] == before_trail
        reached.add(case.state)
    case = engine.get(CASE)
    trail = engine.trail(CASE)
    assert WORKFLOW.has_state(case.state)
    head = trail[-1].head
    assert verify(trail, head=head).ok
    assert replay(WORKFLOW, trail, head=head) == case
    assert engine.verify(CASE).ok
    event(f"deepest state reached: {max(len(reached), 1)} states")
    event(f"ended in {case.state}")
