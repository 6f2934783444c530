"""`model_test`: the host's own system checked against its workflow, command by command.

The workflow is the model. Each command goes to the host (through its `Host` adapter)
and to the library's engine in memory on a manual clock; their answers (allowed,
refused and for which checks, a conflict...) and what each then shows of the case
(state, revision, data) must agree. The commands come two ways: a breadth-first walk
of the model's situations, as `explore` walks them, each maximal path played on the
host with probes at every situation it passes (steps the model refuses, a stale
revision, an approval or a handover's answer by the wrong person, the case opened
twice); and hypothesis' random runs from the opening or the walk's paths, mostly steps
the model allows and some anything at all, steered to new situations and shrunk when
one fails.
A failure is cut to the shortest sequence found, saved as a JSON fixture if asked,
and raised as `HostDiverged`; `replay_fixture` plays a saved one again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from attrs import frozen
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

from .._calendar import DEFAULT_CALENDAR, Calendar
from .._case import Actor
from .._definition import Workflow
from ..exceptions import InvalidInput
from ._host import (
    FireEvent,
    Host,
    HostCommand,
    HostDiverged,
    OpenCase,
    command_json,
    read_fixture,
    write_fixture,
)
from ._host_menu import _Menu
from ._host_model import CASE, _Model, _Setup
from ._plan import _plan
from ._rules import START

__all__ = ["ModelReport", "model_test", "replay_fixture"]


@frozen
class ModelReport:
    """What a `model_test` that found nothing did.

    Attributes:
        situations: Distinct situations the walk reached on the model.
        paths: Maximal paths of the walk played on the host.
        examples: Random runs played on the host.
        commands: Commands sent to the host in all.
    """

    situations: int
    paths: int
    examples: int
    commands: int


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(name, f"must be an integer of at least {low}, got {value!r}")
    return value


def model_test(
    workflow: Workflow,
    host: Host,
    *,
    people: Sequence[Actor],
    opener: Actor | None = None,
    assignee: str | None = None,
    unit: str | None = None,
    depth: int = 6,
    examples: int = 50,
    max_steps: int = 25,
    start: datetime = START,
    calendar: Calendar = DEFAULT_CALENDAR,
    save_to: str | Path | None = None,
    hypothesis: settings | None = None,
) -> ModelReport:
    """Check the host's system against ``workflow``; raise the shortest divergence found.

    Args:
        workflow: The workflow the host runs (the model).
        host: The adapter to the host's system (see `Host`).
        people: The actors the host knows; every command is sent as one of them.
        opener: Who opens the test case (the first of ``people`` by default).
        assignee: The case's worker (by default the person who may fire the most events).
        unit: The unit that owns the case (by default the opener's, if it has one).
        depth: How many steps deep the walk goes (0: no walk).
        examples: How many random runs hypothesis plays (0: none).
        max_steps: The longest random run.
        start: The time on the host's and the model's clock when each run starts.
        calendar: The working-day calendar the host's engine uses.
        save_to: A folder to save a divergence in, as a JSON fixture for `replay_fixture`.
        hypothesis: Settings the random runs start from (``derandomize=True`` for the
            same runs every time, say); ``examples`` still sets how many.

    Raises:
        HostDiverged: with the shortest sequence found (and the fixture it was saved as).
        InvalidInput: for a host that is not a `Host`, no people, or a bad bound.
    """
    if not isinstance(host, Host):
        raise InvalidInput("host", "must have start, apply, look and stop methods")
    if not people:
        raise InvalidInput("people", "must name at least one actor the host knows")
    for name, value, low in (
        ("depth", depth, 0),
        ("examples", examples, 0),
        ("max_steps", max_steps, 1),
    ):
        _check_int(name, value, low)
    plan = _plan(workflow, ())
    menu = _Menu(workflow, plan, people)
    who = opener or people[0]
    if assignee is None:
        assignee = max(people, key=lambda p: sum(p in d for d in menu.doers.values())).id
    opening = OpenCase(
        CASE, who, assignee, unit or (next(iter(who.units)) if len(who.units) == 1 else None)
    )
    setup = _Setup(workflow, host, start, calendar)
    found, situations, leaves = _walk(setup, menu, opening, depth)
    paths, runs = len(leaves), 0
    if found is None and examples:
        starts = [(opening,), *sorted(leaves, key=len)]
        found, runs = _random(
            setup, menu, starts, examples=examples, max_steps=max_steps, parent=hypothesis
        )
    if found is None:
        return ModelReport(situations, paths, runs, setup.sent)
    found = setup.shrink(found)
    if save_to is not None:
        body = json.dumps([command_json(c) for c in found.commands], sort_keys=True)
        name = f"{workflow.name}-{hashlib.sha256(body.encode()).hexdigest()[:12]}.json"
        saved = write_fixture(Path(save_to) / name, _named(workflow), start, found)
        found = HostDiverged(found.commands, found.why, found.expected, found.got, saved)
    raise found


def _named(workflow: Workflow) -> str:
    return f"{workflow.name}@{workflow.version}"


def _walk(
    setup: _Setup, menu: _Menu, opening: OpenCase, depth: int
) -> tuple[HostDiverged | None, int, list[tuple[HostCommand, ...]]]:
    """The breadth-first walk on the model; each maximal path then played on the host."""
    if depth == 0:
        return None, 0, []
    seen, leaves = _paths(setup, menu, opening, depth)
    for leaf in sorted(leaves, key=len):
        found = setup.play(leaf)
        if found is not None:
            return found, seen, leaves
    return None, seen, leaves


def _paths(
    setup: _Setup, menu: _Menu, opening: OpenCase, depth: int
) -> tuple[int, list[tuple[HostCommand, ...]]]:
    """How many situations the model reaches within ``depth``, and the maximal paths.

    Each path takes, at every situation it reaches, the probes there too (steps the
    model answers otherwise than "allowed", which must change nothing on the host).
    """

    def probed(model: _Model) -> tuple[HostCommand, ...]:
        probes = tuple(menu.probes(model, CASE))
        for p in probes:
            model.apply(p)
        return probes

    first = setup.model()
    first.apply(opening)
    seen = {menu.key(first, CASE)}
    frontier = [((opening, *probed(first)), first)]
    leaves: list[tuple[HostCommand, ...]] = []
    for _ in range(depth):
        following: list[tuple[tuple[HostCommand, ...], _Model]] = []
        for path, model in frontier:
            grew = False
            for c in menu.fitting(model, CASE):
                after = model.fork()
                after.apply(c)
                key = menu.key(after, CASE)
                if key not in seen:
                    seen.add(key)
                    following.append(((*path, c, *probed(after)), after))
                    grew = True
            if not grew:
                leaves.append(path)
        frontier = following
    leaves += [path for path, _ in frontier]
    return len(seen), leaves


def _random(
    setup: _Setup,
    menu: _Menu,
    starts: Sequence[tuple[HostCommand, ...]],
    *,
    examples: int,
    max_steps: int,
    parent: settings | None = None,
) -> tuple[HostDiverged | None, int]:
    """Hypothesis' random runs, each from the opening or from a path the walk took.

    Mostly what the model allows, some probes, some anything at all; steered towards
    situations not seen before.
    """
    runs = 0
    seen: set[object] = set()

    @settings(
        parent,
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        nonlocal runs
        runs += 1
        setup.host.start(setup.start)
        r = setup.run()
        new = 0
        here: set[object] = set()
        try:
            for c in data.draw(st.sampled_from(starts), label="start"):
                r.step(c)
            for _ in range(data.draw(st.integers(0, max_steps), label="steps")):
                r.step(_pick(data, menu, r.model, here))
                key = menu.key(r.model, CASE)
                here.add(key)
                if key not in seen:
                    seen.add(key)
                    new += 1
        finally:
            setup.finish(r)
        target(new, label="situations not seen before")

    try:
        run()
    except HostDiverged as e:
        return e, runs
    return None, runs


_KINDS: Final = 10
"""Of ten draws: three go somewhere new, three fit, two are probes, two anything at all."""
_FRESH: Final = 3
_FITTING: Final = 6
_PROBES: Final = 8


def _pick(data: st.DataObject, menu: _Menu, model: _Model, here: set[object]) -> HostCommand:
    """One command of a random run: one that fits, a probe, or anything at all.

    A fitting command is drawn by its event (or its kind) first, then among its inputs;
    a fresh one is a fitting command that takes the case to a situation this run has not
    been in (the runs together are steered towards new ones by `hypothesis.target`).
    """
    kind = data.draw(st.integers(0, _KINDS - 1), label="kind of command")
    if kind < _PROBES:
        choices = menu.fitting(model, CASE) if kind < _FITTING else menu.probes(model, CASE)
        if kind < _FRESH:
            choices = [c for c in choices if _lands(menu, model, c) not in here] or choices
        if choices:
            groups: dict[object, list[HostCommand]] = {}
            for c in choices:
                groups.setdefault(c.event if isinstance(c, FireEvent) else type(c), []).append(c)
            group = data.draw(st.sampled_from(list(groups.values())), label="which")
            return data.draw(st.sampled_from(group), label="command")
    return menu.anything(data, model, CASE)


def _lands(menu: _Menu, model: _Model, command: HostCommand) -> object:
    """The situation ``command`` takes the model's case to (the model left as it was)."""
    after = model.fork()
    after.apply(command)
    return menu.key(after, CASE)


def replay_fixture(
    path: str | Path, workflow: Workflow, host: Host, *, calendar: Calendar = DEFAULT_CALENDAR
) -> None:
    """Play a saved divergence again on ``host``: silent once the host agrees.

    Raises:
        HostDiverged: if the host still answers otherwise than the workflow.
        InvalidInput: if the file is not a fixture, or was saved for another workflow.
    """
    named, start, commands = read_fixture(Path(path))
    if named != _named(workflow):
        raise InvalidInput("fixture", f"{path}: saved for {named}, not {_named(workflow)}")
    if not isinstance(host, Host):
        raise InvalidInput("host", "must have start, apply, look and stop methods")
    found = _Setup(workflow, host, start, calendar).play(commands)
    if found is not None:
        raise HostDiverged(found.commands, found.why, found.expected, found.got, Path(path))
