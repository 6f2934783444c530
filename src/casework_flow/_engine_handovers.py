"""Engine commands for handovers: refer, transfer, ask for a case, and answer.

Each checks its input, builds a `Send` or `Answer` command and runs it through the
shell; who may send and answer each kind is the workflow's `HandoverRule`, checked in
`_handover_checks`.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import _inputs
from ._case import Actor, Case
from ._commands import Answer, Send
from ._handover import HandoverKind
from ._shell import Shell
from .exceptions import InvalidInput

__all__ = ["Handovers"]


def _unit(value: object, where: str) -> str | None:
    return _inputs.optional_id(value, where)


class Handovers(Shell):
    """Referrals, transfers, transfer requests and their answers (part of `Engine`)."""

    __slots__ = ()

    def refer(
        self,
        case_id: str,
        *,
        actor: Actor,
        to_unit: str | None = None,
        to_worker: str | None = None,
        service: str | None = None,
        reason: str | None = None,
        evidence: Mapping[str, str] | None = None,
        reason_code: str | None = None,
        override_by: Actor | None = None,
    ) -> Case:
        """Refer the case to another worker or service, who is asked to act on it.

        The case's owner keeps it; the addressee (``to_worker``, or anyone of
        ``to_unit`` with the rule's ``answer`` roles) accepts or rejects it, and marks it
        done. While it is open the addressee may do on the case what the workflow's
        referral rule lists in ``access``. Several referrals may be open at once; the
        new one is ``case.handovers[f"referral-{seq}"]``. Consent the rule requires
        must be on file or sent in ``evidence`` (or overridden by ``override_by``).

        Raises:
            TransitionRejected: for a missing role, no addressee, an addressee unknown
                to the directory, inactive or out of scope, the same referral open
                already, missing consent or documents, or a closed case; recorded.
        """
        return self._send(
            case_id, HandoverKind.REFERRAL, actor, reason, to_unit, to_worker, service,
            evidence, reason_code, override_by,
        )  # fmt: skip

    def transfer(
        self,
        case_id: str,
        to_unit: str,
        *,
        actor: Actor,
        reason: str,
        to_worker: str | None = None,
        evidence: Mapping[str, str] | None = None,
        reason_code: str | None = None,
        override_by: Actor | None = None,
    ) -> Case:
        """Ask another unit (or a named worker there) to take the case over.

        The case stays with its unit until the addressee (the named worker, their unit's
        manager for them, or anyone of ``to_unit`` with the rule's ``answer`` roles)
        accepts or rejects it; the sender may withdraw it (`revoke_handover`).

        Raises:
            TransitionRejected: for a missing role, a transfer already waiting, a
                transfer to the unit that owns the case, an addressee the directory
                refuses, missing consent, or a closed case; recorded.
            InvalidInput: for a missing unit or reason.
        """
        if not isinstance(to_unit, str) or not to_unit.strip():
            raise InvalidInput("to_unit", "must name the receiving unit")
        why = _inputs.required_text(reason, "reason", "a transfer needs a written reason")
        return self._send(
            case_id, HandoverKind.TRANSFER, actor, why, to_unit, to_worker, None, evidence,
            reason_code, override_by,
        )  # fmt: skip

    def request_transfer(
        self,
        case_id: str,
        *,
        actor: Actor,
        reason: str,
        to_unit: str | None = None,
        to_worker: str | None = None,
    ) -> Case:
        """Ask, from another unit, for the case to be transferred to it.

        ``to_unit`` is the asking unit (the actor's, when they work in one) and
        ``to_worker`` who would take the case (the actor by default). The case's worker,
        or someone of the owning unit with the rule's ``answer`` or ``on_behalf`` roles,
        accepts or rejects it.

        Raises:
            TransitionRejected: when the workflow declares no transfer requests, the
                actor is of the owning unit, or another transfer waits; recorded.
            InvalidInput: for a missing reason, or no unit to ask for.
        """
        why = _inputs.required_text(reason, "reason", "a transfer request needs a written reason")
        actor = _inputs.actor(actor)
        unit = _unit(to_unit, "to_unit")
        if unit is None:
            if len(actor.units) != 1:
                raise InvalidInput("to_unit", "must name the unit asking for the case")
            unit = next(iter(actor.units))
        worker = _inputs.optional_id(to_worker, "to_worker") or actor.id
        return self._send(
            case_id, HandoverKind.TRANSFER_REQUEST, actor, why, unit, worker, None, None, None,
            None,
        )  # fmt: skip

    def _send(  # noqa: PLR0917 - every part of a handover
        self,
        case_id: str,
        kind: HandoverKind,
        actor: Actor,
        reason: str | None,
        to_unit: str | None,
        to_worker: str | None,
        service: str | None,
        evidence: Mapping[str, str] | None,
        reason_code: str | None,
        override_by: Actor | None,
    ) -> Case:
        command = Send(
            kind=kind,
            actor=_inputs.actor(actor),
            reason=_inputs.reason(reason),
            to_unit=_unit(to_unit, "to_unit"),
            to_worker=_inputs.optional_id(to_worker, "to_worker"),
            service=_inputs.optional_id(service, "service"),
            evidence=_inputs.evidence(evidence),
            reason_code=_inputs.optional_id(reason_code, "reason_code"),
            override_by=None if override_by is None else _inputs.actor(override_by, "override_by"),
        )
        return self._run(_inputs.case_id(case_id), command)[1]

    def _answer(
        self,
        case_id: str,
        handover_id: str,
        answer: str,
        actor: Actor,
        *,
        reason: str | None = None,
        assignee: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Case:
        if not isinstance(handover_id, str) or not handover_id.strip():
            raise InvalidInput("handover_id", "must name a handover of the case")
        command = Answer(
            handover_id=handover_id,
            answer=answer,
            actor=_inputs.actor(actor),
            reason=_inputs.reason(reason),
            assignee=_inputs.optional_id(assignee, "assignee"),
            evidence=_inputs.evidence(evidence),
        )
        return self._run(_inputs.case_id(case_id), command)[1]

    def accept_handover(
        self,
        case_id: str,
        handover_id: str,
        *,
        actor: Actor,
        assignee: str | None = None,
        reason: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Case:
        """Accept a handover, as its addressee (or for them).

        An accepted referral opens the addressee's access; an accepted transfer or
        transfer request moves the case to the receiving unit and to ``assignee`` (the
        worker it was addressed to by default), names the worker it came from
        (``from_assignee``), and cancels, each with an entry, the approvals and
        handovers that do not carry over. ``evidence`` records documents with the
        answer (the signed handover record).

        Raises:
            TransitionRejected: for the wrong party, a handover not open, a closed case
                (for a transfer), or an assignee the directory refuses; recorded.
        """
        return self._answer(
            case_id, handover_id, "accept", actor, reason=reason, assignee=assignee,
            evidence=evidence,
        )  # fmt: skip

    def reject_handover(self, case_id: str, handover_id: str, *, actor: Actor, reason: str) -> Case:
        """Reject a handover, as its addressee (or for them), with a reason.

        Raises:
            TransitionRejected: for the wrong party, a handover not open, or no reason.
        """
        return self._answer(case_id, handover_id, "reject", actor, reason=reason)

    def complete_handover(
        self,
        case_id: str,
        handover_id: str,
        *,
        actor: Actor,
        reason: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Case:
        """Mark an accepted referral done, as its addressee; their access ends.

        Raises:
            TransitionRejected: for the wrong party, or a handover that is not an
                accepted referral; recorded.
        """
        return self._answer(case_id, handover_id, "done", actor, reason=reason, evidence=evidence)

    def revoke_handover(self, case_id: str, handover_id: str, *, actor: Actor, reason: str) -> Case:
        """Withdraw an open handover, as its sender or for the case's owner, with a reason.

        Raises:
            TransitionRejected: for the wrong party, a handover not open, or no reason.
        """
        return self._answer(case_id, handover_id, "revoke", actor, reason=reason)

    def accept_transfer(
        self,
        case_id: str,
        *,
        actor: Actor,
        assignee: str | None = None,
        reason: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Case:
        """Accept the case's waiting transfer: `accept_handover` of the open one."""
        return self._answer(
            case_id, "transfer", "accept", actor, reason=reason, assignee=assignee,
            evidence=evidence,
        )  # fmt: skip

    def refuse_transfer(self, case_id: str, *, actor: Actor, reason: str) -> Case:
        """Refuse the case's waiting transfer, with a reason: `reject_handover` of it."""
        return self._answer(case_id, "transfer", "reject", actor, reason=reason)
