"""Which tracks the partial-order reduction may defer, and what the checks read of guards."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from casework_flow import State, Transition, Workflow
from casework_flow._configurations import allowed_by_configuration
from casework_flow.guards import evidence, in_state, time_in_state
from casework_flow.testing import always_before, holds, never, only_roles, reach
from casework_flow.testing._reduction import Reduction


def tracks(*, history: bool = False, guard=None, out: bool = False) -> Workflow:  # type: ignore[no-untyped-def]
    """Three tracks of two steps; the first one's step may carry a guard or lead out."""
    names = ["identity", "health", "school"]
    held = [
        State(
            f"{n}_track", initial=f"{n}_1", history=history and n == "identity",
            states=[State(f"{n}_1"), State(f"{n}_2"), State(f"{n}_done", final=True)],
        )
        for n in names
    ]  # fmt: skip
    transitions = [
        Transition("admit", "intake", "services"),
        Transition("services_done", "services", "closed"),
    ]
    for n in names:
        first = {"guard": guard} if guard is not None and n == "identity" else {}
        dest = "closed" if out and n == "identity" else f"{n}_2"
        transitions += [
            Transition(f"{n}_a", f"{n}_1", dest, **first),
            Transition(f"{n}_b", f"{n}_2", f"{n}_done"),
        ]
    return Workflow(
        "tracks", 1, "intake",
        states=[
            State("intake"),
            State("services", parallel=True, on_done="services_done", states=held),
            State("closed", terminal=True),
        ],
        transitions=transitions,
    )  # fmt: skip


def _plain(wf: Workflow, *rules) -> list[str]:  # type: ignore[no-untyped-def]
    return [t for t, _ in Reduction(wf, rules).plain.get("services", ())]


def test_independent_tracks_are_all_plain():
    assert _plain(tracks()) == ["identity_track", "health_track", "school_track"]


@pytest.mark.parametrize(
    ("rule", "seen"),
    [
        (always_before("admit", "identity_b"), "identity_track"),
        (only_roles("health_a", {"supervisor"}), "health_track"),
        (never(reach("school_2")), "school_track"),
        (never(reach("closed"), unless=in_state("health_done")), "health_track"),
    ],
)
def test_a_track_a_rule_can_see_is_not_deferred(rule, seen):
    plain = _plain(tracks(), rule)
    assert seen not in plain
    assert len(plain) == 2


def test_a_host_predicate_turns_the_reduction_off():
    assert Reduction(tracks(), [holds("anything", lambda *_: True)]).plain == {}


REST = ["health_track", "school_track"]


@pytest.mark.parametrize(
    ("wf", "plain"),
    [
        (tracks(history=True), REST),
        (tracks(guard=time_in_state() >= timedelta(days=3)), REST),
        (tracks(guard=evidence("identity_document")), REST),
        (tracks(out=True), REST),
        (tracks(guard=in_state("health_2")), []),
    ],
    ids=["history", "clock", "document", "leads-out", "reads-another-track"],
)
def test_a_track_that_is_not_independent_is_not_deferred(wf, plain):
    """One plain track left has nothing to take turns with: no reduction at all."""
    assert _plain(wf) == plain


def test_a_track_another_event_reads_is_not_deferred():
    base = tracks()
    wf = attrs.evolve(
        base,
        transitions=[
            *base.transitions,
            Transition("early_close", "services", "closed", guard=in_state("school_2")),
        ],
    )
    assert _plain(wf) == ["identity_track", "health_track"]


@pytest.mark.parametrize(
    ("guard", "allowed"),
    [
        (in_state("a"), True),
        (in_state("z"), False),
        (in_state("a") & in_state("z"), False),
        (in_state("a") & in_state("b"), True),
        (in_state("z") | in_state("b"), True),
        (in_state("z") | in_state("y"), False),
        (~in_state("z"), True),
        (~in_state("a"), False),
        (evidence("x"), True),
    ],
)
def test_the_checks_read_only_the_in_state_parts_of_a_guard(guard, allowed):
    assert allowed_by_configuration(guard, frozenset({"a", "b"})) is allowed
