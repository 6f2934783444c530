"""Random handovers and approvals by random people of several units, against two invariants.

Every decision on a handover or an approval is taken by someone allowed to act on the
case at that moment (checked against a plain reading of the rules, written here apart
from the library's), and a refused command changes nothing a later read can see.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from casework_flow import (
    Actor,
    Case,
    CaseworkError,
    Engine,
    EntryKind,
    ManualClock,
    TransitionRejected,
    replay,
)
from casework_flow.handovers import InMemoryDirectory, Worker

from .test_handovers import START, WF

UNITS = ("medan", "binjai", "deli")
_STAFF = (("social_worker", 1), ("social_worker", 2), ("supervisor", 1))
PEOPLE = (
    *(
        Actor(f"{role[:3]}-{unit}-{n}", {role}, units={unit})
        for unit in UNITS
        for role, n in _STAFF
    ),
    Actor("head-medan", {"supervisor", "head_of_office"}, units={"medan"}),
    Actor("auditor", {"auditor"}),
)
DIRECTORY = InMemoryDirectory(
    [Worker(p.id, dict.fromkeys(p.units, p.roles)) for p in PEOPLE if p.units]
)
WORKERS = tuple(p.id for p in PEOPLE if p.units)
CONSENTS = {"consent:referral": "F-1", "consent:transfer": "F-2"}

people = st.sampled_from(PEOPLE)
units = st.sampled_from(UNITS)
events = st.sampled_from(["assess", "note", "propose_plan", "close", "close_now", "reopen"])
answers = st.sampled_from(["accept", "reject", "done", "revoke"])
kinds = st.sampled_from([None, "case_plan", "closure"])


def _owns(case: Case, actor: Actor) -> bool:
    return not actor.units or case.unit is None or case.unit in actor.units


def _may_decide_approval(case: Case, actor: Actor, kind: str) -> bool:
    pending = case.approvals[kind]
    own_request = actor.id == pending.requested_by
    self_ok = kind == "closure" and "head_of_office" in actor.roles
    not_assignee = kind == "closure" and actor.id == case.assignee
    return (
        _owns(case, actor)
        and "supervisor" in actor.roles
        and (self_ok or not own_request)
        and not not_assignee
    )


def _may_answer(case: Case, actor: Actor, handover_id: str, status: str) -> bool:
    h = case.handovers[handover_id]
    if not h.open:
        return False
    if status == "revoked":
        if h.kind == "transfer_request":
            return actor.id == h.sent_by or (
                "supervisor" in actor.roles and h.to_unit in actor.units
            )
        return actor.id == h.sent_by or (
            _owns(case, actor) and bool(actor.roles & {"supervisor", "social_worker"})
        )
    if h.kind == "transfer_request":
        return actor.id == case.assignee or (_owns(case, actor) and "supervisor" in actor.roles)
    if h.to_worker is not None:
        home = DIRECTORY.worker(h.to_worker)
        unit = h.to_unit or (home.home if home else None)
        return actor.id == h.to_worker or (
            "supervisor" in actor.roles and unit is not None and unit in actor.units
        )
    return h.to_unit in actor.units


class Handovers(RuleBasedStateMachine):
    """One case, moved by random people; each step checked against the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.engine = Engine([WF], clock=self.clock, directory=DIRECTORY)
        self.engine.open(
            WF.name, "H-1", actor=PEOPLE[0], assignee=PEOPLE[0].id, unit="medan",
            evidence=CONSENTS,
        )  # fmt: skip
        self.decisions = 0

    def attempt(self, call) -> None:  # type: ignore[no-untyped-def]
        eng = self.engine
        before = eng.get("H-1")
        seen = len(eng.trail("H-1"))
        try:
            call()
        except TransitionRejected:
            assert eng.get("H-1") == before
            new = eng.trail("H-1")[seen:]
            assert [e.kind for e in new] == [EntryKind.REFUSED]
            return
        except CaseworkError:
            assert eng.get("H-1") == before
            assert len(eng.trail("H-1")) == seen
            return
        for entry in eng.trail("H-1")[seen:]:
            self.check_decider(before, entry)

    def check_decider(self, before: Case, entry) -> None:  # type: ignore[no-untyped-def]
        actor = next((p for p in PEOPLE if p.id == entry.actor_id), None)
        assert actor is not None
        details = entry.details
        if entry.kind is EntryKind.APPROVAL_REJECTED or (
            entry.kind is EntryKind.TRANSITION
            and details.get("decision") == "approved"
            and details.get("approval") != "direct"
        ):
            assert _may_decide_approval(before, actor, details["approval_kind"]), entry
            self.decisions += 1
        elif entry.kind is EntryKind.HANDOVER_ANSWERED and details["status"] != "cancelled":
            assert _may_answer(before, actor, details["handover"], details["status"]), entry
            self.decisions += 1

    @rule(actor=people, assignee=st.sampled_from(WORKERS))
    def assign(self, actor: Actor, assignee: str) -> None:
        self.attempt(lambda: self.engine.assign("H-1", assignee, actor=actor))

    @rule(actor=people, unit=st.one_of(st.none(), units), worker=st.sampled_from((None, *WORKERS)))
    def refer(self, actor: Actor, unit: str | None, worker: str | None) -> None:
        self.attempt(lambda: self.engine.refer("H-1", actor=actor, to_unit=unit, to_worker=worker))

    @rule(actor=people, unit=units, worker=st.sampled_from((None, *WORKERS)))
    def transfer(self, actor: Actor, unit: str, worker: str | None) -> None:
        self.attempt(
            lambda: self.engine.transfer("H-1", unit, actor=actor, reason="r", to_worker=worker)
        )

    @rule(actor=people)
    def request_transfer(self, actor: Actor) -> None:
        unit = next(iter(actor.units), "medan")
        self.attempt(
            lambda: self.engine.request_transfer("H-1", actor=actor, reason="r", to_unit=unit)
        )

    @rule(actor=people, answer=answers, pick=st.integers(0, 5), aim=st.integers(0, 3),
          assignee=st.sampled_from((None, *WORKERS)))  # fmt: skip
    def answer(self, actor: Actor, answer: str, pick: int, aim: int, assignee: str | None) -> None:
        case = self.engine.get("H-1")
        ids = [*reversed(list(case.handovers)), "transfer"]
        hid = ids[pick % len(ids)]
        h = case.handovers.get(hid)
        if aim and h is not None:
            side = h.to_unit if answer != "revoke" else h.from_unit
            near = [p for p in PEOPLE if side in p.units or p.id == h.to_worker]
            actor = near[aim % len(near)] if near else actor
        eng = self.engine
        calls = {
            "accept": lambda: eng.accept_handover("H-1", hid, actor=actor, assignee=assignee),
            "reject": lambda: eng.reject_handover("H-1", hid, actor=actor, reason="No."),
            "done": lambda: eng.complete_handover("H-1", hid, actor=actor),
            "revoke": lambda: eng.revoke_handover("H-1", hid, actor=actor, reason="Not now."),
        }
        self.attempt(calls[answer])

    @rule(actor=people, event=events)
    def fire(self, actor: Actor, event: str) -> None:
        self.attempt(lambda: self.engine.fire("H-1", event, actor=actor, reason="Because."))

    @rule(actor=people, kind=kinds, approve=st.booleans(), aim=st.integers(0, 3))
    def decide(self, actor: Actor, kind: str | None, approve: bool, aim: int) -> None:
        eng = self.engine
        unit = eng.get("H-1").unit
        if aim:
            near = [p for p in PEOPLE if unit in p.units and "supervisor" in p.roles]
            actor = near[aim % len(near)]
        if approve:
            self.attempt(lambda: eng.approve("H-1", actor=actor, kind=kind))
        else:
            self.attempt(lambda: eng.reject("H-1", actor=actor, reason="Not yet.", kind=kind))

    @rule(days=st.integers(0, 3))
    def wait(self, days: int) -> None:
        self.clock.advance(days=days)

    @invariant()
    def the_case_is_the_fold_of_its_verified_trail(self) -> None:
        assert self.engine.verify("H-1").ok
        assert replay(WF, self.engine.trail("H-1")) == self.engine.get("H-1")


