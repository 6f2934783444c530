"""`testing.model_test`: a host's own system checked against its workflow.

The host here keeps its cases with an engine of its own, as a real one does, and each
planted bug is one a host could have in its code around the engine (tests/model_hosts).
The walk finds each with the shortest sequence (asserted command by command), the
random runs find each on their own, a divergence is saved as a fixture that replays,
and an honest host passes.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework_flow import Actor, Engine, seed
from casework_flow.exceptions import CaseworkError, InvalidInput
from casework_flow.files import loads_workflow
from casework_flow.testing import (
    AnswerHandover,
    ApproveRequest,
    FireEvent,
    Host,
    HostCommand,
    HostDiverged,
    ModelReport,
    OpenCase,
    PassTime,
    Reply,
    Seen,
    SendHandover,
    model_test,
    recording,
    replay_fixture,
)
from casework_flow.testing._host import command_json, command_of, describe
from casework_flow.testing._host_model import _seen_differs, on_engine, reply_to

from .model_hosts import PEOPLE, EngineHost

WF = seed.build_workflow()
OPEN = "open CASE-1 as oo-04"
CONTACT = (
    "fire first_contact on CASE-1 as sw-017, data {'client_alias': 'client_alias value',"
    " 'found_at': 'found_at value'}, expecting revision 1"
)
TO_ASSESSMENT = [
    OPEN,
    CONTACT,
    (
        "fire admit_to_shelter on CASE-1 as sw-017, documents ['consent:shelter_admission'],"
        " expecting revision 2"
    ),
    "fire begin_assessment on CASE-1 as sw-017, expecting revision 3",
]
SHORTEST = {
    "drops_revision": (
        [OPEN, CONTACT, ("fire decline on CASE-1 as sw-017, data {'age': 18}, code"
         " CLIENT_DECLINED, expecting revision 1")],
        "the workflow answered a conflict, the host allowed it",
    ),
    "default_age": (
        [OPEN, CONTACT],
        ("then CASE-1: the host shows data {'age': 18, 'client_alias': 'client_alias value',"
        " 'found_at': 'found_at value'}, the workflow {'client_alias': 'client_alias value',"
        " 'found_at': 'found_at value'}"),
    ),
    "no_timers": (
        [*TO_ASSESSMENT,
         ("fire complete_assessment on CASE-1 as sw-017, documents ['assessment_report'],"
         " expecting revision 4"),
         "the clock moves to 2024-01-15T00:00:00+00:00 and due timers run"],
        "then CASE-1: the host shows state 'family_tracing', the workflow 'case_conference'",
    ),
    "first_reason": (
        [OPEN, "fire first_contact on CASE-1 as sw-017, expecting revision 1"],
        ("both refused it, the workflow refused it (client_alias, found_at), the host"
        " refused it (client_alias)"),
    ),
    "hides_assessment": (
        TO_ASSESSMENT,
        "then CASE-1: the host shows state 'sheltered', the workflow 'assessment'",
    ),
    "swallows_refusals": (
        [OPEN, CONTACT, ("fire decline on CASE-1 as sw-017, code CLIENT_DECLINED,"
         " expecting revision 2")],
        "the workflow refused it (age >= 18), the host allowed it",
    ),
}  # fmt: skip


def _test(host: Host, **options: object) -> ModelReport:
    args: dict[str, object] = {"depth": 6, "examples": 0, "calendar": seed.CALENDAR}
    args.update(options)
    return model_test(WF, host, people=PEOPLE, **args)  # type: ignore[arg-type]


def test_an_honest_host_agrees_with_its_workflow() -> None:
    host = EngineHost()
    report = _test(host, depth=6, examples=60, hypothesis=settings(derandomize=True))
    assert report.situations > 50
    assert report.paths > 30
    assert report.examples >= 60
    assert report.commands == len(host.sent)
    assert host.starts == host.stops == report.paths + report.examples
    kinds = {type(c) for c in host.sent}
    assert {OpenCase, FireEvent, PassTime, ApproveRequest, AnswerHandover} <= kinds
    refusals = [c for c in host.sent if isinstance(c, FireEvent) and c.event == "no_such_event"]
    assert refusals, "the random runs send events the workflow does not know"


PLACEMENT = loads_workflow(
    textwrap.dedent("""\
    name: placement
    version: 1
    initial: intake
    handovers:
      referral:
        send: [social_worker]
        answer: [shelter_head]
        access: [read, unit_accepts]
    states:
    - id: intake
    - id: conference
    - id: referral_pending
    - id: placed
      terminal: true
    transitions:
    - event: assess
      source: intake
      dest: conference
      roles: [social_worker]
    - event: refer
      source: conference
      dest: referral_pending
      roles: [social_worker]
      approval: {roles: [supervisor], kind: referral, not_assignee: true}
    - event: unit_accepts
      source: referral_pending
      dest: placed
      roles: [shelter_head]
      guard: {handover: referral}
    """),
    "yaml",
)
TO_PLACED = [
    "open CASE-1 as oo-04",
    "fire assess on CASE-1 as sw-017, expecting revision 1",
    "fire refer on CASE-1 as sw-017, expecting revision 2",
    "approve referral on CASE-1 as spv-002",
    "send a referral of CASE-1 to upt-binjai as sw-017",
    "accept referral-10 on CASE-1 as upt-bnj-head",
    "fire unit_accepts on CASE-1 as upt-bnj-head, expecting revision 6",
]


def test_the_walk_takes_approvals_and_handovers_as_the_host_must() -> None:
    host = EngineHost(PLACEMENT)
    report = model_test(PLACEMENT, host, people=PEOPLE, depth=8, examples=0)
    assert report.paths >= 1
    words = [describe(c) for c in host.sent]
    at = 0
    for step in TO_PLACED:
        at = words.index(step, at) + 1
    wrong = ["approve referral on CASE-1 as oo-04", "accept referral-10 on CASE-1 as oo-04"]
    assert set(wrong) <= set(words), "the probes try an approval and an answer by the wrong person"


def test_a_host_approving_for_anyone_is_found() -> None:
    with pytest.raises(HostDiverged) as caught:
        model_test(PLACEMENT, EngineHost(PLACEMENT, bug="approves_for_anyone"), people=PEOPLE,
                   depth=8, examples=0)  # fmt: skip
    assert [describe(c) for c in caught.value.commands] == [
        *TO_PLACED[:3],
        "approve referral on CASE-1 as oo-04",
    ]
    assert caught.value.why == "the workflow refused it (approver), the host allowed it"


@pytest.mark.parametrize("bug", sorted(SHORTEST))
def test_the_walk_finds_each_planted_bug_with_its_shortest_sequence(bug: str) -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(EngineHost(bug=bug))
    found = caught.value
    steps, why = SHORTEST[bug]
    assert [describe(c) for c in found.commands] == steps
    assert found.why == why
    assert found.step == len(steps) - 1
    assert found.fixture is None
    assert isinstance(found, CaseworkError)
    assert isinstance(found, AssertionError)
    assert why in str(found)
    assert f"at step {len(steps)}" in str(found)


@pytest.mark.parametrize("bug", sorted(SHORTEST))
def test_random_runs_find_each_planted_bug_beyond_the_walk(bug: str) -> None:
    """From the opening, or from the ends of a walk too short to find the bug itself."""
    depth = 3 if bug == "no_timers" else 0
    if depth:
        _test(EngineHost(bug=bug), depth=depth, examples=0)
    with pytest.raises(HostDiverged) as caught:
        _test(EngineHost(bug=bug), depth=depth, examples=300,
              hypothesis=settings(derandomize=True))  # fmt: skip
    found = caught.value
    assert isinstance(found.commands[0], OpenCase)
    assert len(found.commands) <= len(SHORTEST[bug][0])


def test_without_a_walk_no_path_is_played() -> None:
    report = _test(EngineHost(), depth=0, examples=3)
    assert (report.situations, report.paths) == (0, 0)
    assert report.examples >= 3


def test_time_is_the_host_clock_s_to_move_not_an_engine_command() -> None:
    engine = Engine([WF])
    with pytest.raises(InvalidInput, match="time passes on the host's clock"):
        on_engine(engine, WF.name, PassTime(datetime(2024, 1, 2, tzinfo=UTC)))


def test_each_engine_error_is_the_reply_a_host_gives() -> None:
    engine = Engine([WF])
    replies = []
    for call in (
        lambda: engine.fire("NOPE", "first_contact", actor=seed.WORKER),
        lambda: engine.open(WF.name, "C", actor=seed.OUTREACH),
        lambda: engine.open(WF.name, "C", actor=seed.OUTREACH),
        lambda: engine.fire("C", "fly", actor=seed.WORKER),
        lambda: engine.fire("C", "first_contact", actor=seed.WORKER, expected_revision=7),
        lambda: engine.fire("C", "first_contact", actor=seed.WORKER),
        lambda: engine.open(WF.name, " ", actor=seed.OUTREACH),
    ):
        try:
            call()
            replies.append(None)
        except CaseworkError as e:
            replies.append(reply_to(e))
    assert replies == [
        Reply("not_found"),
        None,
        Reply("conflict"),
        Reply("not_found"),
        Reply("conflict"),
        Reply("refused", {"client_alias", "found_at"}),
        Reply("invalid"),
    ]


def test_what_each_side_shows_is_compared_field_by_field() -> None:
    seen = Seen("assessment", 4, {"age": 30})
    assert _seen_differs(seen, seen) is None
    assert _seen_differs(None, None) is None
    assert (
        _seen_differs(seen, None) == "the host has no such case; the workflow has it in assessment"
    )
    assert (
        _seen_differs(None, seen)
        == "the host shows it in assessment; the workflow has no such case"
    )
    assert _seen_differs(seen, Seen("assessment", 5)) == (
        "the host shows revision 5, the workflow 4"
    )
    assert _seen_differs(seen, Seen("assessment")) is None
    assert _seen_differs(seen, Seen("assessment", data={"age": 31})) == (
        "the host shows data {'age': 31}, the workflow {'age': 30}"
    )


class _Forgetful(EngineHost):
    """Loses the case it was asked to open, or shows a revision one too high."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def look(self, case_id: str) -> Seen | None:
        seen = super().look(case_id)
        if self.how == "loses" or seen is None:
            return None
        if self.how == "junk":
            return "a case"  # type: ignore[return-value]
        return Seen(seen.state, (seen.revision or 0) + 1)


