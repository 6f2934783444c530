"""A host for the model test's own tests: an engine behind the `Host` adapter, with bugs.

`EngineHost` is a host that keeps its cases with the library, as a real one does; each
``bug`` plants one defect a host could have in its own code around the engine, the
kind a model test must find.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from casework_flow import Engine, Workflow, seed
from casework_flow.exceptions import (
    CaseworkError,
    TransitionRejected,
)
from casework_flow.testing import (
    ApproveRequest,
    FireEvent,
    HostCommand,
    PassTime,
    Reply,
    Seen,
)
from casework_flow.testing._host_model import on_engine, reply_to, seen_on
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
            self._apply(self._planted(c))
        except TransitionRejected as e:
            swallowed = isinstance(c, FireEvent) and c.event == "decline"
            if self.bug == "swallows_refusals" and swallowed:
                return Reply("allowed")
            checks = [r.check for r in e.reasons]
            return Reply("refused", checks[:1] if self.bug == "first_reason" else checks)
        except CaseworkError as e:
            return reply_to(e)
        return Reply("allowed")

    def _planted(self, c: HostCommand) -> HostCommand:
        """The command as the host's own code passes it to the engine, with its bug."""
        if isinstance(c, FireEvent) and self.bug == "default_age":
            return attrs.evolve(c, data={"age": 18, **c.data})
        if isinstance(c, FireEvent) and self.bug == "drops_revision":
            return attrs.evolve(c, expected_revision=None)
        if isinstance(c, ApproveRequest) and self.bug == "approves_for_anyone":
            return attrs.evolve(c, actor=seed.SUPERVISOR)
        return c

    def _apply(self, c: HostCommand) -> None:
        if not isinstance(c, PassTime):
            on_engine(self.engine, self.workflow.name, c)
            return
        self.clock.set(max(c.to, self.clock()))
        if self.bug != "no_timers":
            self.engine.run_due()

    def look(self, case_id: str) -> Seen | None:
        seen = seen_on(self.engine, case_id)
        if seen is not None and self.bug == "hides_assessment" and seen.state == "assessment":
            return attrs.evolve(seen, state="sheltered")
        return seen
