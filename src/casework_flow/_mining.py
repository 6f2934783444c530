"""Event logs for process mining: XES (IEEE 1849) and OCEL 2.0 JSON, written case by case.

Analysts read case systems' logs with pm4py, ProM, Disco or Celonis to see the process as
it is actually run and to compare it with the declared workflow. Both writers take trails
one case at a time (`stored_trails` streams a whole store page by page), so memory stays
flat however many cases there are: XES is written straight through, OCEL's events wait
in a temporary file while its objects are written, and only the names of workers and
attributes are kept.

Each trail is folded with `evolve`, the function the engine commits with, so what a log
says of a case's state, assignee, unit and data after each step is what the case was.
Personal fields are masked (``***``) unless the caller asks for them and may read them;
free-text reasons are left out (they are for the case file, not for statistics).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import IO, Any, Final

import attrs

from ._audit import AuditEntry, EntryKind
from ._calendar import DEFAULT_CALENDAR, Calendar
from ._case import MASK, Actor, Case
from ._catalog import Catalog
from ._definition import Workflow
from ._evolve import evolve
from ._keys import KeyStore
from ._privacy import may_see_personal
from ._sealing import Sealing
from .exceptions import InvalidInput
from .stores import Store
from .stores._protocol import every_stored

__all__ = ["DEFAULT_KINDS", "activity", "export_ocel", "export_xes", "stored_trails"]

DEFAULT_KINDS: Final = frozenset({EntryKind.TRANSITION})
"""The entries a log holds unless told otherwise: the transitions, fired by people or timers."""

WORKER: Final = "worker"
"""The OCEL object type of the people (and the timer runner) who acted."""

OUTSIDE: Final = "case outside the export"
"""The OCEL object type of a linked case whose trail the export did not hold.

Every relationship in an OCEL log must name one of its objects; a case linked to one
left out of the export (another workflow, another store, a subset) relates to an
object of this type, with the id and no attributes.
"""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def activity(entry: AuditEntry) -> str:
    """The activity an entry is in a log: a transition's event, else its kind and event.

    ``refer`` for the transition, ``opened open`` for the opening, ``refused refer`` for
    a refusal, ``approval_requested refer`` for a request waiting on an approver.
    """
    if entry.kind is EntryKind.TRANSITION:
        return entry.event
    return f"{entry.kind.value} {entry.event}"


@attrs.frozen
class _Step:
    entry: AuditEntry
    before: Case | None
    after: Case


class _Log:
    """What both formats share: the catalog, the entries wanted, and how to mask."""

    def __init__(
        self,
        workflows: Iterable[Workflow] | Catalog,
        kinds: Collection[EntryKind],
        reader: Actor | None,
        keys: KeyStore | None,
        calendar: Calendar | None,
        *,
        include_personal: bool,
    ) -> None:
        if isinstance(workflows, Catalog):
            self.catalog = workflows
        else:
            self.catalog = Catalog(workflows, calendar=calendar or DEFAULT_CALENDAR)
        self.kinds = frozenset(EntryKind(k) for k in kinds)
        if not self.kinds:
            raise InvalidInput("kinds", "name at least one kind of entry to export")
        self.reader = reader
        self.keys = keys
        self.include_personal = include_personal

    def hidden(self, case: Case) -> frozenset[str]:
        """The fields masked in this case's events: its personal ones, unless shown."""
        return self._hidden(self.catalog.workflow(case.workflow, case.version))

    def _hidden(self, wf: Workflow) -> frozenset[str]:
        if self.include_personal and (self.reader is None or may_see_personal(wf, self.reader)):
            return frozenset()
        return wf.personal

    def steps(self, trail: Sequence[AuditEntry]) -> Iterator[_Step]:
        """The trail folded: each entry with the case before and after it.

        Sealed values are opened first when they are to be shown: the last entry names
        the workflow version the case ends in, whose personal fields are masked or not.
        """
        if not trail:
            return
        case: Case | None = None
        shown: Sequence[AuditEntry] = trail
        last = trail[-1]
        if self.keys is not None and self.include_personal:
            wf = self.catalog.workflow(last.workflow, last.workflow_version)
            if wf.personal and not self._hidden(wf):
                sealing = Sealing(wf.personal, {last.case_id: self.keys.data_key(last.case_id)})
                shown = [sealing.open_entry(e) for e in trail]
        for entry in shown:
            after = evolve(case, entry, catalog=self.catalog)
            yield _Step(entry, case, after)
            case = after

    def wanted(self, entry: AuditEntry) -> bool:
        return entry.kind in self.kinds