def test_a_host_that_loses_a_case_or_miscounts_its_revision_is_found() -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(_Forgetful("loses"), depth=1)
    assert (
        caught.value.why
        == "then CASE-1: the host has no such case; the workflow has it in reported"
    )
    with pytest.raises(HostDiverged) as caught:
        _test(_Forgetful("revision"), depth=1)
    assert caught.value.why == "then CASE-1: the host shows revision 2, the workflow 1"
    with pytest.raises(InvalidInput, match="look must return a Seen or None, got 'a case'"):
        _test(_Forgetful("junk"), depth=1)


def test_the_replies_compared_are_kept_on_the_error() -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(EngineHost(bug="swallows_refusals"))
    assert caught.value.expected == Reply("refused", {"age >= 18"})
    assert caught.value.got == Reply("allowed")
    with pytest.raises(HostDiverged) as caught:
        _test(EngineHost(bug="hides_assessment"))
    assert isinstance(caught.value.expected, Seen)
    assert caught.value.expected.state == "assessment"
    assert caught.value.got is not None
    assert caught.value.got.state == "sheltered"  # type: ignore[union-attr]


def test_a_divergence_is_saved_as_a_fixture_that_replays(tmp_path: Path) -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(EngineHost(bug="drops_revision"), save_to=tmp_path / "fixtures")
    saved = caught.value.fixture
    assert saved is not None
    assert saved.parent == tmp_path / "fixtures"
    assert str(saved) in str(caught.value)
    body = json.loads(saved.read_text())
    assert body["format"] == "casework-flow/model-test/1"
    assert body["workflow"] == f"{WF.name}@{WF.version}"
    assert body["why"] == SHORTEST["drops_revision"][1]
    assert [c["do"] for c in body["commands"]] == ["open", "fire", "fire"]
    with pytest.raises(HostDiverged) as again:
        replay_fixture(saved, WF, EngineHost(bug="drops_revision"), calendar=seed.CALENDAR)
    assert again.value.commands == caught.value.commands
    assert again.value.fixture == saved
    replay_fixture(saved, WF, EngineHost(), calendar=seed.CALENDAR)


