"""casework_flow.testing: every rule type catches its planted violation, passes a sound process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from casework_flow import (
    Actor,
    AuditEntry,
    Engine,
    EntryKind,
    InMemoryStore,
    SQLiteStore,
    State,
    Timer,
    Transition,
    Workflow,
)
from casework_flow import seed as demo
from casework_flow._frozen import FrozenMap
from casework_flow.exceptions import ReplayError
from casework_flow.guards import count, fact
from casework_flow.testing import (
    RuleViolated,
    always_before,
    check_rules,
    eventually_terminal,
    holds,
    never,
    only_roles,
    reach,
    workflow_machine,
)

SEED = demo.build_workflow()
REFERRAL_RULE = never(reach("referral_pending"), unless=count("record_contact_attempt") >= 3)


def elderly(*extra: Transition, states: tuple[State, ...] = ()) -> Workflow:
    return Workflow(
        name="elderly-neglect",
        version=1,
        initial="reported",
        states=[
            State("reported"),
            State("home_visit"),
            State("review"),
            State("closed", terminal=True),
            *states,
        ],
        transitions=[
            Transition(
                "visit",
                source="reported",
                dest="home_visit",
                roles={"social_worker"},
                requires=("visit_date",),
            ),
            Transition("ask_review", source="home_visit", dest="review", roles={"social_worker"}),
            Transition("close", source="review", dest="closed", roles={"supervisor"}),
            *extra,
        ],
    )


SOUND = elderly()


@pytest.mark.slow
def test_the_seed_keeps_its_rules():
    check_rules(
        SEED,
        REFERRAL_RULE,
        only_roles("refer_to_shelter_unit", {"supervisor"}),
        always_before("terminate", "complete_follow_up"),
        eventually_terminal(),
        max_examples=100,
    )


LAX_SEED = attrs.evolve(
    SEED,
    version=2,
    transitions=[
        attrs.evolve(t, guard=t.conjuncts[0]) if t.event == "refer_to_shelter_unit" else t
        for t in SEED.transitions
    ],
)
"""The seed with the attempts guard dropped from the referral: a planted defect."""
SHORTEST_BREAK = [
    "open",
    "first_contact",
    "admit_to_shelter",
    "begin_assessment",
    "complete_assessment",
    "tracing_failed",
    "refer_to_shelter_unit",
    "refer_to_shelter_unit",
]


def test_a_broken_seed_variant_is_caught_with_the_shortest_path():
    broken = LAX_SEED
    with pytest.raises(RuleViolated) as info:
        check_rules(broken, REFERRAL_RULE, max_examples=300)
    err = info.value
    assert err.rule == "never reach referral_pending unless count(record_contact_attempt) >= 3"
    assert "record_contact_attempt was recorded 0 times; at least 3 needed" in err.why
    assert [e.event for e in err.trail] == SHORTEST_BREAK
    assert "refer_to_shelter_unit (Rujuk ke UPT · Refer to the shelter unit)" in err.table


PLANTED = [
    (
        elderly(
            Transition("close_now", source="home_visit", dest="closed", roles={"social_worker"})
        ),
        only_roles("close_now", {"supervisor"}),
        "did close_now",
    ),
    (
        elderly(Transition("close_now", source="home_visit", dest="closed", roles={"supervisor"})),
        always_before("ask_review", "close_now"),
        "close_now happened with no ask_review",
    ),
    (
        elderly(Transition("park", source="home_visit", dest="parked"), states=(State("parked"),)),
        eventually_terminal(),
        "from parked no terminal state can be reached",
    ),
    (
        elderly(Transition("skip", source="reported", dest="review", roles={"social_worker"})),
        never(reach("review"), unless=fact("visit_date").present()),
        "visit_date is not recorded",
    ),
    (
        SOUND,
        holds("at most 3 revisions", lambda case, _: case.revision <= 3),
        "at most 3 revisions does not hold",
    ),
]
RULE_TYPES = ["only_roles", "always_before", "eventually_terminal", "never", "holds"]


@pytest.mark.parametrize(("planted", "rule", "expected"), PLANTED, ids=RULE_TYPES)
def test_each_rule_type_catches_a_planted_violation(planted, rule, expected):
    with pytest.raises(RuleViolated, match=expected):
        check_rules(planted, rule, max_examples=200)


SOUND_RULES = [
    only_roles("close", {"supervisor"}),
    always_before("ask_review", "close"),
    eventually_terminal(),
    never(reach("review"), unless=fact("visit_date").present()),
    holds("at most 6 revisions", lambda case, _: case.revision <= 6),
]


@pytest.mark.slow
@pytest.mark.parametrize("rule", SOUND_RULES, ids=RULE_TYPES)
def test_a_sound_process_passes_every_rule_type(rule):
    check_rules(SOUND, rule, max_examples=150)


SeedMachine = workflow_machine(
    SEED, rules=[REFERRAL_RULE, only_roles("refer_to_shelter_unit", {"supervisor"})]
)
TestSeedMachine = SeedMachine.TestCase
TestSeedMachine.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestSeedMachine.pytestmark = [pytest.mark.slow]


def test_the_machine_runs_on_sqlite_too(tmp_path):
    counter = iter(range(10_000))
    machine = workflow_machine(
        SOUND, store=lambda: SQLiteStore(tmp_path / f"m{next(counter)}.sqlite3")
    )
    run_state_machine_as_test(
        machine, settings=settings(max_examples=10, stateful_step_count=15, deadline=None)
    )


@pytest.mark.slow
def test_the_machine_reports_a_broken_rule():
    planted = elderly(
        Transition("close_now", source="home_visit", dest="closed", roles={"social_worker"})
    )
    machine = workflow_machine(planted, rules=[only_roles("close_now", {"supervisor"})])
    with pytest.raises(RuleViolated, match="did close_now"):
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=300, stateful_step_count=20, deadline=None, database=None
            ),
        )


def test_host_rules_and_invariants_can_be_added():
    class Hosted(workflow_machine(SOUND)):  # type: ignore[misc]
        @invariant()
        def no_case_has_more_than_seven_revisions(self) -> None:
            for case_id in self.opened:
                assert self.engine.get(case_id).revision <= 7

    run_state_machine_as_test(
        Hosted, settings=settings(max_examples=20, stateful_step_count=20, deadline=None)
    )


# --- the machine catches a store that misbehaves --------------------------------------

TIMED = Workflow(
    name="timed",
    version=1,
    initial="waiting",
    states=[
        State("waiting", timers=(Timer(timedelta(days=3), "chase", reason="No answer."),)),
        State("closed", terminal=True),
    ],
    transitions=[
        Transition("chase", source="waiting", dest=None, roles={"system", "worker"}),
        Transition("close", source="waiting", dest="closed", roles={"worker"}),
    ],
)
START = datetime(2024, 1, 1, tzinfo=UTC)
QUICK = settings(
    max_examples=40,
    stateful_step_count=12,
    deadline=None,
    database=None,
    derandomize=True,
    report_multiple_bugs=False,
)
"""A planted bug must be found on every run, not on lucky ones: the search is fixed."""


class _MisremembersAssignee(InMemoryStore):
    """Returns a stored case whose assignee is not what its trail says."""

    def load(self, case_id, *, history=frozenset()):
        snap = super().load(case_id, history=history)
        if snap.case.revision < 2:
            return snap
        return attrs.evolve(snap, case=attrs.evolve(snap.case, assignee="someone-else"))


class _LosesTimers(InMemoryStore):
    """Never finds a due timer."""

    def claim_timers(self, now, *, limit, lease):
        del now, limit, lease
        return ()


def test_the_machine_catches_a_store_whose_case_differs_from_its_trail():
    with pytest.raises(ReplayError, match="differs from the stored case"):
        run_state_machine_as_test(
            workflow_machine(TIMED, store=_MisremembersAssignee), settings=QUICK
        )


def test_the_machine_catches_a_store_that_loses_due_timers():
    with pytest.raises(AssertionError, match="was due and did not fire"):
        run_state_machine_as_test(workflow_machine(TIMED, store=_LosesTimers), settings=QUICK)


def _entry(seq: int, event: str, timer: str | None, *, moved: bool = False) -> AuditEntry:
    return AuditEntry(
        case_id="T-1", seq=seq, kind=EntryKind.TRANSITION, at=START, actor_id="system",
        actor_roles=("system",), event=event, from_state="waiting",
        to_state="closed" if moved else "waiting", reason=None, reason_code=None,
        changes=(), evidence=FrozenMap({}), verdicts=(), workflow="timed", workflow_version=1,
        assignee=None, prev_hash="0" * 64, timer=timer,
    )  # fmt: skip


def test_a_timer_twice_in_one_stay_or_two_timers_in_one_run_are_caught():
    from casework_flow._due import Outcome, RunReport, TimerRun  # noqa: PLC0415
    from casework_flow.testing._machine import _once_per_stay, _timers_ran  # noqa: PLC0415

    _once_per_stay("T-1", [_entry(2, "chase", "chase"), _entry(3, "close", None, moved=True)])
    with pytest.raises(AssertionError, match="fired twice in one stay"):
        _once_per_stay("T-1", [_entry(2, "chase", "chase"), _entry(3, "chase", "chase")])
    twice = RunReport(START, (TimerRun("T-1", "chase", "chase", Outcome.FIRED),) * 2)
    with pytest.raises(AssertionError, match="ran two timers in one run"):
        _timers_ran(Engine([TIMED]), [], twice)


class _RewordsReasons(InMemoryStore):
    """Stores every step with another reason than the engine decided (chain kept whole)."""

    def commit(self, case, entries, *, expected_revision):
        prev = entries[0].prev_hash if entries else None
        kept = []
        for given in entries:
            reworded = attrs.evolve(given, reason="reworded", prev_hash=prev)
            reworded = attrs.evolve(reworded, hash=reworded.computed_hash())
            kept.append(reworded)
            prev = reworded.hash
        return super().commit(case, kept, expected_revision=expected_revision)


def test_the_machine_catches_an_engine_that_commits_other_entries_than_the_core():
    caught = "committed other entries than the pure core|replaying the trail differs"
    with pytest.raises((AssertionError, ReplayError), match=caught):
        run_state_machine_as_test(workflow_machine(SOUND, store=_RewordsReasons), settings=QUICK)


def test_a_recorded_step_in_the_state_is_not_entering_it():
    wf = Workflow(
        name="noted", version=1, initial="a",
        record_roles={"worker"},
        states=[State("a"), State("b"), State("c", terminal=True)],
        transitions=[
            Transition("go", source="a", dest="b", roles={"worker"}),
            Transition("note", source="b", dest=None, roles={"worker"}),
            Transition("end", source="b", dest="c", roles={"worker"}),
        ],
    )  # fmt: skip
    rule = never(reach("b"), unless=count("note") == 0)
    engine = Engine([wf], clock=lambda: START)
    worker = Actor("w-1", {"worker"})
    engine.open(wf.name, "N-1", actor=worker)
    engine.fire("N-1", "go", actor=worker)
    engine.fire("N-1", "note", actor=worker)
    engine.record("N-1", "visit", actor=worker, data={"seen": True})
    trail = engine.trail("N-1")
    assert trail[-1].kind is EntryKind.RECORDED
    assert [rule.violation(wf, trail[:end]) for end in range(2, len(trail) + 1)] == [None] * 3
