"""Replay rebuilds the case from its trail, and refuses trails that do not fit."""

from __future__ import annotations

import attrs
import pytest

from casework_flow import Engine, ManualClock, State, Transition, Workflow, replay
from casework_flow._audit import build_entry
from casework_flow.exceptions import ReplayError, TrailBroken

from .conftest import START, load_example

seed = load_example("medan_street_beggar")


def played() -> Engine:
    clock = ManualClock(START)
    engine = Engine([seed.build_workflow()], clock=clock)
    seed.play(engine, clock)
    return engine


def test_replay_of_the_story_equals_the_stored_case():
    engine = played()
    trail = engine.trail(seed.CASE_ID)
    assert replay(seed.build_workflow(), trail, head=trail[-1].head) == engine.get(seed.CASE_ID)


def test_replay_verifies_first():
    trail = list(played().trail(seed.CASE_ID))
    trail[3] = attrs.evolve(trail[3], to_state="closed_left")
    with pytest.raises(TrailBroken):
        replay(seed.build_workflow(), trail)


def test_replay_on_another_workflow_is_refused():
    trail = played().trail(seed.CASE_ID)
    other = Workflow(
        name="other",
        version=1,
        initial="reported",
        states=[State("reported"), State("done", terminal=True)],
        transitions=[Transition("go", source="reported", dest="done")],
    )
    with pytest.raises(ReplayError, match="runs on street-beggar-family-conflict v1"):
        replay(other, trail)


def _rechained(trail, index, **changes):
    """Change one entry and recompute the chain from there, as a forger would."""
    out = list(trail[:index])
    prev = out[-1].hash
    for e in trail[index:]:
        fields = {f.name: getattr(e, f.name) for f in attrs.fields(type(e)) if f.init}
        fields.update(changes if e.seq == trail[index].seq else {})
        fields.pop("hash")
        fields.pop("format")
        fields["prev_hash"] = prev
        fields["actor"] = attrs.evolve(
            seed.WORKER, id=fields.pop("actor_id"), roles=fields.pop("actor_roles")
        )
        new = build_entry(**fields)
        prev = new.hash
        out.append(new)
    return out


def test_a_consistent_chain_with_an_impossible_step_does_not_replay():
    trail = played().trail(seed.CASE_ID)
    forged = _rechained(trail, 2, to_state="placed")
    with pytest.raises(ReplayError, match="no admit_to_shelter from engaged to placed"):
        replay(seed.build_workflow(), forged)
    skipped = _rechained(trail, 3, from_state="assessment")
    with pytest.raises(ReplayError, match="leaves assessment, but the case was in sheltered"):
        replay(seed.build_workflow(), skipped)
