"""What a model test sends: the commands worth trying where the model's case is now.

Fitting commands are those the model allows (every kind of actor the host knows, every
combination of inputs the event's guards read, as `explore` tries them), with the
handovers, approvals and waits the case offers; probes are commands the model answers
otherwise (each should change nothing on the host); `anything` draws any command.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Final

from hypothesis import strategies as st

from .._case import Actor, Case
from .._definition import Workflow
from .._handover import HandoverStatus
from ._host import (
    AnswerHandover,
    ApproveRequest,
    FireEvent,
    HostCommand,
    OpenCase,
    PassTime,
    SendHandover,
)
from ._host_model import _Model
from ._moves import REASON, _papers
from ._plan import _Plan, _Variant

__all__ = ["_Menu"]

_ODD: Final = ("fire", "fire", "fire", "fire", "fire", "fire", "fire", "open", "answer", "approve")
"""What `anything` draws: mostly a fire (any event, unknown ones too), now and then another."""


class _Menu:
    """The commands worth sending where the model's case is now."""

    def __init__(self, workflow: Workflow, plan: _Plan, people: Sequence[Actor]) -> None:
        self.workflow = workflow
        self.plan = plan
        self.people = tuple(people)
        self.doers: dict[str, tuple[Actor, ...]] = {}
        for e in workflow.events:
            roles = {r for t in workflow.transitions if t.event == e for r in t.roles}
            fit = tuple(p for p in people if not roles or p.roles & roles)
            self.doers[e] = fit or self.people[:1]
        self.overriders = {
            t.event: next((p for p in people if p.roles & t.override.roles), None)
            for t in workflow.transitions if t.override is not None
        }  # fmt: skip

    def _fire(self, case: Case, event: str, actor: Actor, v: _Variant) -> FireEvent:
        over = self.overriders.get(event) if v.override_by is not None else None
        return FireEvent(case.id, event, actor, data=v.payload, evidence=v.evidence,
                         reason=REASON, reason_code=v.code, expected_revision=case.revision,
                         override_by=over)  # fmt: skip

    def _events(self, case: Case) -> list[str]:
        wf = self.workflow
        return [e for e in wf.events if wf.candidates_in(case.configuration, e)]

    def fitting(self, model: _Model, case_id: str) -> list[HostCommand]:
        """What the model allows now, and the handovers, approvals and waits it offers."""
        case = model.case(case_id)
        events = self._events(case)
        found: list[HostCommand] = list(self._allowed(model, case, events))
        for kind, request in sorted(case.approvals.items()):
            found += [ApproveRequest(case.id, p, kind) for p in self.people
                      if p.roles & request.approvers and p.id != case.assignee]  # fmt: skip
        found += self._handovers(case, events)
        last = model.engine.trail(case_id)[-1].at
        times = {last + w for w in self.plan.waits[1:]}
        if case.timer_at is not None:
            times.add(case.timer_at)
        found += [PassTime(t) for t in sorted(times) if t > model.clock()]
        return found

    def _allowed(self, model: _Model, case: Case, events: Sequence[str]) -> Iterator[FireEvent]:
        """The fires the model allows now (an override is tried as it is, unasked)."""
        for e in events:
            for actor in self.doers[e]:
                for v in self.plan.variants[e]:
                    c = self._fire(case, e, actor, v)
                    if c.override_by is not None or (v.override_by is None and model.allows(c)):
                        yield c

    def _handovers(self, case: Case, events: Sequence[str]) -> list[HostCommand]:
        found: list[HostCommand] = []
        wanted = sorted({k for e in events for k in self.plan.handed[e]})
        for kind in wanted:
            rule = self.workflow.handovers.get(kind)
            if rule is None or any(h.kind == kind for h in case.open_handovers):
                continue
            answer = (rule.answer or set()) | (rule.on_behalf or set())
            units = sorted(
                {u for p in self.people if p.roles & answer for u in p.units} - {case.unit or ""}
            )
            found.extend(
                SendHandover(case.id, kind, p, units[0], REASON, _papers(rule.guard))
                for p in self.people
                if p.roles & (rule.send or set()) and units
            )
        for h in case.open_handovers:
            rule = self.workflow.handovers.get(str(h.kind))
            if rule is None or h.status is not HandoverStatus.IN_PROGRESS:
                continue
            answer = (rule.answer or set()) | (rule.on_behalf or set())
            found += [
                AnswerHandover(case.id, h.id, p)
                for p in self.people
                if p.roles & answer and (h.to_unit is None or h.to_unit in p.units)
            ]
        return found

    def probes(self, model: _Model, case_id: str) -> list[HostCommand]:
        """Commands the model answers otherwise than 'allowed': each should change nothing."""
        case = model.case(case_id)
        found: list[HostCommand] = [OpenCase(case_id, self.people[0])]
        for e in self._events(case):
            outsider = next((p for p in self.people if p not in self.doers[e]), None)
            actors = [*self.doers[e], *([outsider] if outsider else [])]
            refused = next(
                (c for a in actors for v in self.plan.variants[e] if v.override_by is None
                 for c in [self._fire(case, e, a, v)] if not model.allows(c)),
                None,
            )  # fmt: skip
            if refused is not None:
                found.append(refused)
        found += self._wrong_people(case)
        allowed = next(self._allowed(model, case, self._events(case)), None)
        if allowed is not None and case.revision > 1:
            found.append(FireEvent(allowed.case_id, allowed.event, allowed.actor, allowed.data,
                                   allowed.evidence, allowed.reason, allowed.reason_code,
                                   expected_revision=case.revision - 1))  # fmt: skip
        return found

    def _wrong_people(self, case: Case) -> list[HostCommand]:
        """An approval and a handover's answer, each by someone who may not give it."""
        found: list[HostCommand] = []
        for kind, request in sorted(case.approvals.items()):
            wrong = next((p for p in self.people if not p.roles & request.approvers), None)
            if wrong is not None:
                found.append(ApproveRequest(case.id, wrong, kind))
        for h in case.open_handovers:
            rule = self.workflow.handovers.get(str(h.kind))
            if rule is None or h.status is not HandoverStatus.IN_PROGRESS:
                continue
            answer = (rule.answer or set()) | (rule.on_behalf or set())
            wrong = next((p for p in self.people if not p.roles & answer), None)
            if wrong is not None:
                found.append(AnswerHandover(case.id, h.id, wrong))
        return found

    def anything(self, data: st.DataObject, model: _Model, case_id: str) -> HostCommand:
        """Any command at all: refused ones, unknown events, stale revisions, a reopening."""
        case = model.case(case_id)
        kind = data.draw(st.sampled_from(_ODD), label="what kind of command")
        who = data.draw(st.sampled_from(self.people), label="who")
        if kind == "open":
            return OpenCase(case_id, who)
        if kind == "answer":
            handovers = sorted({str(h.id) for h in case.open_handovers}) or ["referral-0"]
            return AnswerHandover(case_id, data.draw(st.sampled_from(handovers), label="handover"),
                                  who, accept=data.draw(st.booleans(), label="accept"),
                                  reason=REASON)  # fmt: skip
        if kind == "approve":
            return ApproveRequest(case_id, who)
        unknown = data.draw(st.integers(0, 3), label="an event the workflow lacks") == 0
        event = "no_such_event" if unknown else data.draw(st.sampled_from(self.workflow.events))
        variants = self.plan.variants.get(event) or ()
        v = data.draw(st.sampled_from(variants), label="inputs") if variants else None
        revision = data.draw(st.sampled_from([None, case.revision, case.revision - 1]),
                             label="expected revision")  # fmt: skip
        return FireEvent(case_id, event, who,
                         data=v.payload if v else {}, evidence=v.evidence if v else {},
                         reason=data.draw(st.sampled_from([None, REASON]), label="reason"),
                         reason_code=v.code if v else None, expected_revision=revision)  # fmt: skip

    def key(self, model: _Model, case_id: str) -> object:
        """The situation: as `explore` sees it, the approvals waiting, the time since a step."""
        case = model.case(case_id)
        trail = model.engine.trail(case_id)
        since = model.clock() - trail[-1].at
        waiting = frozenset(case.approvals)
        return (self.plan.key(case, trail), waiting, bisect_right(self.plan.waits, since))
