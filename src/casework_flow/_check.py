"""Static checks: is a workflow sound before a single case runs on it?

`check` returns findings, each with a severity, a code, a sentence and a path into the
definition. Errors mean cases can get stuck or steps can never happen; warnings are worth
a reviewer's look. The guard analysis is sound but not complete: it reports a guard as
impossible only when it is certain (``x > 3 and x < 2``, ``p and not p``), never a guard
that some case could satisfy.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._configurations import closure
from ._definition import Transition, Workflow
from ._finding import ORDER, Finding
from ._guard_logic import impossible
from ._guards import ALWAYS, AllOf, Check, Compare, Fact, Not, Present, walk
from ._link_findings import link_findings
from ._stage_findings import staged_findings

__all__ = ["Finding", "check_workflow"]


def check_workflow(workflow: Workflow) -> tuple[Finding, ...]:
    """Check a workflow statically; return every finding, errors first.

    Codes: ``unreachable-state``, ``trap-state``, ``no-terminal-state``,
    ``dead-transition`` (unreachable sources or a guard that can never hold),
    ``shadowed-transition`` (a higher-priority candidate always wins; ``shadowing-undecided``
    as info where host checks keep that from being known), ``missing-label``,
    ``unused-role``, ``unsupplied-data``, ``deadline-on-terminal-state``,
    ``timer-on-terminal-state``, ``timer-cannot-fire`` (its event has no transition from
    the state), ``timer-without-system-role`` (the event needs roles the system actor
    lacks, so the timer would always be refused), ``member-orphaned`` (a member of a kind
    that closes with its family cannot be closed from some state), and as ``info`` every
    membership kind whose members outlive their family's case (``member-left-open``) and
    every transition or handover that
    allows a consent override (``consent-override``), every transition that needs approval
    (``approval``) or reopens a closed case (``reopening``).
    """
    flat = [*_reachability(workflow), *_dead(workflow)]
    found = [
        *(staged_findings(workflow) if workflow.staged else flat),
        *_impossible(workflow),
        *_shadowed(workflow),
        *_labels(workflow),
        *_roles(workflow),
        *_data(workflow),
        *_timing(workflow),
        *_operations(workflow),
        *link_findings(workflow, set() if workflow.staged else reachable(workflow)),
    ]
    return tuple(sorted(found, key=lambda f: ORDER[f.severity]))


def _edges(wf: Workflow) -> Iterator[tuple[str, str]]:
    """Each move a case could make: guards ignored, except one that can never hold."""
    for t in wf.transitions:
        if impossible(t.guard) is not None:
            continue
        for src in t.source:
            yield src, t.dest or src


def reachable(wf: Workflow) -> set[str]:
    """States reachable from the initial state, guards ignored."""
    forward: dict[str, set[str]] = {}
    for src, dst in _edges(wf):
        forward.setdefault(src, set()).add(dst)
    return closure({wf.initial}, forward)


def can_end(wf: Workflow) -> set[str]:
    """States from which some terminal state is reachable, guards ignored."""
    backward: dict[str, set[str]] = {}
    for src, dst in _edges(wf):
        backward.setdefault(dst, set()).add(src)
    return closure({s.id for s in wf.states if s.terminal}, backward)


def _reachability(wf: Workflow) -> Iterator[Finding]:
    index = {s.id: i for i, s in enumerate(wf.states)}
    seen = reachable(wf)
    for s in wf.states:
        if s.id not in seen:
            yield Finding(
                "error", "unreachable-state",
                f"no path leads from {wf.initial} to {s.id}", f"states[{index[s.id]}]",
            )  # fmt: skip
    terminals = {s.id for s in wf.states if s.terminal}
    if not terminals:
        yield Finding(
            "error", "no-terminal-state", "no state is terminal: no case can end", "states"
        )
        return
    backward: dict[str, set[str]] = {}
    for src, dst in _edges(wf):
        backward.setdefault(dst, set()).add(src)
    can_end = closure(terminals, backward)
    for s in wf.states:
        if s.id in seen and s.id not in can_end:
            yield Finding(
                "error", "trap-state",
                f"a case in {s.id} can never reach a terminal state", f"states[{index[s.id]}]",
            )  # fmt: skip


def _dead(wf: Workflow) -> Iterator[Finding]:
    seen = reachable(wf)
    for i, t in enumerate(wf.transitions):
        if not any(src in seen for src in t.source):
            yield Finding(
                "error", "dead-transition",
                f"{t.event} can never fire: none of its sources"
                f" ({', '.join(t.source)}) is reachable",
                f"transitions[{i}].source",
            )  # fmt: skip


def _impossible(wf: Workflow) -> Iterator[Finding]:
    for i, t in enumerate(wf.transitions):
        why = impossible(t.guard)
        if why is not None:
            yield Finding(
                "error", "dead-transition", f"{t.event} can never fire: {why}",
                f"transitions[{i}].guard",
            )  # fmt: skip


def _shadowed(wf: Workflow) -> Iterator[Finding]:
    index = {id(t): i for i, t in enumerate(wf.transitions)}
    reported: set[int] = set()
    for state in wf.all_states:
        for event in wf.events:
            candidates = wf.candidates(state.id, event)
            for k, first in enumerate(candidates):
                for later in candidates[k + 1 :]:
                    if id(later) in reported or not _asks_no_more(first, later):
                        continue
                    at = f"transitions[{index[id(later)]}].priority"
                    moves = (f"{event} to {later.dest or state.id}", state.id,
                             f"{event} to {first.dest or state.id}")  # fmt: skip
                    if _guard_implied(first, later):
                        reported.add(id(later))
                        yield Finding(
                            "error", "shadowed-transition",
                            f"{moves[0]} can never fire from {moves[1]}: the higher-priority"
                            f" {moves[2]} always takes it first", at,
                        )  # fmt: skip
                    elif hosts := _host_checks(first, later):
                        reported.add(id(later))
                        yield Finding(
                            "info", "shadowing-undecided",
                            f"whether {moves[0]} can ever fire from {moves[1]} before the"
                            f" higher-priority {moves[2]} depends on the host check"
                            f"{'s' if len(hosts) > 1 else ''} {', '.join(hosts)}, which the"
                            " checks cannot see into", at,
                        )  # fmt: skip


def _host_checks(*transitions: Transition) -> list[str]:
    return sorted({g.name for t in transitions for g in walk(t.guard) if isinstance(g, Check)})


def _guard_implied(first: Transition, later: Transition) -> bool:
    """Whether ``first``'s guard holds whenever ``later``'s does, as far as can be told."""
    if first.guard is ALWAYS:
        return True
    return impossible(AllOf((later.guard, Not(first.guard)))) is not None


def _asks_no_more(first: Transition, later: Transition) -> bool:
    """Whether ``first`` asks of the actor no more than ``later`` does."""
    return (
        (not first.roles or (bool(later.roles) and later.roles <= first.roles))
        and set(first.requires) <= set(later.requires)
        and (not first.reason_required or later.reason_required)
        and (not first.reason_codes or set(later.reason_codes) <= set(first.reason_codes))
        and bool(later.reason_codes or not first.reason_codes)
    )


def _labels(wf: Workflow) -> Iterator[Finding]:
    for s in wf.all_states:
        missing = [loc for loc in wf.locales if not s.labels.get(loc)]
        if missing:
            yield Finding(
                "warning", "missing-label",
                f"state {s.id} has no label in {', '.join(missing)}",
                f"{wf.tree.paths[s.id]}.labels",
            )  # fmt: skip
    for i, t in enumerate(wf.transitions):
        missing = [loc for loc in wf.locales if not t.labels.get(loc)]
        if missing:
            yield Finding(
                "warning", "missing-label",
                f"{t.event} has no label in {', '.join(missing)}", f"transitions[{i}].labels",
            )  # fmt: skip


def used_roles(wf: Workflow) -> set[str]:
    """Every role the workflow gives something to do.

    A transition, an approval, an override, a handover, a link, recording, assigning or
    reading personal fields.
    """
    used = {r for t in wf.transitions for r in t.roles}
    for t in wf.transitions:
        used |= t.approval.roles if t.approval is not None else set()
        used |= t.override.roles if t.override is not None else set()
    for rule in wf.handovers.values():
        used |= rule.send | rule.answer | rule.on_behalf
        used |= rule.override.roles if rule.override is not None else set()
    for link in wf.links.values():
        used |= link.roles
    return (
        used
        | wf.record_roles
        | wf.assign_roles
        | wf.personal_roles
        | wf.cross_unit_roles
        | (wf.erase_roles if wf.personal else frozenset())
    )


def _roles(wf: Workflow) -> Iterator[Finding]:
    for role in sorted(wf.roles - used_roles(wf)):
        yield Finding(
            "warning", "unused-role", f"role {role} is allowed to do nothing", "roles",
        )  # fmt: skip


def _timing(wf: Workflow) -> Iterator[Finding]:
    for s in wf.all_states:
        where = wf.tree.paths[s.id]
        if s.terminal and s.deadline is not None:
            yield Finding(
                "error", "deadline-on-terminal-state",
                f"terminal state {s.id} has a deadline: every closed case would fall overdue",
                f"{where}.deadline",
            )  # fmt: skip
        for j, timer in enumerate(s.timers):
            at = f"{where}.timers[{j}]"
            candidates = wf.candidates(s.id, timer.event)
            if s.terminal:
                yield Finding(
                    "error", "timer-on-terminal-state",
                    f"terminal state {s.id} has timer {timer.name}: nothing can leave a"
                    " terminal state", at,
                )  # fmt: skip
            elif not candidates:
                yield Finding(
                    "error", "timer-cannot-fire",
                    f"timer {timer.name} fires {timer.event}, which has no transition from"
                    f" {s.id}", at,
                )  # fmt: skip
            elif all(t.roles and "system" not in t.roles for t in candidates):
                yield Finding(
                    "warning", "timer-without-system-role",
                    f"timer {timer.name} fires {timer.event}, which only"
                    f" {' or '.join(sorted({r for t in candidates for r in t.roles}))} may do:"
                    " the system actor (role system) would be refused", at,
                )  # fmt: skip


def _operations(wf: Workflow) -> Iterator[Finding]:
    for i, t in enumerate(wf.transitions):
        at = f"transitions[{i}]"
        if t.override is not None:
            yield Finding(
                "info", "consent-override",
                f"{t.event} allows missing consent to be overridden by"
                f" {' or '.join(sorted(t.override.roles))} with reason code"
                f" {' or '.join(t.override.reason_codes)}", f"{at}.override",
            )  # fmt: skip
        if t.approval is not None:
            yield Finding(
                "info", "approval",
                f"{t.event} waits for approval by {' or '.join(sorted(t.approval.roles))}",
                f"{at}.approval",
            )  # fmt: skip
        if t.reopens:
            yield Finding(
                "info", "reopening",
                f"{t.event} reopens closed cases ({', '.join(t.source)}) for"
                f" {' or '.join(sorted(t.roles))}, with a reason", at,
            )  # fmt: skip
    for kind, rule in wf.handovers.items():
        if rule.override is not None:
            yield Finding(
                "info", "consent-override",
                f"a {kind} may be sent without the consent it asks for, by"
                f" {' or '.join(sorted(rule.override.roles))} with reason code"
                f" {' or '.join(rule.override.reason_codes)}", f"handovers.{kind}.override",
            )  # fmt: skip


def _data(wf: Workflow) -> Iterator[Finding]:
    supplied = {name for t in wf.transitions for name in t.requires}
    for i, t in enumerate(wf.transitions):
        read = {
            g.measure.name
            for g in walk(t.guard)
            if isinstance(g, Compare | Present) and isinstance(g.measure, Fact)
        }
        for name in sorted(read - supplied):
            yield Finding(
                "warning", "unsupplied-data",
                f"{t.event} reads {name}, which no transition requires: it can only come"
                " with the intake data or as optional data",
                f"transitions[{i}].guard",
            )  # fmt: skip
