"""A host for the model test's own tests: an engine behind the `Host` adapter, with bugs.

`EngineHost` is a host that keeps its cases with the library, as a real one does; each
``bug`` plants one defect a host could have in its own code around the engine, the
kind a model test must find.
"""

from __future__ import annotations

from datetime import datetime

from casework_flow import Engine, Workflow, seed
from casework_flow.exceptions import (
    CaseExists,
    CaseworkError,
    ConcurrentModification,
    TransitionRejected,
    UnknownCase,
    UnknownEvent,
)
from casework_flow.testing import (
    AnswerHandover,
    ApproveRequest,
    FireEvent,
    HostCommand,
    OpenCase,
    PassTime,
    Reply,
    Seen,
    SendHandover,
)
from casework_flow.time import ManualClock

PEOPLE = [
    seed.OUTREACH,
    seed.WORKER,
    seed.SUPERVISOR,
    seed.SHELTER_HEAD_BINJAI,
    seed.SHELTER_WORKER_BINJAI,
]

BUGS = {
    "drops_revision": "the fire endpoint forgets the caller's expected revision",
    "default_age": "the host fills in an age of 18 when the caller gave none",
    "no_timers": "the host's timer runner never runs",
    "first_reason": "a refusal shows only its first reason",
    "hides_assessment": "the case page shows a case in assessment as still sheltered",
    "swallows_refusals": "a refusal of decline is answered as a success",
    "approves_for_anyone": "the approval endpoint approves as the unit's supervisor, whoever calls",
}


class EngineHost:
    """A host on an engine of its own; ``bug`` names one of `BUGS` (None: none)."""

    def __init__(self, workflow: Workflow | None = None, bug: str | None = None) -> None:
        assert bug is None or bug in BUGS
        self.workflow = workflow or seed.build_workflow()
        self.bug = bug
        self.starts = 0
        self.stops = 0
        self.sent: list[HostCommand] = []

    def start(self, at: datetime) -> None:
        self.starts += 1
        self.clock = ManualClock(at)
        self.engine = Engine([self.workflow], clock=self.clock, calendar=seed.CALENDAR)

    def stop(self) -> None:
        self.stops += 1

    def apply(self, c: HostCommand) -> Reply:
        self.sent.append(c)
        try:
            self._apply(c)
        except TransitionRejected as e:
            swallowed = isinstance(c, FireEvent) and c.event == "decline"
            if self.bug == "swallows_refusals" and swallowed:
                return Reply("allowed")
            checks = [r.check for r in e.reasons]
            return Reply("refused", checks[:1] if self.bug == "first_reason" else checks)
        except (ConcurrentModification, CaseExists):
            return Reply("conflict")
        except (UnknownCase, UnknownEvent):
            return Reply("not_found")
        except CaseworkError:
            return Reply("invalid")
        return Reply("allowed")

    def _apply(self, c: HostCommand) -> None:
        e = self.engine
        match c:
            case OpenCase():
                e.open(
                    self.workflow.name, c.case_id, actor=c.actor, assignee=c.assignee, unit=c.unit
                )
            case FireEvent():
                data = dict(c.data)
                if self.bug == "default_age":
                    data = {"age": 18, **data}
                revision = None if self.bug == "drops_revision" else c.expected_revision
                e.fire(c.case_id, c.event, actor=c.actor, data=data, evidence=dict(c.evidence),
                       reason=c.reason, reason_code=c.reason_code, expected_revision=revision,
                       override_by=c.override_by)  # fmt: skip
            case ApproveRequest():
                actor = seed.SUPERVISOR if self.bug == "approves_for_anyone" else c.actor
                e.approve(c.case_id, actor=actor, kind=c.kind)
            case SendHandover():
                e.refer(c.case_id, actor=c.actor, to_unit=c.to_unit, reason=c.reason,
                        evidence=dict(c.evidence))  # fmt: skip
            case AnswerHandover() if c.accept:
                e.accept_handover(c.case_id, c.handover, actor=c.actor, evidence=dict(c.evidence))
            case AnswerHandover():
                e.reject_handover(c.case_id, c.handover, actor=c.actor, reason=c.reason or "")
            case PassTime():
                self.clock.set(max(c.to, self.clock()))
                if self.bug != "no_timers":
                    e.run_due()

    def look(self, case_id: str) -> Seen | None:
        try:
            case = self.engine.get(case_id)
        except UnknownCase:
            return None
        state = case.state
        if self.bug == "hides_assessment" and state == "assessment":
            state = "sheltered"
        return Seen(state, case.revision, case.data)
