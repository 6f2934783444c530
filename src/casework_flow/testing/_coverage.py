"""What a set of trails covered of a workflow: states, transitions, guards, pairs, time.

Each kit run (`explore`, `check_rules`, `workflow_machine`) hands its trails to every
`recording` open at the time, and `coverage_of(workflow, trails)` reads any trails: a
store's, a test's own. It counts, against what the workflow declares:

- *states*: each state, stage and track a case was in;
- *transitions*: each declared transition taken (the first candidate whose guard held,
  as the engine picks);
- *guards*: each part of each transition's guard seen both holding and failing, when
  its event was tried;
- *pairs*: each pair of transitions taken one right after the other, among the pairs
  the workflow allows (the second leaves from where the first leads);
- *timers*: each timer fired; *deadlines*: each deadline seen both met and missed;
- *requirements*: each requirement id a property carries, exercised when the property's
  trigger happened on some trail (the ``p`` of an existence, a precedence or a response;
  an absence or a universality is exercised by every trail it is about).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from attrs import field, frozen

from .._audit import AuditEntry, EntryKind
from .._case import Actor
from .._definition import Workflow
from .._file_writers import workflow_to_dict
from .._frozen import FrozenMap
from .._guard_base import ALWAYS, Guard, GuardContext
from .._history import History
from .._parts import Transition
from ..exceptions import InvalidInput, ReplayError
from ._folds import _folded
from ._kit import _active
from ._propositions import Moment
from ._rules import _context
from ._temporal import Property

__all__ = ["KINDS", "Coverage", "CoverageItem", "Recorder", "coverage_of", "recording"]

KINDS: Final = ("states", "transitions", "guards", "pairs", "timers", "deadlines", "requirements")
_FORBIDS: Final = ("absence", "universality")
"""Patterns every trail they are about exercises; the others need their trigger."""
_TRIED: Final = frozenset(
    {EntryKind.TRANSITION, EntryKind.RECORDED, EntryKind.REFUSED, EntryKind.APPROVAL_REQUESTED}
)


@frozen
class CoverageItem:
    """One thing to cover: its kind, its name, whether it was covered and what was seen."""

    kind: str
    name: str
    covered: bool
    seen: str = ""


@frozen
class Coverage:
    """What ``trails`` trails covered of ``workflow`` (``name@version``)."""

    workflow: str
    trails: int
    items: tuple[CoverageItem, ...] = field(repr=False)
    fingerprint: str = ""
    """A digest of the workflow's definition, so two of one name and version never mix."""

    def of(self, kind: str) -> tuple[CoverageItem, ...]:
        """The items of one kind (see `KINDS`)."""
        return tuple(i for i in self.items if i.kind == kind)

    def ratio(self, kind: str | None = None) -> float:
        """The share covered, 0 to 1, of one kind or of all (1.0 when there is nothing)."""
        items = self.items if kind is None else self.of(kind)
        return sum(i.covered for i in items) / len(items) if items else 1.0

    @property
    def percent(self) -> float:
        """The share of every item covered, in percent."""
        return 100 * self.ratio()

    def missing(self, kind: str | None = None) -> tuple[CoverageItem, ...]:
        """What was not covered, of one kind or of all."""
        items = self.items if kind is None else self.of(kind)
        return tuple(i for i in items if not i.covered)

    def _tally(self) -> Iterator[tuple[str, int, int]]:
        """Each kind with items: its name, how many were covered, how many there are."""
        for kind in KINDS:
            items = self.of(kind)
            if items:
                yield kind, sum(i.covered for i in items), len(items)

    def text(self, *, missing: bool = True) -> str:
        """The report for a terminal: a line per kind, then what was not covered."""
        lines = [f"coverage of {self.workflow} by {self.trails:,} trails: {self.percent:.1f}%"]
        for kind, done, of in self._tally():
            lines.append(f"  {kind:13}{done:>5}/{of:<5}{100 * done / of:6.1f}%")
        if missing and self.missing():
            lines.append("not covered:")
            lines += [
                f"  {i.kind[:-1]} {i.name}" + (f" ({i.seen})" if i.seen else "")
                for i in self.missing()
            ]
        return "\n".join(lines)

    def markdown(self, *, missing: bool = True) -> str:
        """The report as Markdown: a table of the kinds, then what was not covered."""
        lines = [
            f"Coverage of `{self.workflow}` by {self.trails:,} trails: **{self.percent:.1f}%**",
            "",
            "| kind | covered | of | share |",
            "|---|---:|---:|---:|",
        ]
        for kind, done, of in self._tally():
            lines.append(f"| {kind} | {done} | {of} | {100 * done / of:.1f}% |")
        if missing and self.missing():
            lines += ["", "Not covered:", ""]
            lines += [
                f"- {i.kind[:-1]} `{i.name}`" + (f" ({i.seen})" if i.seen else "")
                for i in self.missing()
            ]
        return "\n".join(lines)

    def html(self) -> str:
        """The report as a self-contained HTML page: a table per kind, each item marked."""
        esc = html.escape
        parts = [
            "<!doctype html><html lang=en><head><meta charset=utf-8>",
            f"<title>Coverage of {esc(self.workflow)}</title><style>",
            "body{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}",
            "td,th{padding:.2em .6em;text-align:left;border-bottom:1px solid #ddd}",
            ".no{color:#a00}.yes{color:#070}</style></head><body>",
            f"<h1>Coverage of {esc(self.workflow)}</h1>",
            f"<p>{self.trails:,} trails: <strong>{self.percent:.1f}%</strong> covered.</p>",
        ]
        for kind in KINDS:
            items = self.of(kind)
            if not items:
                continue
            parts.append(f"<h2>{kind.capitalize()}: {100 * self.ratio(kind):.1f}%</h2><table>")
            parts.append("<tr><th>item</th><th>covered</th><th>seen</th></tr>")
            for i in items:
                mark = '<td class="yes">yes</td>' if i.covered else '<td class="no">no</td>'
                parts.append(f"<tr><td>{esc(i.name)}</td>{mark}<td>{esc(i.seen)}</td></tr>")
            parts.append("</table>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def to_dict(self) -> dict[str, object]:
        """The coverage as plain data (JSON), to merge with another process's."""
        return {
            "workflow": self.workflow,
            "trails": self.trails,
            "items": [[i.kind, i.name, i.covered, i.seen] for i in self.items],
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Coverage:
        """A coverage read back from `to_dict`'s data."""
        items = tuple(CoverageItem(k, n, bool(c), s) for k, n, c, s in raw["items"])
        return cls(str(raw["workflow"]), int(raw["trails"]), items, str(raw.get("fingerprint", "")))

    def __or__(self, other: Coverage) -> Coverage:
        """Both coverages of one workflow together (two test processes, two runs)."""
        if (other.workflow, other.fingerprint) != (self.workflow, self.fingerprint):
            raise InvalidInput("other", f"is coverage of another {other.workflow}, not this one")
        theirs = {(i.kind, i.name): i for i in other.items}
        items = [_joined(i, theirs.get((i.kind, i.name))) for i in self.items]
        return Coverage(self.workflow, self.trails + other.trails, tuple(items), self.fingerprint)

    def __str__(self) -> str:
        return self.text()


def _joined(mine: CoverageItem, theirs: CoverageItem | None) -> CoverageItem:
    """An item covered by either, or a guard one saw holding and the other failing."""
    if theirs is None or mine.covered:
        return mine
    if theirs.covered or {mine.seen, theirs.seen} == {"only held", "only failed"}:
        return CoverageItem(mine.kind, mine.name, covered=True)
    return mine if mine.seen != "never tried" else theirs


def _label(t: Transition) -> str:
    dest = t.dest if t.dest is not None else "(stays)"
    return f"{t.event}: {'|'.join(t.source)} -> {dest}"


class _Seen:
    """What the trails showed, entry by entry (each shared beginning read once)."""

    def __init__(self, workflow: Workflow, properties: Sequence[Property]) -> None:
        self.workflow = workflow
        self.properties = properties
        self.took: dict[str, int | None] = {}
        self.states: set[str] = set()
        self.taken: set[int] = set()
        self.outcomes: dict[tuple[int, int], set[bool]] = {}
        self.pairs: set[tuple[int, int]] = set()
        self.timers: set[str] = set()
        self.deadlines: set[tuple[str, str]] = set()
        self.triggered: set[int] = set()
        self.index = {id(t): n for n, t in enumerate(workflow.transitions)}

    def trail(self, trail: Sequence[AuditEntry]) -> None:
        last: int | None = None
        for i, entry in enumerate(trail):
            if entry.hash in self.took:
                taken = self.took[entry.hash]
            else:
                taken = self.took[entry.hash] = self._entry(trail, i)
            if taken is not None:
                if last is not None:
                    self.pairs.add((last, taken))
                last = taken

    def _entry(self, trail: Sequence[AuditEntry], i: int) -> int | None:
        entry = trail[i]
        self.states |= _active(entry)
        if entry.timer is not None and entry.kind is not EntryKind.REFUSED:
            self.timers.add(entry.timer)
        met = entry.details.get("deadline_met")
        if met is not None:
            self.deadlines.add((str(entry.details.get("deadline")), str(met)))
        for n, prop in enumerate(self.properties):
            if n in self.triggered or not prop.applies(trail):
                continue
            if prop.pattern.kind in _FORBIDS or prop.pattern.p.at(Moment(self.workflow, trail, i)):
                self.triggered.add(n)
        self._standing(trail, i)
        if entry.kind not in _TRIED or i == 0:
            return None
        taken = self._pick(trail, i)
        return taken if entry.kind in (EntryKind.TRANSITION, EntryKind.RECORDED) else None

    def _test(self, n: int, t: Transition, ctx: GuardContext) -> bool:
        """Whether ``t``'s guard holds in ``ctx``, noting each part's outcome."""
        held = True
        for k, part in enumerate(t.conjuncts if t.guard is not ALWAYS else ()):
            ok = _outcome(part, ctx)
            if ok is None:
                continue
            held = held and ok
            self.outcomes.setdefault((n, k), set()).add(ok)
        return held

    def _standing(self, trail: Sequence[AuditEntry], i: int) -> None:
        """Test the guards of every transition out of where the entry left the case.

        As `explore` does, which tries each event in every situation it reaches and
        keeps only the steps that commit: a guard that blocks leaves no entry.
        """
        case = _folded(self.workflow, trail[: i + 1])
        entry = trail[i]
        actor = Actor(entry.actor_id, entry.actor_roles)
        history = History(tuple(trail[: i + 1]))
        active = self.workflow.tree.active(case.configuration) if self.workflow.staged else None
        for event in self.workflow.events:
            ctx = GuardContext(
                case=case, actor=actor, event=event, payload=FrozenMap(),
                evidence=FrozenMap(), now=entry.at, reason_code=None, history=history,
                active=active,
            )  # fmt: skip
            for t in self.workflow.candidates_in(case.configuration, event):
                self._test(self.index[id(t)], t, ctx)

    def _pick(self, trail: Sequence[AuditEntry], i: int) -> int | None:
        """The transition the step at ``i`` took (None: none), noting guard outcomes."""
        ctx = _context(self.workflow, trail[: i + 1])
        taken: int | None = None
        for t in self.workflow.candidates_in(ctx.case.configuration, trail[i].event):
            n = self.index[id(t)]
            if self._test(n, t, ctx) and taken is None:
                taken = n
        if taken is not None and trail[i].kind is not EntryKind.REFUSED:
            self.taken.add(taken)
            return taken
        return None


def _outcome(part: Guard, ctx: GuardContext) -> bool | None:
    """Whether ``part`` holds in ``ctx``; None for a host check the kit cannot call."""
    try:
        return part.test(ctx)[0]
    except Exception:  # noqa: BLE001 - any error of a host's function
        return None


_WORDS: Final = {
    frozenset(): "never tried",
    frozenset({True}): "only held",
    frozenset({False}): "only failed",
}


def _items(seen: _Seen) -> list[CoverageItem]:
    wf = seen.workflow
    items = [CoverageItem("states", s.id, s.id in seen.states) for s in wf.all_states]
    ts = wf.transitions
    items += [CoverageItem("transitions", _label(t), n in seen.taken) for n, t in enumerate(ts)]
    for n, t in enumerate(ts):
        for k, part in enumerate(t.conjuncts if t.guard is not ALWAYS else ()):
            got = frozenset(seen.outcomes.get((n, k), ()))
            both = got == {True, False}
            items.append(
                CoverageItem("guards", f"{_label(t)}: {part.text}", both, _WORDS.get(got, ""))
            )
    return items + _pairs(seen) + _time(seen) + _requirements(seen)


def _pairs(seen: _Seen) -> list[CoverageItem]:
    wf, ts, items = seen.workflow, seen.workflow.transitions, []
    for a, first in enumerate(ts):
        after = {first.dest} if first.dest is not None else set(first.source)
        reach = after | {p for s in after for p in wf.tree.ancestors(s)}
        for b, then in enumerate(ts):
            if reach & set(then.source):
                name = f"{_label(first)} then {_label(then)}"
                items.append(CoverageItem("pairs", name, (a, b) in seen.pairs))
    return items


def _time(seen: _Seen) -> list[CoverageItem]:
    items = []
    for s in seen.workflow.all_states:
        items += [
            CoverageItem("timers", f"{s.id}: {t.name}", t.name in seen.timers) for t in s.timers
        ]
        if s.deadline is not None:
            for outcome, word in (("yes", "met"), ("no", "missed")):
                got = (s.id, outcome) in seen.deadlines
                items.append(CoverageItem("deadlines", f"{s.id}: {word}", got))
    return items


def _requirements(seen: _Seen) -> list[CoverageItem]:
    ids: dict[str, bool] = {}
    for n, prop in enumerate(seen.properties):
        for rid in prop.requirements:
            ids[rid] = ids.get(rid, False) or n in seen.triggered
    return [CoverageItem("requirements", rid, ok) for rid, ok in ids.items()]


def coverage_of(
    workflow: Workflow,
    trails: Iterable[Sequence[AuditEntry]],
    *,
    properties: Iterable[Property] = (),
) -> Coverage:
    """What ``trails`` (of ``workflow``) covered; ``properties`` bring requirement ids."""
    seen = _Seen(workflow, tuple(p for p in properties if isinstance(p, Property)))
    count = 0
    for trail in trails:
        if trail and trail[0].workflow == workflow.name:
            try:
                seen.trail(trail)
            except ReplayError:
                continue  # a trail of another workflow of the same name
            count += 1
    name = f"{workflow.name}@{workflow.version}"
    return Coverage(name, count, tuple(_items(seen)), fingerprint(workflow))


def fingerprint(workflow: Workflow) -> str:
    """A short digest of the definition (its file form; its identity if it has none)."""
    try:
        text = json.dumps(workflow_to_dict(workflow), sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = f"{workflow.name}@{workflow.version}#{id(workflow)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Group:
    """The trails and properties of the kit runs of one test, for one workflow."""

    def __init__(self) -> None:
        self.trails: dict[str, tuple[AuditEntry, ...]] = {}
        self.properties: dict[int, Property] = {}


class Recorder:
    """The trails kit runs made while it was open, by workflow and by test.

    ``test`` names the test running now (the pytest plugin sets it to the test's id);
    each run's trails and the rules it checked are kept under it, so `exercised` can
    say which tests exercised which requirement.
    """

    def __init__(self) -> None:
        self.test: str | None = None
        self.workflows: dict[str, Workflow] = {}
        self.groups: dict[str, dict[str | None, _Group]] = {}
        self._keys: dict[int, tuple[Workflow, str]] = {}

    def _key(self, workflow: Workflow) -> str:
        """``name@version#fingerprint``: workflows of one name and version kept apart."""
        known = self._keys.get(id(workflow))
        if known is None or known[0] is not workflow:
            key = f"{workflow.name}@{workflow.version}#{fingerprint(workflow)}"
            known = self._keys[id(workflow)] = (workflow, key)
        return known[1]

    def add(
        self, workflow: Workflow, trails: Iterable[Sequence[AuditEntry]], rules: Iterable[object]
    ) -> None:
        """Keep ``trails`` (by their last entry: a trail kept covers its beginnings)."""
        key = self._key(workflow)
        self.workflows.setdefault(key, workflow)
        group = self.groups.setdefault(key, {}).setdefault(self.test, _Group())
        for trail in trails:
            if trail:
                group.trails[trail[-1].hash] = tuple(trail)
        group.properties.update({id(r): r for r in rules if isinstance(r, Property)})

    def coverage(self) -> list[Coverage]:
        """The coverage of each workflow recorded, by every test together."""
        out = []
        for key, wf in self.workflows.items():
            trails: dict[str, tuple[AuditEntry, ...]] = {}
            props: dict[int, Property] = {}
            for group in self.groups[key].values():
                trails |= group.trails
                props |= group.properties
            out.append(coverage_of(wf, trails.values(), properties=props.values()))
        return out

    def exercised(self) -> dict[str, dict[str, list[str]]]:
        """By workflow (``name@version``), each requirement id and the tests that exercised it.

        A test exercised a requirement when a property carrying its id was checked in
        one of the test's kit runs and triggered on one of its trails; runs outside any
        test count under ``(no test)``.
        """
        out: dict[str, dict[str, list[str]]] = {}
        for key, wf in self.workflows.items():
            found = out.setdefault(key.partition("#")[0], {})
            for test, group in self.groups[key].items():
                if not group.properties:
                    continue
                c = coverage_of(wf, group.trails.values(), properties=group.properties.values())
                for item in c.of("requirements"):
                    tests = found.setdefault(item.name, []) if item.covered else []
                    if item.covered and (test or "(no test)") not in tests:
                        tests.append(test or "(no test)")
        return out


_OPEN: list[Recorder] = []


def _recording() -> bool:
    """Whether any recording is open (the tools keep more of their trails then)."""
    return bool(_OPEN)


def _record(
    workflow: Workflow, trails: Iterable[Sequence[AuditEntry]], rules: Iterable[object]
) -> None:
    """Hand a kit run's trails to every open recording (nothing when none is open)."""
    if _OPEN:
        kept = [tuple(t) for t in trails]
        listed = list(rules)
        for rec in _OPEN:
            rec.add(workflow, kept, listed)


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Record the trails of every kit run inside the block, for `Recorder.coverage`."""
    rec = Recorder()
    _OPEN.append(rec)
    try:
        yield rec
    finally:
        _OPEN.remove(rec)