def test_a_fixture_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(InvalidInput, match="the fixture cannot be written"):
        _test(EngineHost(bug="first_reason"), save_to=blocked / "fixtures")


def test_a_fixture_of_another_workflow_or_no_fixture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(EngineHost(bug="first_reason"), save_to=tmp_path)
    saved = caught.value.fixture
    assert saved is not None
    other = attrs.evolve(WF, version=2)
    with pytest.raises(InvalidInput, match="saved for street-beggar-family-conflict@1"):
        replay_fixture(saved, other, EngineHost())
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    with pytest.raises(InvalidInput, match="not a model-test fixture"):
        replay_fixture(junk, WF, EngineHost())
    junk.write_text("{not json")
    with pytest.raises(InvalidInput, match="cannot be read as JSON"):
        replay_fixture(junk, WF, EngineHost())
    body = json.loads(saved.read_text())
    body["commands"][1]["do"] = "dance"
    junk.write_text(json.dumps(body))
    with pytest.raises(InvalidInput, match=r"do.*dance"):
        replay_fixture(junk, WF, EngineHost())
    with pytest.raises(InvalidInput, match="cannot be read"):
        replay_fixture(tmp_path / "missing.json", WF, EngineHost())
    with pytest.raises(InvalidInput, match="host"):
        replay_fixture(saved, WF, object())  # type: ignore[arg-type]