def _value(value: object, field: str, hidden: frozenset[str]) -> object:
    if field in hidden:
        return MASK
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


_ATTR: Final = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _quoted(text: str) -> str:
    """``text`` as an XML attribute value in double quotes; characters XML forbids replaced."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
    return '"' + text.translate(_ATTR) + '"'


def _xes_attribute(key: str, value: object) -> str:
    if isinstance(value, bool):
        tag, text = "boolean", "true" if value else "false"
    elif isinstance(value, int):
        tag, text = "int", str(value)
    elif isinstance(value, float):
        tag, text = "float", repr(value)
    else:
        tag, text = "string", "" if value is None else str(value)
    return f"<{tag} key={_quoted(key)} value={_quoted(text)}/>"


_XES_HEAD: Final = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
<global scope="event"><string key="concept:name" value="__INVALID__"/>\
<date key="time:timestamp" value="1970-01-01T00:00:00+00:00"/>\
<string key="lifecycle:transition" value="complete"/></global>
<classifier name="Activity" keys="concept:name"/>
<string key="concept:name" value="casework_flow"/>
"""


def _event_facts(step: _Step, hidden: frozenset[str]) -> dict[str, object]:
    entry = step.entry
    facts: dict[str, object] = {
        "casework:seq": entry.seq,
        "casework:kind": entry.kind.value,
        "casework:event": entry.event,
        "casework:from_state": entry.from_state,
        "casework:to_state": entry.to_state,
        "casework:state": step.after.state,
    }
    if entry.timer:
        facts["casework:timer"] = entry.timer
    if entry.reason_code:
        facts["casework:reason_code"] = entry.reason_code
    if step.after.assignee:
        facts["casework:assignee"] = step.after.assignee
    if step.after.unit:
        facts["casework:unit"] = step.after.unit
    for change in entry.changes:
        facts[f"data:{change.field}"] = _value(change.after, change.field, hidden)
    return {k: v for k, v in facts.items() if v is not None}


def export_xes(
    trails: Iterable[Sequence[AuditEntry]],
    out: IO[str],
    *,
    workflows: Iterable[Workflow] | Catalog,
    kinds: Collection[EntryKind] = DEFAULT_KINDS,
    reader: Actor | None = None,
    include_personal: bool = False,
    keys: KeyStore | None = None,
    calendar: Calendar | None = None,
) -> int:
    """Write an XES event log (IEEE 1849-2016): one trace per case; return the events.

    Each event carries the activity (``concept:name``, see `activity`), its time, the
    actor (``org:resource``, with their roles as ``org:role``) and ``casework:``
    attributes: the entry's sequence number, kind, states, timer and reason code, the
    case's assignee and unit after it, and each data field it changed (``data:FIELD``).
    A trace holds the case id, workflow and version and the data the case was opened
    with; a case with no wanted entry is still written, as an empty trace.

    Args:
        trails: The cases' trails, oldest entry first, one case at a time.
        out: A text stream.
        workflows: Every workflow version the trails ran on (or the engine's catalog).
        kinds: The kinds of entry written as events (transitions by default).
        reader: Who the export is for; with ``include_personal``, personal values are
            written only for workflows whose personal fields this actor may read.
        include_personal: Write personal values instead of ``***``.
        keys: The engine's key store, to open sealed personal values being written.
        calendar: The engine's calendar, when the workflows count working days.

    Raises:
        ReplayError: if a trail runs on a version not given, or does not fit it.
    """
    log = _Log(workflows, kinds, reader, keys, calendar, include_personal=include_personal)
    out.write(_XES_HEAD)
    written = 0
    for trail in trails:
        steps = list(log.steps(trail))
        if not steps:
            continue
        first = steps[0].after
        out.write("<trace>")
        out.write(_xes_attribute("concept:name", first.id))
        out.write(_xes_attribute("casework:workflow", first.workflow))
        out.write(_xes_attribute("casework:version", first.version))
        opening = log.hidden(first)
        for field, value in sorted(first.data.items()):
            out.write(_xes_attribute(f"data:{field}", _value(value, field, opening)))
        out.write("\n")
        for step in steps:
            if not log.wanted(step.entry):
                continue
            entry = step.entry
            parts = [
                _xes_attribute("concept:name", activity(entry)),
                f'<date key="time:timestamp" value="{entry.at.isoformat()}"/>',
                _xes_attribute("lifecycle:transition", "complete"),
                _xes_attribute("org:resource", entry.actor_id),
            ]
            if entry.actor_roles:
                parts.append(_xes_attribute("org:role", ",".join(entry.actor_roles)))
            facts = _event_facts(step, log.hidden(step.after))
            parts.extend(_xes_attribute(k, v) for k, v in facts.items())
            out.write("<event>" + "".join(parts) + "</event>\n")
            written += 1
        out.write("</trace>\n")
    out.write("</log>\n")
    return written


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _ocel_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string"


