"""The static checks of link kinds: where closing a family's case would strand a member.

A membership whose kind says ``on_close: close`` closes each open member with the
kind's ``close_event``, and when a member cannot take it (no transition from where it
is, a transition that leaves it open, or one whose roles the system actor lacks) the
family's case cannot close while that member is there. The check walks every open
state (or configuration of tracks) a member may be in, guards ignored, and names each
such place; a kind that says ``leave`` is listed for a reviewer: its members outlive
their family's case.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._configurations import ConfigurationGraph
from ._definition import Workflow
from ._finding import Finding
from ._links import Closing, LinkRule, LinkType
from ._stages import COMPLETION_ACTOR

__all__ = ["link_findings"]


def _places(wf: Workflow, reached: set[str]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Each open configuration a case may reach, guards ignored, and where, in words."""
    if not wf.staged:
        for state in wf.states:
            if state.id in reached and not state.terminal:
                yield (state.id,), state.id
        return
    for configuration in sorted({node[0] for node in ConfigurationGraph(wf).reached}):
        if not wf.state(wf.tree.state_of(configuration)).terminal:
            yield configuration, ", ".join(configuration)


def _why(wf: Workflow, configuration: tuple[str, ...], event: str) -> str | None:
    """Why a member here cannot be closed by ``event`` (None: it can)."""
    candidates = wf.candidates_in(configuration, event)
    if not candidates:
        return f"takes no {event}"
    roles = COMPLETION_ACTOR.roles
    usable = [t for t in candidates if not t.roles or t.roles & roles]
    if not usable:
        return f"takes {event} only from roles the system actor ({', '.join(roles)}) lacks"
    dest = usable[0].dest or wf.tree.state_of(configuration)
    if not wf.state(dest).terminal:
        return f"takes {event} to {dest}, which is not terminal"
    return None


def _rule_findings(wf: Workflow, rule: LinkRule, reached: set[str]) -> Iterator[Finding]:
    at = f"links.{rule.kind}"
    if rule.on_close is Closing.LEAVE:
        why = (
            f"closing the family's case leaves its open {rule.kind} members of {wf.name}"
            " open, each on its own"
        )
        yield Finding("info", "member-left-open", why, at)
        return
    if rule.on_close is not Closing.CLOSE or rule.close_event is None:
        return
    for configuration, where in _places(wf, reached):
        cannot = _why(wf, configuration, rule.close_event)
        if cannot is not None:
            message = (
                f"a {rule.kind} member in {where} {cannot}: its family's case cannot close"
                " while a member is there"
            )
            yield Finding("warning", "member-orphaned", message, f"{at}.close_event")


def link_findings(wf: Workflow, reached: set[str]) -> Iterator[Finding]:
    """Every finding on the workflow's membership kinds (``member-orphaned``...).

    ``reached`` is the states a flat workflow's case may reach (a staged one's
    configurations are walked here).
    """
    for rule in wf.links.values():
        if rule.type is LinkType.MEMBER_OF:
            yield from _rule_findings(wf, rule, reached)
