"""What makes a workflow definition invalid, found when it is built (`Workflow`).

Every check returns the problems it found, each with the path into the definition
(``transitions[3].roles``), so one `WorkflowError` can list them all at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import attrs

from ._guards import Consent, Guard, Handed, referenced_events, walk
from ._links import Closing, LinkRule, LinkType
from ._parts import DEFAULT_HANDOVERS, Approval, ConsentOverride, HandoverRule, State, Transition
from ._timing import Deadline, Timer
from ._tree import StateTree
from .exceptions import Problem

if TYPE_CHECKING:
    from ._definition import Workflow

__all__ = ["check_handovers", "check_links", "check_states", "check_timing", "check_transitions"]

_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WORKFLOW_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _check_deadline(at: str, state: State, by_id: dict[str, State]) -> list[Problem]:
    d = state.deadline
    if d is None:
        return []
    if not isinstance(d, Deadline):
        return [Problem(f"must be a Deadline, got {d!r}", f"{at}.deadline")]
    problems = []
    if not isinstance(d.within, timedelta) or d.within <= timedelta(0):
        problems.append(
            Problem(f"{state.id}: the deadline must be a positive time", f"{at}.deadline")
        )
    for other in sorted(d.pause_in):
        if other == state.id:
            why = "a deadline cannot pause in its own state"
        elif other not in by_id:
            why = f"the deadline pauses in unknown state {other!r}{_near(other, by_id)}"
        else:
            continue
        problems.append(Problem(f"{state.id}: {why}", f"{at}.deadline.pause_in"))
    return problems


def _check_timers(at: str, state: State, events: set[str]) -> list[Problem]:
    problems = []
    names = set()
    for j, timer in enumerate(state.timers):
        where = f"{at}.timers[{j}]"
        if not isinstance(timer, Timer):
            problems.append(Problem(f"must be a Timer, got {timer!r}", where))
            continue
        if not isinstance(timer.after, timedelta) or timer.after <= timedelta(0):
            problems.append(
                Problem(f"{state.id}: timer {timer.name}: 'after' must be a positive time", where)
            )
        if timer.event not in events:
            problems.append(
                Problem(
                    f"{state.id}: timer {timer.name} fires unknown event {timer.event!r}"
                    f"{_near(timer.event, events)}",
                    f"{where}.event",
                )
            )
        if timer.name in names:
            problems.append(
                Problem(f"{state.id}: two timers are named {timer.name!r}", f"{where}.name")
            )
        names.add(timer.name)
    return problems


def check_timing(wf: Workflow, tree: StateTree) -> list[Problem]:
    problems = []
    events = {t.event for t in wf.transitions if isinstance(t, Transition)}
    by_id = {s.id: s for s in tree.states()}
    for state in tree.states():
        at = tree.paths[state.id]
        problems += _check_deadline(at, state, by_id)
        problems += _check_timers(at, state, events)
    return problems


def _walk(states: object, at: str, problems: list[Problem], found: dict[str, State]) -> list[State]:
    """The well-formed states under ``at``, each id once; a problem for every other."""
    if not isinstance(states, tuple):
        problems.append(Problem("must be a list of states", at))
        return []
    kept = []
    for i, state in enumerate(states):
        where = f"{at}[{i}]"
        if not isinstance(state, State):
            problems.append(Problem(f"is {type(state).__name__}, not a State", where))
        elif not isinstance(state.id, str) or not _NAME.match(state.id):
            problems.append(
                Problem(
                    f"id {state.id!r} must start with a letter and use only letters,"
                    " digits and '_'",
                    f"{where}.id",
                )
            )
        elif state.id in found:
            problems.append(Problem(f"state {state.id!r} is defined twice", f"{where}.id"))
        else:
            found[state.id] = state
            inner = _walk(state.states, f"{where}.states", problems, found)
            if len(inner) != len(state.states):
                state = attrs.evolve(state, states=inner)  # noqa: PLW2901 - keep what is sound
            kept.append(state)
    return kept


def check_states(wf: Workflow) -> tuple[list[Problem], StateTree]:
    problems = _check_identity(wf)
    found: dict[str, State] = {}
    roots = _walk(wf.states, "states", problems, found)
    tree = StateTree(roots)
    by_id = {s.id: s for s in tree.states()}
    if not wf.states:
        problems.append(Problem("it has no states", "states"))
    if not wf.initial:
        problems.append(Problem("no initial state is set", "initial"))
    elif wf.initial not in by_id:
        problems.append(
            Problem(
                f"initial state {wf.initial!r} is not one of its states{_near(wf.initial, by_id)}",
                "initial",
            )
        )
    elif by_id[wf.initial].terminal:
        problems.append(
            Problem(f"initial state {wf.initial!r} is terminal, so no case could move", "initial")
        )
    return problems, tree


def _check_identity(wf: Workflow) -> list[Problem]:
    problems = []
    if not isinstance(wf.name, str) or not _WORKFLOW_NAME.match(wf.name):
        problems.append(
            Problem(
                f"name {wf.name!r} must start with a letter and use letters, digits, '_', '-', '.'",
                "name",
            )
        )
    if not isinstance(wf.version, int) or isinstance(wf.version, bool) or wf.version < 1:
        problems.append(Problem(f"version {wf.version!r} must be a positive integer", "version"))
    return problems


def _near(name: object, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_transitions(wf: Workflow, by_id: dict[str, State]) -> list[Problem]:
    problems: list[Problem] = []
    groups: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(wf.transitions):
        if not isinstance(t, Transition):
            problems.append(
                Problem(f"is {type(t).__name__}, not a Transition", f"transitions[{i}]")
            )
            continue
        problems += _check_transition(f"transitions[{i}]", t, by_id)
        problems += _check_references(f"transitions[{i}]", t, wf)
        for src in t.source:
            groups.setdefault((src, t.event), []).append(i)
    for (src, event), members in groups.items():
        priorities = [wf.transitions[i].priority for i in members]
        if len(members) > 1 and (None in priorities or len(set(priorities)) != len(members)):
            indexes = ", ".join(f"transitions[{i}]" for i in members)
            problems.append(
                Problem(
                    f"event {event!r} leads {len(members)} ways from state {src!r} ({indexes})"
                    " with no order between them: give each a distinct priority",
                    f"transitions[{members[1]}].priority",
                )
            )
    return problems


def _check_references(at: str, t: Transition, wf: Workflow) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(t.guard, Guard):
        events = {x.event for x in wf.transitions if isinstance(x, Transition)}
        problems.extend(
            Problem(
                f"{t.event}: the guard reads event {event!r}, which no transition has"
                f"{_near(event, events)}",
                f"{at}.guard",
            )
            for event in sorted(referenced_events(t.guard) - events)
        )
    if wf.roles:
        named = [("roles", t.roles)]
        if isinstance(t.approval, Approval):
            named.append(("approval", t.approval.roles))
        if isinstance(t.override, ConsentOverride):
            named.append(("override", t.override.roles))
        problems.extend(
            Problem(
                f"{t.event}: role {role!r} is not one of the workflow's roles"
                f"{_near(role, wf.roles)}",
                f"{at}.{where}",
            )
            for where, roles in named
            for role in sorted(roles - wf.roles)
        )
    return problems


def _check_operations(at: str, t: Transition, by_id: dict[str, State]) -> list[Problem]:
    problems = []
    if t.approval is not None and (not isinstance(t.approval, Approval) or not t.approval.roles):
        problems.append(
            Problem(f"{t.event}: an approval must name the approving roles", f"{at}.approval")
        )
    elif t.approval is not None:
        problems += _check_votes(at, t.event, t.approval)
    if t.override is not None:
        if not isinstance(t.override, ConsentOverride) or not t.override.roles:
            problems.append(
                Problem(f"{t.event}: an override must name the senior roles", f"{at}.override")
            )
        elif not t.override.reason_codes:
            problems.append(
                Problem(f"{t.event}: an override needs a list of reason codes", f"{at}.override")
            )
        if not any(isinstance(c, Consent) for c in t.conjuncts):
            problems.append(
                Problem(
                    f"{t.event}: an override is declared but the guard asks for no consent",
                    f"{at}.override",
                )
            )
    if t.reopens:
        if not t.roles or not t.reason_required:
            problems.append(
                Problem(f"{t.event}: a reopening must name roles and require a reason", at)
            )
        open_sources = [s for s in t.source if s in by_id and not by_id[s].terminal]
        if open_sources:
            problems.append(
                Problem(
                    f"{t.event} reopens from {', '.join(open_sources)}, which are not terminal",
                    f"{at}.source",
                )
            )
    return problems


def _check_votes(at: str, event: str, a: Approval) -> list[Problem]:
    problems = []
    for key in ("quorum", "rejections"):
        value = getattr(a, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(
                Problem(
                    f"{event}: {key} must be a whole number of 1 or more", f"{at}.approval.{key}"
                )
            )
    if a.direct and a.quorum != 1:
        problems.append(
            Problem(
                f"{event}: a step several people must approve cannot be taken directly by one",
                f"{at}.approval.direct",
            )
        )
    return problems


def _check_transition(at: str, t: Transition, by_id: dict[str, State]) -> list[Problem]:
    problems = _check_operations(at, t, by_id)
    if not isinstance(t.event, str) or not _NAME.match(t.event):
        problems.append(Problem(f"event name {t.event!r} must be an identifier", f"{at}.event"))
    if not isinstance(t.guard, Guard):
        problems.append(
            Problem(f"{t.event}: must be a Guard, got {type(t.guard).__name__}", f"{at}.guard")
        )
    if not t.source:
        problems.append(Problem(f"{t.event}: no source state", f"{at}.source"))
    for src in t.source:
        if src not in by_id:
            problems.append(
                Problem(
                    f"{t.event}: unknown source state {src!r}{_near(src, by_id)}", f"{at}.source"
                )
            )
        elif by_id[src].terminal and not t.reopens:
            problems.append(
                Problem(
                    f"{t.event} leaves terminal state {src!r}; terminal states have no way out",
                    f"{at}.source",
                )
            )
    if t.dest is not None and t.dest not in by_id:
        problems.append(
            Problem(
                f"{t.event}: unknown destination state {t.dest!r}{_near(t.dest, by_id)}",
                f"{at}.dest",
            )
        )
    if not all(isinstance(c, str) and c for c in t.reason_codes):
        problems.append(
            Problem(f"{t.event}: reason codes must be non-empty strings", f"{at}.reason_codes")
        )
    if t.priority is not None and (not isinstance(t.priority, int) or isinstance(t.priority, bool)):
        problems.append(Problem(f"{t.event}: priority must be an integer", f"{at}.priority"))
    return problems


def check_links(wf: Workflow) -> list[Problem]:
    """The link rules: filed under their own kind, naming known roles; cross-unit roles too."""
    problems: list[Problem] = []
    if wf.roles:
        problems += [
            Problem(f"role {role!r} is not one of the workflow's roles"
                    f"{_near(role, wf.roles)}", "cross_unit_roles")
            for role in sorted(wf.cross_unit_roles - wf.roles)
        ]  # fmt: skip
    for key, rule in wf.links.items():
        at = f"links.{key}"
        if not isinstance(rule, LinkRule):
            problems.append(Problem(f"is {type(rule).__name__}, not a LinkRule", at))
            continue
        if rule.kind != key or not _NAME.match(key):
            problems.append(Problem(f"holds a {rule.kind!r} rule under {key!r}", at))
        if wf.roles:
            problems += [
                Problem(f"role {role!r} is not one of the workflow's roles"
                        f"{_near(role, wf.roles)}", f"{at}.roles")
                for role in sorted(rule.roles - wf.roles)
            ]  # fmt: skip
        problems += _closing(wf, rule, at)
    return problems


def _closing(wf: Workflow, rule: LinkRule, at: str) -> list[Problem]:
    """``on_close`` only for a membership; ``close`` with an event of the workflow."""
    if rule.type is not LinkType.MEMBER_OF and rule.on_close is not Closing.LEAVE:
        why = f"on_close is for member_of links; a {rule.type} link has no family case"
        return [Problem(why, f"{at}.on_close")]
    event = rule.close_event
    if rule.on_close is Closing.CLOSE and event is None:
        why = "on_close: close needs close_event, the event that closes a member"
        return [Problem(why, f"{at}.close_event")]
    if rule.on_close is not Closing.CLOSE and event is not None:
        return [Problem("close_event is only for on_close: close", f"{at}.close_event")]
    events = {t.event for t in wf.transitions if isinstance(t, Transition)}
    if event is not None and event not in events:
        why = f"close_event {event!r} is not an event of the workflow{_near(event, events)}"
        return [Problem(why, f"{at}.close_event")]
    return []


_ACTIONS: Final = frozenset({"read", "record"})


def check_handovers(wf: Workflow) -> list[Problem]:
    """The handover rules: filed under their own kind, naming known roles and events."""
    problems: list[Problem] = []
    if not isinstance(wf.handovers, Mapping):
        return [Problem("must map each kind of handover to its HandoverRule", "handovers")]
    events = {t.event for t in wf.transitions if isinstance(t, Transition)}
    declared = wf.handovers is not DEFAULT_HANDOVERS
    for i, t in enumerate(wf.transitions):
        if not isinstance(t, Transition) or not isinstance(t.guard, Guard):
            continue
        problems += [
            Problem(f"{t.event}: the guard asks for an accepted {g.kind}, which the workflow"
                    " does not declare in handovers", f"transitions[{i}].guard")
            for g in walk(t.guard)
            if isinstance(g, Handed) and g.kind not in wf.handovers
        ]  # fmt: skip
    for key, rule in wf.handovers.items():
        at = f"handovers.{key}"
        if not isinstance(rule, HandoverRule):
            problems.append(Problem(f"is {type(rule).__name__}, not a HandoverRule", at))
            continue
        if str(rule.kind) != key:
            problems.append(Problem(f"holds a {rule.kind} rule under {key!r}", at))
        if not rule.send:
            problems.append(Problem(f"no role may send a {key}; name the roles in send", at))
        unknown = sorted(rule.access - _ACTIONS - events)
        problems += [
            Problem(f"access names {a!r}, which is neither read, record nor an event"
                    f"{_near(a, events | _ACTIONS)}", f"{at}.access")
            for a in unknown
        ]  # fmt: skip
        if wf.roles and declared:
            named = [("send", rule.send), ("answer", rule.answer), ("on_behalf", rule.on_behalf)]
            if rule.override is not None:
                named.append(("override", rule.override.roles))
            problems += [
                Problem(f"role {role!r} is not one of the workflow's roles"
                        f"{_near(role, wf.roles)}", f"{at}.{where}")
                for where, roles in named
                for role in sorted(roles - wf.roles)
            ]  # fmt: skip
    return problems