class _Types:
    """The attribute names (and their types) seen per object and event type."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, str]] = {}

    def note(self, kind: str, name: str, value: object) -> None:
        names = self.seen.setdefault(kind, {})
        known = names.get(name)
        found = _ocel_type(value)
        names[name] = found if known in {None, found} else "string"

    def declared(self) -> list[dict[str, Any]]:
        return [
            {"name": kind, "attributes": [{"name": n, "type": t} for n, t in sorted(names.items())]}
            for kind, names in sorted(self.seen.items())
        ]


def _object_changes(step: _Step, hidden: frozenset[str]) -> Iterator[tuple[str, object]]:
    before, after = step.before, step.after
    tracked: tuple[tuple[str, Callable[[Case], object]], ...] = (
        ("state", lambda c: c.state),
        ("version", lambda c: c.version),
        ("assignee", lambda c: c.assignee),
        ("unit", lambda c: c.unit),
    )
    for name, read in tracked:
        value = read(after)
        if value is not None and (before is None or read(before) != value):
            yield name, value
    for change in step.entry.changes:
        if change.field in after.data:
            yield change.field, _value(after.data[change.field], change.field, hidden)


def _links(entry: AuditEntry) -> list[dict[str, str]]:
    if entry.kind is EntryKind.LINKED and entry.details.get("other"):
        kind = entry.details.get("link_kind", "linked")
        return [{"objectId": entry.details["other"], "qualifier": kind}]
    return []


class _Ocel:
    """An OCEL log being written: objects straight out, events spooled until the end."""

    def __init__(self, log: _Log, out: IO[str], spool: IO[str], ids: IO[str]) -> None:
        self.log, self.out, self.spool, self.ids = log, out, spool, ids
        self.objects, self.events = _Types(), _Types()
        self.workers: dict[str, tuple[tuple[str, ...], str]] = {}
        self.linked: set[str] = set()
        self.written = 0
        self.first_object = True

    def _object(self, obj: dict[str, Any]) -> None:
        self.out.write(("" if self.first_object else ",") + _dumps(obj) + "\n")
        self.first_object = False

    def _event(self, step: _Step, case_id: str, hidden: frozenset[str]) -> None:
        facts = _event_facts(step, hidden)
        kind = activity(step.entry)
        for name, value in facts.items():
            self.events.note(kind, name, value)
        event = {
            "id": f"{case_id}#{step.entry.seq}",
            "type": kind,
            "time": step.entry.at.isoformat(),
            "attributes": [{"name": k, "value": v} for k, v in facts.items()],
            "relationships": [
                {"objectId": case_id, "qualifier": "case"},
                {"objectId": step.entry.actor_id, "qualifier": "actor"},
                *_links(step.entry),
            ],
        }
        self.spool.write(("," if self.written else "") + _dumps(event) + "\n")
        self.written += 1

    def case(self, steps: Sequence[_Step]) -> None:
        case = steps[-1].after
        values: list[dict[str, Any]] = []
        related: list[dict[str, str]] = []
        for step in steps:
            at = step.entry.at.isoformat()
            hidden = self.log.hidden(step.after)
            for name, value in _object_changes(step, hidden):
                self.objects.note(case.workflow, name, value)
                values.append({"name": name, "time": at, "value": value})
            related.extend(_links(step.entry))
            seen = self.workers.get(step.entry.actor_id)
            if seen is None or seen[1] <= at:
                self.workers[step.entry.actor_id] = (step.entry.actor_roles, at)
            if self.log.wanted(step.entry):
                self._event(step, case.id, hidden)
        self.objects.seen.setdefault(case.workflow, {})
        obj: dict[str, Any] = {"id": case.id, "type": case.workflow, "attributes": values}
        if related:
            obj["relationships"] = related
            self.linked.update(r["objectId"] for r in related)
        self._object(obj)
        self.ids.write(case.id + "\n")

    def _outside(self) -> list[str]:
        """The linked cases not written: found in the spool of written ids, not kept in memory."""
        missing = set(self.linked)
        self.ids.seek(0)
        for line in self.ids:
            missing.discard(line.rstrip("\n"))
        return sorted(missing)

    def finish(self) -> None:
        for other in self._outside():
            self.objects.seen.setdefault(OUTSIDE, {})
            self._object({"id": other, "type": OUTSIDE, "attributes": []})
        for worker, (roles, last) in sorted(self.workers.items()):
            self.objects.note(WORKER, "roles", "")
            value = {"name": "roles", "time": last, "value": ",".join(roles)}
            self._object({"id": worker, "type": WORKER, "attributes": [value]})
        self.out.write('],"events":[')
        self.spool.seek(0)
        while chunk := self.spool.read(1 << 16):
            self.out.write(chunk)
        self.out.write('],"objectTypes":' + _dumps(self.objects.declared()))
        self.out.write(',"eventTypes":' + _dumps(self.events.declared()) + "}\n")


def export_ocel(
    trails: Iterable[Sequence[AuditEntry]],
    out: IO[str],
    *,
    workflows: Iterable[Workflow] | Catalog,
    kinds: Collection[EntryKind] = DEFAULT_KINDS,
    reader: Actor | None = None,
    include_personal: bool = False,
    keys: KeyStore | None = None,
    calendar: Calendar | None = None,
) -> int:
    """Write an OCEL 2.0 JSON log; return the events written. Options as `export_xes`.

    Objects are the cases (their type is their workflow's name) and the workers who
    acted (type ``worker``, with the roles they last acted with). A case's attributes
    change over time: its state, version, assignee, unit and each data field, each value
    timed by the entry that set it. A linked case is a relationship of the case object,
    qualified by the link's kind. Each event relates to its case (``case``), its actor
    (``actor``) and, for a link, the other case. A linked case whose trail is not among
    ``trails`` is an object of type ``"case outside the export"`` with no attributes,
    so no relationship dangles.
    """
    log = _Log(workflows, kinds, reader, keys, calendar, include_personal=include_personal)
    out.write('{"objects":[')
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as spool,
        tempfile.TemporaryFile("w+", encoding="utf-8") as ids,
    ):
        writer = _Ocel(log, out, spool, ids)
        for trail in trails:
            steps = list(log.steps(trail))
            if steps:
                writer.case(steps)
        writer.finish()
    return writer.written


def stored_trails(store: Store, *, page: int = 500) -> Iterator[Sequence[AuditEntry]]:
    """Every case's trail in a store, in case id order, ``page`` cases read at a time.

    Raises:
        StoreError: naming the case whose row or trail cannot be read.
    """
    for stored in every_stored(store, page=page):
        if stored.problem is not None:
            raise stored.problem
        yield stored.trail
