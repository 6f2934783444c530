"""What every handler of `decide` shares: the step's inputs, its result, its entries.

A step may append several entries at once: a transfer accepted, then the approvals it
cancels. `Entries` builds them in order, each chained to the one before and each
folded with `evolve` into the case the next one starts from, so what `decide` returns
is exactly what replay will rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial, singledispatch

from attrs import frozen

from ._audit import AuditEntry, ChainHead, Change, EntryKind, build_entry
from ._case import Actor, Case, CaseView
from ._catalog import Catalog
from ._checks import approval_rule
from ._compiled import CompiledWorkflow, Decision
from ._definition import Workflow
from ._directory import Roster
from ._evolve import evolve
from ._frozen import EMPTY
from ._handover import OnTransfer
from ._parts import OnMove
from ._sealing import Sealing
from ._snapshot import Snapshot
from ._timing import ended_deadline
from ._verdict import Verdict

__all__ = ["Entries", "Step", "StepResult", "decide_command", "refused_step"]


@frozen
class StepResult:
    """What `decide` says of a command.

    Attributes:
        event: The event the command concerns (``assign``, ``referral``...).
        entries: The entries to append: the step's, or the refusal's own entry.
        refused: Every failed check; empty when the command is allowed.
        decision: For a fired or approved event, the `Decision` behind it.
        binding: A refusal that must be committed whatever the shell's settings (a
            timer's refused step spends the timer).
        view: For a read, the case as the reader may see it.
        after: The case folded over ``entries`` (None when there are none).
        others: The other cases the step changes, each as loaded with its own result
            (the member cases closing a family's case closes), committed with it.
    """

    event: str
    entries: tuple[AuditEntry, ...]
    refused: tuple[Verdict, ...] = ()
    decision: Decision | None = None
    binding: bool = False
    view: CaseView | None = None
    after: Case | None = None
    others: tuple[tuple[Case, StepResult], ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the command goes through."""
        return not self.refused


@frozen
class Step:
    """What every handler of `decide` reads besides its command."""

    catalog: Catalog
    compiled: CompiledWorkflow
    snap: Snapshot
    now: datetime
    roster: Roster | None = None
    sealing: Sealing | None = None

    @property
    def workflow(self) -> Workflow:
        """The case's workflow version."""
        return self.compiled.workflow

    @property
    def case(self) -> Case:
        """The case as loaded."""
        return self.snap.case

    @property
    def active(self) -> frozenset[str] | None:
        """Every state the loaded case is in, stages included (None: no stages)."""
        wf = self.compiled.workflow
        return wf.tree.active(self.snap.case.configuration) if wf.staged else None


class Entries:
    """The entries of one step, built in order on the case each one leaves behind."""

    __slots__ = ("_case", "_catalog", "_head", "_now", "_sealing", "_tree", "entries")

    def __init__(self, step: Step) -> None:
        self._catalog = step.catalog
        self._sealing = step.sealing
        wf = step.workflow
        self._tree = wf.tree if wf.staged else None
        self._case = step.case
        self._head = step.snap.head
        self._now = step.now
        self.entries: list[AuditEntry] = []

    @property
    def case(self) -> Case:
        """The case after the entries so far."""
        return self._case

    @property
    def head(self) -> ChainHead:
        """The head of the trail after the entries so far."""
        return self._head

    def add(
        self,
        kind: EntryKind,
        actor: Actor,
        event: str,
        *,
        to_state: str | None = None,
        assignee: str | None = None,
        reason: str | None = None,
        reason_code: str | None = None,
        changes: Sequence[Change] = (),
        evidence: Mapping[str, str] = EMPTY,
        verdicts: Sequence[Verdict] = (),
        timer: str | None = None,
        details: Mapping[str, str] = EMPTY,
        workflow: Workflow | None = None,
        configuration: tuple[str, ...] | None = None,
    ) -> AuditEntry:
        """Build the next entry, chained to the last, and fold it into `case`.

        A step of a workflow with stages records the ``configuration`` it leads to,
        each state as its path (``intervention/health/cleared``).
        """
        case, head, tree = self._case, self._head, self._tree
        if workflow is not None:
            tree = workflow.tree if workflow.staged else None
        if configuration is not None and tree is not None:
            paths = " ".join(tree.path(s) for s in configuration)
            details = {**details, "configuration": paths}
        make = partial(
            build_entry,
            case_id=case.id,
            seq=head.seq + 1,
            kind=kind,
            at=self._now,
            actor=actor,
            event=event,
            from_state=case.state,
            to_state=to_state or case.state,
            workflow=case.workflow if workflow is None else workflow.name,
            workflow_version=case.version if workflow is None else workflow.version,
            prev_hash=head.hash,
            assignee=case.assignee if assignee is None else assignee,
            reason=reason,
            reason_code=reason_code,
            changes=changes,
            evidence=evidence,
            verdicts=verdicts,
            timer=timer,
        )
        entry = make(details=details)
        after = evolve(case, entry, catalog=self._catalog)
        if case.deadline is not None and after.deadline is not case.deadline:
            ended = ended_deadline(case.deadline, after.deadline, self._now)
            if ended:
                entry = make(details={**details, **ended})
        kept = entry if self._sealing is None else self._sealing.seal_entry(entry)
        self.entries.append(kept)
        self._head = ChainHead(kept.seq, kept.hash)
        self._case = after
        return kept

    def cancel_waiting(self, workflow: Workflow, actor: Actor, before: Case, why: str) -> None:
        """Cancel, each with an entry, what the step just done leaves without a decider.

        A move cancels the requests whose approval says ``on_move: cancel``; a change
        of unit (an accepted transfer) those and the handovers whose rule says
        ``on_transfer: cancel``; closing the case every open handover still open (the
        ones that refuse a closing were refused before).
        """
        case = self._case
        moved = case.configuration != before.configuration
        transferred = case.unit != before.unit
        closed = workflow.state(case.state).terminal
        for kind, p in tuple(case.approvals.items()):
            rule = approval_rule(workflow, p)
            if (moved and rule.on_move is OnMove.CANCEL) or (
                transferred and rule.on_transfer is OnTransfer.CANCEL
            ):
                details = {"approval_kind": kind, "request_seq": str(p.request_seq)}
                self.add(EntryKind.APPROVAL_CANCELLED, actor, p.event, reason=why, details=details)
        for h in self._case.open_handovers:
            rule_ = workflow.handovers.get(str(h.kind))
            carry = rule_ is not None and rule_.on_transfer is OnTransfer.CARRY
            if closed or (transferred and not carry):
                kind = str(h.kind)
                details = {"handover": h.id, "handover_kind": kind, "status": "cancelled"}
                self.add(EntryKind.HANDOVER_ANSWERED, actor, kind, reason=why, details=details)

    def result(
        self,
        event: str,
        decision: Decision | None = None,
        others: tuple[tuple[Case, StepResult], ...] = (),
    ) -> StepResult:
        """The allowed step's result."""
        return StepResult(
            event, tuple(self.entries), decision=decision, after=self._case, others=others
        )


def refused_step(
    step: Step,
    actor: Actor,
    event: str,
    problems: Sequence[Verdict],
    details: Mapping[str, str] = EMPTY,
    *,
    reason: str | None = None,
    reason_code: str | None = None,
    timer: str | None = None,
    decision: Decision | None = None,
) -> StepResult:
    """A refusal: every reason, and the refusal's own entry for the trail.

    A refused timer's step (``timer``) is binding: it spends the timer.
    """
    out = Entries(step)
    out.add(
        EntryKind.REFUSED, actor, event, verdicts=problems, details=details, reason=reason,
        reason_code=reason_code, timer=timer,
    )  # fmt: skip
    return StepResult(
        event,
        tuple(out.entries),
        refused=tuple(problems),
        decision=decision,
        after=out.case,
        binding=timer is not None,
    )


@singledispatch
def decide_command(command: object, step: Step) -> StepResult:
    """Decide one command (handlers register per command class)."""
    raise TypeError(f"not a command: {command!r} at {step!r}")
