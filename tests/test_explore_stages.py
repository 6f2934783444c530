"""`explore` on staged workflows, with and without the partial-order reduction."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow.testing import (
    always_before,
    eventually_terminal,
    explore,
    never,
    only_roles,
    reach,
)

from .stages import intake_workflow, staged_workflows


def test_explore_walks_the_configurations_of_a_staged_workflow():
    full = explore(intake_workflow(), depth=10, reduce=False)
    reduced = explore(intake_workflow(), depth=10)
    assert full.ok
    assert reduced.ok
    assert full.reached == reduced.reached
    assert {"intervention", "health_cleared", "ktp_issued", "closed"} <= reduced.reached
    assert reduced.visited < full.visited


def test_a_violation_inside_a_track_is_found_with_its_shortest_trail():
    result = explore(intake_workflow(), never(reach("ktp_issued")), depth=10)
    assert not result.ok
    assert result.violation is not None
    events = [e.event for e in result.violation.trail]
    assert events[-1] == "issue_ktp"
    assert len(events) == 6  # open, engage, visit_home, conclude, assessment_done, issue_ktp


@st.composite
def _rules(draw: st.DrawFn, wf):  # type: ignore[no-untyped-def]
    states = [s.id for s in wf.all_states]
    events = list(wf.events)
    return draw(
        st.lists(
            st.one_of(
                st.builds(lambda s: never(reach(s)), st.sampled_from(states)),
                st.builds(always_before, st.sampled_from(events), st.sampled_from(events)),
                st.builds(lambda e: only_roles(e, {"supervisor"}), st.sampled_from(events)),
                st.just(eventually_terminal()),
            ),
            max_size=2,
        )
    )


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_the_reduced_search_finds_every_violation_the_full_one_finds(data):
    """Within any bound: a violation the full search finds, the reduced one finds, with
    a trail no longer; and when neither finds one, a search to the end of the state
    space reaches every state in both."""
    wf = data.draw(staged_workflows(guard_odds=0.1), label="workflow")
    rules = data.draw(_rules(wf), label="rules")
    depth = data.draw(st.integers(2, 7), label="depth")
    full = explore(wf, *rules, depth=depth, reduce=False)
    reduced = explore(wf, *rules, depth=depth)
    assert reduced.ok == full.ok, (full, reduced)
    if not full.ok:
        assert full.violation is not None
        assert reduced.violation is not None
        assert len(reduced.violation.trail) <= len(full.violation.trail)
        return
    assert reduced.visited <= full.visited
    whole = explore(wf, *rules, depth=60, reduce=False)
    whole_reduced = explore(wf, *rules, depth=60)
    assert whole_reduced.ok == whole.ok
    assert whole_reduced.reached == whole.reached
