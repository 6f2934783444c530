"""Coverage of a workflow by trails: what each kind counts, merged, and in pytest."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from casework_flow import seed
from casework_flow.exceptions import InvalidInput
from casework_flow.files import loads_workflow
from casework_flow.testing import (
    Coverage,
    check_rules,
    coverage_of,
    explore,
    fires,
    precedence,
    reach,
    recording,
    response,
    seed_properties,
    workflow_machine,
)

from .test_temporal_planted import intake

pytest_plugins = ["pytester"]

TWO_WAYS = textwrap.dedent(
    """
    name: two-ways
    version: 1
    initial: open
    roles: [worker, system]
    states:
    - {id: open}
    - id: waiting
      deadline: {within: P3D}
      timers: [{after: P10D, event: expire}]
    - {id: done, terminal: true}
    - {id: lapsed, terminal: true}
    transitions:
    - {event: note, source: open, stay: true, roles: [worker]}
    - {event: ask, source: open, dest: waiting, roles: [worker],
       guard: {count: note, op: '>=', value: 1}}
    - {event: answer, source: waiting, dest: done, roles: [worker]}
    - {event: expire, source: waiting, dest: lapsed, roles: [system]}
    """
)
WF = loads_workflow(TWO_WAYS, "yaml")


def covered(c: Coverage, kind: str) -> set[str]:
    return {i.name for i in c.of(kind) if i.covered}


def test_an_empty_set_of_trails_covers_nothing_and_names_everything():
    c = coverage_of(WF, [])
    assert c.trails == 0
    assert c.percent == 0
    assert {i.name for i in c.of("states")} == {"open", "waiting", "done", "lapsed"}
    assert {i.name for i in c.of("transitions")} == {
        "note: open -> (stays)",
        "ask: open -> waiting",
        "answer: waiting -> done",
        "expire: waiting -> lapsed",
    }
    assert [(i.name, i.seen) for i in c.of("guards")] == [
        ("ask: open -> waiting: count(note) >= 1", "never tried")
    ]
    assert {i.name for i in c.of("timers")} == {"waiting: expire"}
    assert {i.name for i in c.of("deadlines")} == {"waiting: met", "waiting: missed"}
    pairs = {i.name for i in c.of("pairs")}
    assert "note: open -> (stays) then ask: open -> waiting" in pairs
    assert "ask: open -> waiting then answer: waiting -> done" in pairs
    assert "answer: waiting -> done then ask: open -> waiting" not in pairs


def test_a_complete_walk_covers_every_state_transition_guard_outcome_pair_and_timer():
    found = explore(WF, depth=6)
    c = coverage_of(WF, found.trails)
    assert c.trails == len(found.trails)
    assert c.ratio("states") == c.ratio("transitions") == c.ratio("timers") == 1
    assert c.ratio("guards") == 1, c.text()
    assert c.ratio("pairs") == 1, c.text()
    assert covered(c, "deadlines") == {"waiting: met", "waiting: missed"}, c.text()
    assert c.missing() == ()
    assert c.percent == 100


def test_one_trail_covers_what_it_took_and_says_what_a_guard_only_did():
    found = explore(WF, depth=6)
    answered = found.shortest["done"]
    c = coverage_of(WF, [answered])
    assert covered(c, "states") == {"open", "waiting", "done"}
    assert covered(c, "transitions") == {
        "note: open -> (stays)",
        "ask: open -> waiting",
        "answer: waiting -> done",
    }
    assert [i.seen for i in c.of("guards")] == [""]  # failed before the note, held after
    assert covered(c, "timers") == set()
    assert covered(c, "deadlines") == {"waiting: met"}
    text = c.text()
    assert "state lapsed" in text
    assert "timer waiting: expire" in text
    assert "deadline waiting: missed" in text


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_coverage_of_some_trails_is_what_each_covers_together(data):
    trails = explore(WF, depth=6).trails
    some = data.draw(st.lists(st.sampled_from(trails), min_size=1, max_size=6))
    whole = coverage_of(WF, some)
    one_by_one = [coverage_of(WF, [t]) for t in some]
    merged = one_by_one[0]
    for c in one_by_one[1:]:
        merged = merged | c
    assert covered(merged, "states") == covered(whole, "states")
    assert covered(merged, "transitions") == covered(whole, "transitions")
    assert covered(merged, "guards") == covered(whole, "guards")
    assert covered(merged, "timers") == covered(whole, "timers")
    assert covered(merged, "deadlines") == covered(whole, "deadlines")
    assert covered(merged, "pairs") == covered(whole, "pairs")
    for kind in ("states", "transitions"):
        assert covered(whole, kind) == set().union(*(covered(c, kind) for c in one_by_one))
    assert Coverage.from_dict(json.loads(json.dumps(whole.to_dict()))) == whole


def test_a_merge_keeps_what_only_one_side_lists_and_joins_guard_outcomes():
    c = coverage_of(WF, [])
    raw = c.to_dict()
    held = [[k, n, False, "only held" if k == "guards" else s] for k, n, _, s in raw["items"]]
    failed = [[k, n, False, "only failed" if k == "guards" else s] for k, n, _, s in raw["items"]]
    first = Coverage.from_dict({**raw, "items": held})
    second = Coverage.from_dict({**raw, "items": failed[1:]})  # lists one item fewer
    joined = first | second
    assert [i.name for i in joined.items] == [i.name for i in c.items]
    assert covered(joined, "guards") == {"ask: open -> waiting: count(note) >= 1"}
    assert joined.items[0] == first.items[0]
    assert covered(joined, "states") == set()


def test_coverages_of_different_workflows_do_not_merge():
    with pytest.raises(InvalidInput, match="is coverage of another street-beggar"):
        coverage_of(WF, []) | coverage_of(seed.build_workflow(), [])


def test_requirements_are_exercised_when_their_rule_was_triggered():
    answered = response(fires("ask"), reach("done"), requirements=["SOP-1"], name="answered")
    noted = precedence(fires("note"), fires("ask"), requirements=["SOP-2"], name="noted")
    only_open = [explore(WF, depth=6).shortest["open"]]
    c = coverage_of(WF, only_open, properties=[answered, noted])
    assert [(i.name, i.covered) for i in c.of("requirements")] == [
        ("SOP-1", False),
        ("SOP-2", False),
    ]
    c = coverage_of(WF, explore(WF, depth=6).trails, properties=[answered, noted])
    assert c.ratio("requirements") == 1


def test_every_kit_run_inside_a_recording_hands_over_its_trails():
    wf = intake()
    with recording() as rec:
        explore(WF, depth=6)
        check_rules(wf, max_examples=5)
        run_state_machine_as_test(
            workflow_machine(wf), settings=settings(max_examples=3, deadline=None)
        )
    explore(WF, depth=2)  # after the block: not recorded
    found = {c.workflow: c for c in rec.coverage()}
    assert set(found) == {"two-ways@1", "planted-intake@1"}
    assert found["two-ways@1"].percent == 100
    assert found["planted-intake@1"].ratio("states") == 1


def test_the_html_page_marks_each_item_and_escapes_names():
    page = coverage_of(WF, explore(WF, depth=1).trails).html()
    assert page.startswith("<!doctype html>")
    assert "<h2>States: " in page
    assert "<td>count(note) &gt;= 1" not in page  # names are escaped in their cells
    assert "ask: open -&gt; waiting" in page
    assert '<td class="no">no</td>' in page
    assert '<td class="yes">yes</td>' in page


def test_the_seed_suite_covers_most_of_the_seed():
    wf = seed.build_workflow()
    c = coverage_of(
        wf, explore(wf, *seed_properties(), depth=12).trails, properties=seed_properties()
    )
    assert c.ratio("states") == 1
    assert c.ratio("timers") == 1
    assert c.ratio("transitions") >= 0.9
    assert c.percent > 80


PLUGGED = """
    from casework_flow.files import loads_workflow
    from casework_flow.testing import explore

    WF = loads_workflow({text!r}, "yaml")

    def test_walk_{n}():
        explore(WF, depth={depth})
