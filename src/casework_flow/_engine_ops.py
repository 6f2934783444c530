"""Engine commands beyond a plain fire: approvals, records, assignment, links and reads.

Each checks its input, builds a command and runs it through the shell; the rules of
each (who may approve, who may assign...) are in `_checks` and `_decide`. Handovers are
in `_engine_handovers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from . import _inputs
from ._access import as_on
from ._access_log import Access
from ._at_rest import opened_entries
from ._case import Actor, Case, CaseView
from ._clock import to_utc
from ._commands import Approve, Assign, Erase, LinkCases, Record, Reject, View, named_people
from ._decide_links import decide_link
from ._directory import Roster
from ._due import RetentionReport
from ._export import entry_json
from ._privacy import may_see_personal
from ._shell import Committed, Shell
from .exceptions import InvalidInput, TransitionRejected
from .stores import Query, Store

__all__ = ["Operations"]


class Operations(Shell):
    """Approvals, records, assignment and audited reads (part of `Engine`)."""

    __slots__ = ()

    def link(
        self,
        case_id: str,
        other: str,
        *,
        kind: str,
        actor: Actor,
        reason: str | None = None,
        handover: str | None = None,
    ) -> Case:
        """Link ``case_id`` to ``other`` as ``kind``: both cases get an entry, in one commit.

        For a re-entry, ``other`` is the same client's earlier case; for membership,
        the family's case (open, and not itself a member: membership is one level
        deep); for a referral, ``case_id`` is the case the receiving unit opened and
        ``other`` the sending case, whose open referral ``handover`` names. The kind
        must be one the case's workflow declares in ``links``; the actor needs one of
        its roles (or a role that may record; for a referral, the right to accept it)
        and must be allowed to read both cases. Both cases commit together or neither.

        Raises:
            UnknownCase: if either case is not stored.
            TransitionRejected: for a kind not declared, a missing role, a case the
                actor may not read, a closed case, a second link of the same kind, a
                re-entry to a later case, a membership of a closed family case or more
                than one level deep, or a referral that is not open, was sent to
                another unit or has its case already; the refusal is recorded on
                ``case_id`` only.
            ConcurrentModification: if either case moved on meanwhile; nothing is
                written.
        """
        named_kind = _inputs.optional_id(kind, "kind")
        if named_kind is None:
            raise InvalidInput("kind", "must name a kind of link the workflow declares")
        command = LinkCases(
            _inputs.actor(actor),
            named_kind,
            _inputs.case_id(other),
            _inputs.optional_id(handover, "handover"),
        )
        why = _inputs.reason(reason)
        snap = self._load(_inputs.case_id(case_id))
        other_snap = self._load(command.other)
        roster = None
        if self._directory is not None:
            roster = Roster.read(self._directory, named_people(command, other_snap.case))
        result = decide_link(
            self._catalog, snap, other_snap, command, self._now(), reason=why, roster=roster
        )
        named = result.named
        case = snap.case
        after = named.after if named.after is not None else case
        if named.refused or result.other is None or result.other.after is None:
            if named.entries and self._record_refusals:
                self._store.commit(after, named.entries, expected_revision=case.revision)
            raise TransitionRejected(case.id, "link", case.state, named.refused)
        there = result.other
        theirs = other_snap.case
        self._store.commit_many(
            [
                (after, named.entries, case.revision),
                (there.after, there.entries, theirs.revision),  # type: ignore[list-item]
            ]
        )
        if self._listeners:
            self._notify(Committed(case, after, named.entries))
            self._notify(Committed(theirs, there.after, there.entries))  # type: ignore[arg-type]
        return after

    def approve(
        self, case_id: str, *, actor: Actor, note: str | None = None, kind: str | None = None
    ) -> Case:
        """Approve the case's request of ``kind``: the transition happens now.

        ``kind`` may be left out when one request waits. The approver must hold one of
        the approving roles, must not be the requester (unless the approval lets their
        role approve its own request), nor the case's worker where the approval says
        ``not_assignee``, and must act for the unit that owns the case.
        Every check of the transition runs again, as of now, with what was requested
        (and with the consent override the request was made with, if any). The entry is
        by the approver and names the requester (``requested_by``) and the request's
        entry; the step counts as the requester's for `not_actor_of`.

        Raises:
            TransitionRejected: for a self-approval, a missing role, nothing pending, or
                checks that no longer pass; the refusal is recorded.
        """
        command = Approve(
            _inputs.actor(actor), _inputs.reason(note, "note"), _inputs.optional_id(kind, "kind")
        )
        return self._run(_inputs.case_id(case_id), command)[1]

    def reject(self, case_id: str, *, actor: Actor, reason: str, kind: str | None = None) -> Case:
        """Reject the case's request of ``kind``, with a reason; the case stays where it was.

        Raises:
            TransitionRejected: for a rejection by the requester, a missing role,
                nothing pending, or no reason; the refusal is recorded.
        """
        command = Reject(
            _inputs.actor(actor), _inputs.reason(reason), _inputs.optional_id(kind, "kind")
        )
        return self._run(_inputs.case_id(case_id), command)[1]

    def record(
        self,
        case_id: str,
        what: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        evidence: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> Case:
        """Record an observation, a document or a contact without moving the case.

        ``what`` names the record (``home_visit_observation``); it becomes the entry's
        event. The actor needs one of the workflow's ``record_roles`` (by default, any
        role some transition names). Nothing can be recorded on a closed case.

        Raises:
            TransitionRejected: for a missing role or a closed case; recorded.
            InvalidInput: for a bad name, data or documents.
        """
        command = Record(
            what=_inputs.record_name(what),
            actor=_inputs.actor(actor),
            data=_inputs.data(data),
            evidence=_inputs.evidence(evidence),
            reason=_inputs.reason(reason),
        )
        return self._run(_inputs.case_id(case_id), command)[1]

    def _assign_command(self, assignee: object, actor: Actor, reason: str | None) -> Assign:
        if not isinstance(assignee, str) or not assignee.strip():
            raise InvalidInput("assignee", "must be a worker id")
        return Assign(
            _inputs.text(assignee, "assignee"), _inputs.actor(actor), _inputs.reason(reason)
        )

    def assign(
        self, case_id: str, assignee: str, *, actor: Actor, reason: str | None = None
    ) -> Case:
        """Give the case to another worker (the actor needs one of ``assign_roles``).

        With a worker directory, the assignee must be an active worker, of the case's
        unit or the actor's group as the workflow's ``assign_scope`` says; where the
        workflow sets ``unit_follows_assignee``, the case moves to the assignee's unit.

        Raises:
            TransitionRejected: when the actor may not assign, or the assignee is the
                case's worker already, unknown, inactive or out of scope; recorded.
        """
        command = self._assign_command(assignee, actor, reason)
        return self._run(_inputs.case_id(case_id), command)[1]

    def reassign(
        self,
        from_assignee: str,
        to_assignee: str,
        *,
        actor: Actor,
        reason: str,
        query: Query | None = None,
    ) -> tuple[Case, ...]:
        """Move every case of one worker to another, all or nothing (a worker leaves).

        Each case's trail records its reassignment. ``query`` narrows the cases
        (workflow, state...). If any case may not be reassigned by ``actor``, or any
        changes while this runs, nothing is written.

        Raises:
            TransitionRejected: naming the first case the actor may not reassign.
            ConcurrentModification: a case changed meanwhile; nothing was written.
        """
        why = _inputs.required_text(reason, "reason", "a bulk reassignment needs a written reason")
        command = self._assign_command(to_assignee, actor, why)
        q = attrs.evolve(query or Query(), assignee=from_assignee)
        now = self._now()
        moves = []
        after = None
        while True:
            page = self._store.find(q, limit=500, after=after)
            for found in page.cases:
                snap = self._load(found.id)
                result, new = self._decide(snap, command, now)
                if result.refused:
                    case = snap.case
                    raise TransitionRejected(case.id, "assign", case.state, result.refused)
                moves.append((new, result.entries, snap.case.revision))
            if page.cursor is None:
                break
            after = page.cursor
        self._store.commit_many(moves)
        return tuple(new for new, _, _ in moves)

    def read(self, case_id: str, *, actor: Actor, purpose: str | None = None) -> CaseView:
        """Read a case as ``actor`` may see it: the audited way to show personal data.

        Personal fields (``workflow.personal``) are masked unless the workflow names no
        ``personal_roles`` or the actor holds one. When the workflow sets
        ``log_personal_reads``, every read that shows personal fields appends a
        ``viewed`` entry naming the reader, the fields and the ``purpose`` (or, where the
        engine has an ``access_log``, a record there, outside the hash chain; a read
        whose record cannot be written is not shown); the case itself does not change.
        (`get` stays the host's unaudited accessor.)
        """
        log = self._access_log
        command = View(
            _inputs.actor(actor), _inputs.reason(purpose, "purpose"), in_trail=log is None
        )
        result, _ = self._run(_inputs.case_id(case_id), command)
        view = result.view
        assert view is not None  # noqa: S101 - a read always has a view
        wf = self.catalog.workflow(view.case.workflow, view.case.version)
        if log is not None and view.shown and wf.log_personal_reads:
            seen_as = as_on(wf, view.case, command.actor)
            log.record(
                Access(view.case.id, self._now(), seen_as.id, seen_as.sorted_roles,
                       tuple(sorted(view.shown)), command.purpose)
            )  # fmt: skip
        return view

    def read_trail(
        self, case_id: str, *, actor: Actor, purpose: str | None = None
    ) -> tuple[dict[str, Any], ...]:
        """Return the case's trail as ``actor`` may see it, for an API response or a page.

        Each entry is its JSON object as `export_jsonl` writes it; personal fields are
        masked (and listed under ``masked``) unless the actor may read them. The read is
        the audited read of `read`: refused to whom may not read the case, and logged as
        a ``viewed`` entry when the workflow logs personal reads (that entry is in the
        trail returned).
        """
        view = self.read(case_id, actor=actor, purpose=purpose)
        wf = self.catalog.workflow(view.case.workflow, view.case.version)
        seen_as = as_on(wf, view.case, actor)
        if may_see_personal(wf, seen_as):
            entries = opened_entries(self._keys, self.catalog, view.case, self.trail(view.case.id))
            return tuple(entry_json(e, frozenset()) for e in entries)
        return tuple(entry_json(e, wf.personal) for e in self.trail(view.case.id))

    def erase(
        self,
        case_id: str,
        *,
        actor: Actor,
        second: Actor,
        reason: str,
        override: bool = False,
    ) -> Case:
        """Erase the case's personal values for good, keeping its trail whole.

        Two people holding one of the workflow's ``erase_roles`` (by default
        ``supervisor``) decide it together, with a written reason, once the case is
        closed (``override=True`` before, for a data subject's request). An ``erased``
        entry is committed, then the case's data key is destroyed: its sealed values
        read as ``[erased]`` everywhere, and the chain, replay and reports still work.
        Needs a key store (``Engine(keys=...)``). If the key's destruction fails after
        the entry is committed, calling `erase` again destroys it.

        Raises:
            TransitionRejected: naming every reason it may not be erased (not closed,
                one person, a role missing, erased already, nothing sealed); the
                refusal is in the trail.
        """
        command = Erase(
            actor=_inputs.actor(actor),
            second=_inputs.actor(second, "second"),
            reason=_inputs.reason(reason),
            override=bool(override),
        )
        cid = _inputs.case_id(case_id)
        keys = self._keys
        if keys is not None:
            stored = self._store.load(cid).case
            if stored.erased_at is not None and keys.data_key(cid) is not None:
                keys.destroy(cid)
                return self._shown(stored)
        self._run(cid, command)
        if keys is not None:
            keys.destroy(cid)
        return self.get(cid)

    def run_retention(self, now: datetime | None = None) -> RetentionReport:
        """Erase, or list as due, the closed cases whose retention time is up.

        For each workflow version with a ``retention``: a closed case whose values are
        kept no longer is erased, as the system actor with an ``erased`` entry naming
        the retention, where the workflow says ``erase: true``; otherwise it is listed
        as due, for two people to erase (`erase`). Several schedulers may run it at
        once: a case is erased once, the others find it erased and leave it.
        """
        at = self._now() if now is None else to_utc(now, "now")
        erased: list[str] = []
        due: list[str] = []
        for wf in self.catalog.all():
            kept = wf.retention
            if kept is None:
                continue
            closed = frozenset(s.id for s in wf.all_states if s.terminal)
            query = Query(workflow=wf.name, version=wf.version, states=closed)
            for case in _every(self._store, query):
                if case.erased_at is not None or kept.due(case.state_entered_at) > at:
                    continue
                if not kept.erase:
                    due.append(case.id)
                    continue
                command = Erase(self.system_actor, self.system_actor,
                                "The retention time is up.", retention=True)  # fmt: skip
                result, _ = self._run(case.id, command, now=at)
                if self._keys is not None:
                    self._keys.destroy(case.id)
                if result.entries:
                    erased.append(case.id)
        return RetentionReport(at, tuple(erased), tuple(due))


def _every(store: Store, query: Query) -> Iterator[Case]:
    after = None
    while True:
        page = store.find(query, limit=500, after=after)
        yield from page.cases
        if page.cursor is None:
            return
        after = page.cursor