Handovers.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_handovers_and_approvals_are_decided_only_by_who_may_act = Handovers.TestCase


def test_the_oracle_sees_every_kind_of_decision():
    """The machine's checks run on approvals, rejections and every answer to a handover."""
    m = Handovers()
    sw, spv = PEOPLE[0], PEOPLE[2]
    b_sw, b_spv = PEOPLE[3], PEOPLE[5]
    m.fire(sw, "assess")
    m.fire(sw, "propose_plan")
    m.decide(spv, None, approve=False, aim=0)
    m.fire(sw, "propose_plan")
    m.decide(spv, "case_plan", approve=True, aim=0)
    m.refer(sw, "binjai", None)
    m.answer(b_sw, "accept", pick=0, aim=0, assignee=None)
    m.answer(b_sw, "done", pick=0, aim=0, assignee=None)
    m.refer(sw, None, b_sw.id)
    m.answer(sw, "revoke", pick=0, aim=0, assignee=None)
    m.transfer(spv, "binjai", None)
    m.answer(b_spv, "reject", pick=0, aim=0, assignee=None)
    m.transfer(spv, "binjai", b_sw.id)
    m.answer(b_spv, "accept", pick=0, aim=0, assignee=None)
    assert m.decisions == 7
    assert m.engine.get("H-1").unit == "binjai"
    m.the_case_is_the_fold_of_its_verified_trail()