def test_model_tests_record_what_they_covered() -> None:
    with recording() as rec:
        _test(EngineHost(), depth=5)
    (coverage,) = rec.coverage()
    assert coverage.workflow == f"{WF.name}@{WF.version}"
    covered = {i.name for i in coverage.of("states") if i.covered}
    assert {"reported", "engaged", "sheltered", "assessment"} <= covered
    assert "placed" not in covered


class _Mute:
    """A host whose answers are not values the test can compare."""

    def start(self, at: datetime) -> None:
        del at

    def stop(self) -> None:
        pass

    def apply(self, command: HostCommand) -> Reply:
        del command
        return "fine"  # type: ignore[return-value]

    def look(self, case_id: str) -> Seen | None:
        del case_id
        return None


def test_bad_arguments_are_one_clear_error() -> None:
    with pytest.raises(InvalidInput, match=r"host.*start, apply, look and stop"):
        model_test(WF, object(), people=PEOPLE)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="people"):
        model_test(WF, EngineHost(), people=[])
    for name, value in (("depth", -1), ("examples", True), ("max_steps", 0)):
        with pytest.raises(InvalidInput, match=name):
            model_test(WF, EngineHost(), people=PEOPLE, **{name: value})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="apply must return a Reply, got 'fine'"):
        model_test(WF, _Mute(), people=PEOPLE, depth=1)
    with pytest.raises(InvalidInput, match=r"outcome.*allowed, refused"):
        Reply("maybe")


def test_the_host_sees_only_people_it_knows_and_the_chosen_opening() -> None:
    host = EngineHost()
    _test(host, depth=3, opener=seed.WORKER, assignee="sw-017", unit=seed.MEDAN)
    ids = {p.id for p in PEOPLE}
    for c in host.sent:
        if not isinstance(c, PassTime):
            assert c.actor.id in ids
    first = host.sent[0]
    assert first == OpenCase("CASE-1", seed.WORKER, "sw-017", seed.MEDAN)


def test_each_command_reads_in_words() -> None:
    at = datetime(2024, 1, 2, tzinfo=UTC)
    w = seed.WORKER
    cases = {
        OpenCase("C", w): "open C as sw-017",
        FireEvent("C", "decline", w, data={"age": 3}, evidence={"x": "1"}, reason_code="K",
                  expected_revision=2, override_by=seed.SUPERVISOR):
            "fire decline on C as sw-017, data {'age': 3}, documents ['x'], code K,"
            " expecting revision 2, overridden by spv-002",
        ApproveRequest("C", w, "referral"): "approve referral on C as sw-017",
        ApproveRequest("C", w): "approve the request on C as sw-017",
        SendHandover("C", "referral", w, "upt", "why"): "send a referral of C to upt as sw-017",
        AnswerHandover("C", "referral-3", w): "accept referral-3 on C as sw-017",
        AnswerHandover("C", "referral-3", w, accept=False): "reject referral-3 on C as sw-017",
        PassTime(at): "the clock moves to 2024-01-02T00:00:00+00:00 and due timers run",
    }  # fmt: skip
    for command, words in cases.items():
        assert describe(command) == words


_ids = st.text("abcdefgh-", min_size=1, max_size=8)
_actors = st.builds(
    Actor,
    _ids,
    st.sets(st.sampled_from(["social_worker", "supervisor", "shelter_head"]), max_size=2),
    units=st.sets(_ids, max_size=2),
)
_values = st.one_of(st.integers(-5, 99), st.text(max_size=6), st.booleans(), st.none())
_maps = st.dictionaries(_ids, _values, max_size=3)
_papers = st.dictionaries(_ids, _ids, max_size=3)
_times = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_commands = st.one_of(
    st.builds(OpenCase, _ids, _actors, st.none() | _ids, st.none() | _ids),
    st.builds(
        FireEvent,
        _ids,
        _ids,
        _actors,
        data=_maps,
        evidence=_papers,
        reason=st.none() | st.text(max_size=5),
        reason_code=st.none() | _ids,
        expected_revision=st.none() | st.integers(0, 9),
        override_by=st.none() | _actors,
    ),
    st.builds(ApproveRequest, _ids, _actors, st.none() | _ids),
    st.builds(SendHandover, _ids, _ids, _actors, _ids, st.text(max_size=5), _papers),
    st.builds(AnswerHandover, _ids, _ids, _actors, st.booleans(), st.none() | _ids, _papers),
    st.builds(PassTime, _times),
)


@given(_commands)
def test_every_command_survives_its_fixture_form(command: HostCommand) -> None:
    raw = json.loads(json.dumps(command_json(command)))
    assert command_of(raw) == command


def test_time_passes_on_the_model_and_the_host_alike() -> None:
    host = EngineHost()
    _test(host, depth=6)
    times = [c.to for c in host.sent if isinstance(c, PassTime)]
    assert times
    assert max(times) - min(times) >= timedelta(days=5)