"""


def _suite(pytester: pytest.Pytester, depths: list[int]) -> None:
    for n, depth in enumerate(depths):
        pytester.makepyfile(**{f"test_w{n}": PLUGGED.format(text=TWO_WAYS, n=n, depth=depth)})


def test_the_plugin_reports_coverage_writes_html_and_fails_under_a_threshold(pytester):
    _suite(pytester, [1])
    args = ["-p", "no:cacheprovider", "-p", "no:django", "-p", "no:xdist"]
    result = pytester.runpytest(*args, "--casework-coverage", "--casework-coverage-html=cov")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*casework_flow coverage*", "coverage of two-ways@1 by *"])
    assert (pytester.path / "cov" / "two-ways-v1.html").read_text().startswith("<!doctype")
    assert result.ret == 0
    low = pytester.runpytest(*args, "--casework-coverage-fail-under=90")
    low.assert_outcomes(passed=1)
    assert low.ret == pytest.ExitCode.TESTS_FAILED
    low.stdout.fnmatch_lines(["*FAIL: coverage under 90%*"])


def test_the_plugin_reports_what_xdist_workers_covered_on_the_controller(pytester):
    _suite(pytester, [6, 1])
    args = ["-p", "no:cacheprovider", "-p", "no:django", "-n", "2"]
    result = pytester.runpytest_subprocess(*args, "--casework-coverage-fail-under=100")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["coverage of two-ways@1 by * 100.0%"])
