"""What makes stages and tracks invalid, found when a workflow is built.

Each problem carries the path into the definition (``states[3].states[1].initial``) so a
workflow file's error names the file, line and key. The rules here make a step's
outcome a function of the configuration alone: one initial state per stage, a final
state in every track, and no event that two tracks of one parallel stage could both
take (the library refuses such a definition rather than firing both, as SCXML would,
or picking one by document order: a trail entry records one transition).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._guards import InState, walk
from ._parts import State
from ._tree import ROOT, StateTree
from .exceptions import Problem

if TYPE_CHECKING:
    from ._definition import Workflow

__all__ = ["check_stages"]


def _leaf(tree: StateTree, state: State) -> Iterator[Problem]:
    for key, value in (
        ("initial", state.initial),
        ("parallel", state.parallel),
        ("history", state.history),
        ("on_done", state.on_done),
    ):
        if value:
            yield Problem(
                f"{state.id}: {key} is for a stage, and it holds no states",
                f"{tree.paths[state.id]}.{key}",
            )


def _parallel(tree: StateTree, state: State) -> Iterator[Problem]:
    at = tree.paths[state.id]
    if state.initial is not None:
        yield Problem(
            f"{state.id}: a parallel stage starts in every track; it takes no initial",
            f"{at}.initial",
        )
    if len(state.states) < 2:  # noqa: PLR2004 - one track is not parallel
        yield Problem(f"{state.id}: a parallel stage needs two tracks or more", f"{at}.states")
    if state.history:
        yield Problem(
            f"{state.id}: a parallel stage re-enters every track; give history to a track",
            f"{at}.history",
        )
    for c in state.states:
        if not c.states or c.parallel:
            yield Problem(
                f"{state.id}: track {c.id} must be a stage holding states, with an initial",
                tree.paths[c.id],
            )


def _stage(tree: StateTree, state: State) -> Iterator[Problem]:
    at = tree.paths[state.id]
    inner = {c.id for c in state.states}
    if state.initial is None:
        yield Problem(f"{state.id}: a stage needs an initial state", f"{at}.initial")
    elif state.initial not in inner:
        yield Problem(
            f"{state.id}: initial {state.initial!r} is not one of its states"
            f" ({', '.join(sorted(inner))})",
            f"{at}.initial",
        )


def _shape(tree: StateTree, state: State) -> Iterator[Problem]:
    at = tree.paths[state.id]
    top = tree.parent(state.id) == ROOT
    if not state.states:
        yield from _leaf(tree, state)
    elif state.parallel:
        yield from _parallel(tree, state)
    else:
        yield from _stage(tree, state)
    if state.final and (top or state.states):
        why = "at the top level use terminal" if top else "a final state holds no states"
        yield Problem(f"{state.id}: final marks where a stage ends; {why}", f"{at}.final")
    if state.terminal and not top:
        yield Problem(
            f"{state.id}: terminal closes the case, so it is for top-level states; inside a"
            " stage use final",
            f"{at}.terminal",
        )


def _finals(tree: StateTree, state: State) -> Iterator[Problem]:
    """A stage that cannot be done: a track with no final state."""
    if not state.states or state.parallel:
        return
    has_final = any(c.final for c in state.states)
    parent = tree.parent(state.id)
    if not has_final and parent != ROOT and tree.is_parallel(parent):
        yield Problem(
            f"track {state.id} of {parent} has no final state, so {parent} is never done",
            tree.paths[state.id],
        )
    elif not has_final and state.on_done is not None:
        yield Problem(
            f"{state.id}: on_done is raised when the stage is done, and it has no final state",
            f"{tree.paths[state.id]}.on_done",
        )


def _sources(wf: Workflow, tree: StateTree) -> Iterator[Problem]:
    """Sources of one transition active at once, and transitions out of a final state."""
    by_id = {s.id: s for s in tree.states()}
    for i, t in enumerate(wf.transitions):
        for a in t.source:
            if by_id[a].final:
                yield Problem(
                    f"{t.event} leaves final state {a!r}; a stage's final state has no way"
                    " out (give the stage the transition)",
                    f"transitions[{i}].source",
                )
            yield from (
                Problem(
                    f"{t.event}: sources {a} and {b} can be active at once; name one",
                    f"transitions[{i}].source",
                )
                for b in t.source
                if a < b and tree.co_active(a, b)
            )


def _conflicts(wf: Workflow, tree: StateTree) -> Iterator[Problem]:
    """Events two tracks of one parallel stage could both take."""
    seen: dict[str, list[tuple[int, str]]] = {}
    for i, t in enumerate(wf.transitions):
        earlier = seen.setdefault(t.event, [])
        for src in t.source:
            for j, other in earlier:
                nested = tree.is_within(src, other) or tree.is_within(other, src)
                if not nested and tree.co_active(src, other):
                    yield Problem(
                        f"event {t.event!r} is taken in two tracks that run at once"
                        f" ({other} in transitions[{j}], {src} here): give each its own event",
                        f"transitions[{i}].event",
                    )
            earlier.append((i, src))


def _timing(tree: StateTree) -> Iterator[Problem]:
    """Deadlines that could run at once (a case keeps one clock), timers of one name."""
    states = tree.states()
    for k, b in enumerate(states):
        for a in states[:k]:
            if not tree.co_active(a.id, b.id):
                continue
            if a.deadline is not None and b.deadline is not None:
                yield Problem(
                    f"{b.id}: its deadline and that of {a.id} would run at once; a case keeps"
                    " one deadline clock, so declare it on one of them",
                    f"{tree.paths[b.id]}.deadline",
                )
            shared = {t.name for t in a.timers} & {t.name for t in b.timers}
            yield from (
                Problem(
                    f"{b.id}: timer {name!r} is also a timer of {a.id}, which is active at the"
                    " same time; name them apart",
                    f"{tree.paths[b.id]}.timers",
                )
                for name in sorted(shared)
            )


def _done_events(wf: Workflow, tree: StateTree) -> Iterator[Problem]:
    events = {t.event for t in wf.transitions}
    for state in tree.states():
        if state.on_done is None:
            continue
        at = f"{tree.paths[state.id]}.on_done"
        if state.on_done not in events:
            yield Problem(
                f"{state.id}: on_done raises {state.on_done!r}, which no transition has", at
            )
        if any(t.approval is not None for t in wf.transitions if t.event == state.on_done):
            yield Problem(
                f"{state.id}: on_done raises {state.on_done!r}, whose transitions wait for an"
                " approval; a completion happens at once, so ask for the approval after it",
                at,
            )


def _guard_states(wf: Workflow, tree: StateTree) -> Iterator[Problem]:
    """``in_state`` guards naming no state of the workflow."""
    known = {s.id for s in tree.states()}
    guarded = [(f"transitions[{i}].guard", t.guard) for i, t in enumerate(wf.transitions)]
    guarded += [(f"handovers.{k}.guard", r.guard) for k, r in wf.handovers.items()]
    for at, guard in guarded:
        for g in walk(guard):
            if isinstance(g, InState) and g.state not in known:
                close = difflib.get_close_matches(g.state, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                yield Problem(f"the guard asks for state {g.state!r}, which it lacks{hint}", at)


def check_stages(wf: Workflow, tree: StateTree) -> list[Problem]:
    """Every problem of the workflow's stages and tracks, and of guards naming states."""
    problems = list(_guard_states(wf, tree))
    if not tree.staged:
        return problems
    for state in tree.states():
        problems += _shape(tree, state)
        problems += _finals(tree, state)
    if tree.parent(wf.initial) != ROOT:
        problems.append(
            Problem(
                f"initial state {wf.initial!r} is inside a stage; start in a top-level state",
                "initial",
            )
        )
    problems += _sources(wf, tree)
    problems += _conflicts(wf, tree)
    problems += _timing(tree)
    problems += _done_events(wf, tree)
    return problems
