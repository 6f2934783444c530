"""Guards as plain data, for workflow files: the same vocabulary as the Python guards.

Nothing is ever evaluated from a string. A guard is a mapping with one key that names its
kind, and the fields that kind takes::

    {fact: age, op: "<", value: 18}              {evidence: assessment_report}
    {fact: outcome, op: in, value: [a, b]}       {evidence: [referral_letter, health_certificate]}
    {fact: family_contact_person, op: present}   {consent: shelter_referral}
    {count: record_contact_attempt, op: ">=", value: 3}
    {span: record_contact_attempt, op: ">=", value: P7D}
    {time_in_state: true, op: ">=", value: P14D} {time_since_opened: true, op: ">", value: PT24H}
    {not_actor_of: handover_done}                {not_assignee: true}
    {check: bed_available}                       (a function the host registers by name)
    {all: [...]}   {any: [...]}   {not: {...}}   {always: true}

Durations are ISO 8601 (``P14D``, ``PT24H``, ``P2W``, ``P1DT12H``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Final

from ._frozen import thaw
from ._guards import (
    ALWAYS,
    AllOf,
    Always,
    AnyOf,
    Check,
    Compare,
    Consent,
    Count,
    Evidence,
    Fact,
    Guard,
    GuardContext,
    Handed,
    InState,
    Linked,
    Measure,
    Not,
    NotActorOf,
    NotAssignee,
    Present,
    Span,
    TimeInState,
    TimeSinceOpened,
    Traced,
)
from .exceptions import CaseworkError, Problem

__all__ = ["GUARD_KINDS", "duration_text", "guard_from_data", "guard_to_data", "parse_duration"]

CheckFunction = Callable[[GuardContext], bool | tuple[bool, str]]

MEASURES: Final = ("fact", "count", "span", "linked", "time_in_state", "time_since_opened")
GUARD_KINDS: Final = (
    *MEASURES,
    "evidence",
    "consent",
    "handover",
    "in_state",
    "not_actor_of",
    "not_assignee",
    "check",
    "all",
    "any",
    "not",
    "always",
)
OPS: Final = (">=", ">", "<=", "<", "==", "!=", "in", "not in", "present", "absent")
_DURATION: Final = re.compile(
    r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
MAX_DEPTH: Final = 32
_OP_TYPOS: Final = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "≥": ">=", "≤": "<=", "≠": "!="}


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds.

    >>> parse_duration("P1DT12H")
    datetime.timedelta(days=1, seconds=43200)

    Raises:
        ValueError: if it is not one.
    """
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None or text in {"P", "PT"} or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as P7D or PT24H")
    weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    try:
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any date can reach") from None


def duration_text(d: timedelta) -> str:
    """Write a timedelta as an ISO 8601 duration (`parse_duration` reads it back)."""
    days, seconds, micros = d.days, d.seconds, d.microseconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if secs or micros:
        time += f"{secs}.{micros:06d}S" if micros else f"{secs}S"
    out = f"P{days}D" if days or not time else "P"
    return out + (f"T{time}" if time else "")


def _measure_data(m: Measure) -> dict[str, Any]:
    if isinstance(m, Fact):
        return {"fact": m.name}
    if isinstance(m, Count):
        return {"count": m.event}
    if isinstance(m, Span):
        return {"span": m.event}
    if isinstance(m, Linked):
        within = {} if m.within is None else {"within": duration_text(m.within)}
        return {"linked": m.kind, **within}
    if isinstance(m, TimeInState):
        return {"time_in_state": True}
    if isinstance(m, TimeSinceOpened):
        return {"time_since_opened": True}
    raise TypeError(f"measure {m!r} has no data form")  # pragma: no cover - all measures above


def _value_data(value: object) -> object:
    if isinstance(value, timedelta):
        return duration_text(value)
    if isinstance(value, tuple):
        return [_value_data(v) for v in value]
    return thaw(value)


def guard_to_data(g: Guard) -> dict[str, Any]:  # noqa: PLR0911 - one return per guard kind
    """Return the data form of a guard."""
    if isinstance(g, Traced):
        return {**guard_to_data(g.inner), "requirements": list(g.requirements)}
    if isinstance(g, Compare):
        return {**_measure_data(g.measure), "op": g.op, "value": _value_data(g.value)}
    if isinstance(g, Present):
        return {**_measure_data(g.measure), "op": "present"}
    if isinstance(g, Not) and isinstance(g.inner, Present):
        return {**_measure_data(g.inner.measure), "op": "absent"}
    if isinstance(g, AllOf):
        return {"all": [guard_to_data(p) for p in g.parts]}
    if isinstance(g, AnyOf):
        return {"any": [guard_to_data(p) for p in g.parts]}
    if isinstance(g, Not):
        return {"not": guard_to_data(g.inner)}
    simple: dict[type, Callable[[Any], dict[str, Any]]] = {
        Evidence: lambda e: {"evidence": e.kind},
        Consent: lambda c: {"consent": c.purpose},
        Handed: lambda h: {"handover": h.kind},
        InState: lambda i: {"in_state": i.state},
        NotActorOf: lambda n: {"not_actor_of": n.event},
        NotAssignee: lambda _: {"not_assignee": True},
        Check: lambda c: {"check": c.name},
        Always: lambda _: {"always": True},
    }
    return simple[type(g)](g)


class _Reader:
    """Builds guards from data, collecting problems with their paths."""

    def __init__(self, checks: Mapping[str, CheckFunction], problems: list[Problem]) -> None:
        self.checks = checks
        self.problems = problems

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(message, path))

    def guard(self, raw: object, path: str, depth: int = 0) -> Guard | None:  # noqa: C901, PLR0911, PLR0912 - a branch per kind
        if depth > MAX_DEPTH:
            self.fail(path, f"guards are nested deeper than {MAX_DEPTH} levels")
            return None
        if not isinstance(raw, Mapping):
            example = "{fact: age, op: '<', value: 18}"
            self.fail(path, f"a guard must be a mapping such as {example}, got {_kind(raw)}")
            return None
        if "requirements" in raw:
            return self.traced(raw, path, depth)
        kinds = [k for k in raw if k in GUARD_KINDS]
        if len(kinds) != 1:
            self.no_kind(raw, kinds, path)
            return None
        kind = kinds[0]
        if kind in MEASURES:
            return self.comparison(kind, raw, path)
        self.only(raw, {kind}, path)
        body, at = raw[kind], f"{path}.{kind}"
        if kind in {"all", "any", "not"}:
            return self.combined(kind, body, at, depth)
        if kind in {"always", "not_assignee"}:
            if body is not True:
                self.fail(at, f"write {kind}: true")
                return None
            return ALWAYS if kind == "always" else NotAssignee()
        if kind == "evidence":
            return self.evidence(body, at)
        if not self.name(body, at):
            return None
        if kind == "check":
            return self.check(body, at)
        if kind == "handover":
            return Handed(body)
        if kind == "in_state":
            return InState(body)
        return Consent(body) if kind == "consent" else NotActorOf(body)

    def traced(self, raw: Mapping[str, Any], path: str, depth: int) -> Guard | None:
        """A guard with the requirement ids it enforces beside its kind."""
        ids = raw["requirements"]
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            self.fail(f"{path}.requirements", "requirements must be a list of requirement ids")
            return None
        inner = self.guard({k: v for k, v in raw.items() if k != "requirements"}, path, depth)
        return None if inner is None else Traced(inner, tuple(ids))

    def no_kind(self, raw: Mapping[str, Any], kinds: list[str], path: str) -> None:
        unknown = [str(k) for k in raw if k not in GUARD_KINDS and k not in {"op", "value"}]
        if unknown and not kinds:
            hint = _hint(unknown[0], GUARD_KINDS)
            self.fail(f"{path}.{unknown[0]}", f"unknown guard {unknown[0]!r}{hint}")
        else:
            found = ", ".join(kinds) or "none"
            self.fail(path, f"a guard needs exactly one of {', '.join(GUARD_KINDS)}; found {found}")

    def combined(self, kind: str, body: object, at: str, depth: int) -> Guard | None:
        if kind == "not":
            inner = self.guard(body, at, depth + 1)
            return None if inner is None else Not(inner)
        if not isinstance(body, list) or not body:
            self.fail(at, f"{kind} takes a non-empty list of guards")
            return None
        parts = [self.guard(p, f"{at}[{i}]", depth + 1) for i, p in enumerate(body)]
        found = tuple(p for p in parts if p is not None)
        if len(found) != len(parts):
            return None
        return AllOf(found) if kind == "all" else AnyOf(found)

    def evidence(self, body: object, at: str) -> Guard | None:
        names = body if isinstance(body, list) else [body]
        if not names:
            self.fail(at, "evidence takes a document's name or a non-empty list of names")
            return None
        if not all(self.name(n, at) for n in names):
            return None
        guards: tuple[Guard, ...] = tuple(Evidence(str(n)) for n in names)
        return guards[0] if len(guards) == 1 else AllOf(guards)

    def check(self, name: str, at: str) -> Guard | None:
        fn = self.checks.get(name)
        if fn is None:
            known = sorted(self.checks)
            listed = ", ".join(known) if known else "none are registered"
            hint = _hint(name, known)
            self.fail(at, f"no check named {name!r} is registered{hint} (known: {listed})")
            return None
        return Check(name, fn)

    def comparison(self, kind: str, raw: Mapping[str, Any], path: str) -> Guard | None:  # noqa: PLR0911 - one branch per way to go wrong
        self.only(raw, {kind, "op", "value", *(("within",) if kind == "linked" else ())}, path)
        subject = raw[kind]
        measure: Measure
        if kind in {"time_in_state", "time_since_opened"}:
            if subject is not True:
                self.fail(f"{path}.{kind}", f"write {kind}: true")
                return None
            measure = TimeInState() if kind == "time_in_state" else TimeSinceOpened()
        else:
            if not self.name(subject, f"{path}.{kind}"):
                return None
            if kind == "linked":
                within = raw.get("within")
                try:
                    measure = Linked(subject, None if within is None else parse_duration(within))
                except (ValueError, TypeError) as exc:
                    self.fail(f"{path}.within", str(exc))
                    return None
            else:
                measure = {"fact": Fact, "count": Count, "span": Span}[kind](subject)
        op = raw.get("op")
        if op not in OPS:
            self.fail(
                f"{path}.op",
                f"op must be one of {', '.join(OPS)}, got {op!r}"
                + (
                    f" (did you mean {_OP_TYPOS[op]!r}?)"
                    if isinstance(op, str) and op in _OP_TYPOS
                    else _hint(op, OPS)
                ),
            )
            return None
        if op in {"present", "absent"}:
            if "value" in raw:
                self.fail(f"{path}.value", f"op {op} takes no value")
                return None
            present = Present(measure)
            return present if op == "present" else Not(present)
        if "value" not in raw:
            self.fail(path, f"op {op} needs a value")
            return None
        return self.compare(measure, op, raw["value"], f"{path}.value")

    def compare(self, measure: Measure, op: str, value: object, at: str) -> Guard | None:
        timed = isinstance(measure, Span | TimeInState | TimeSinceOpened)
        if op in {"in", "not in"} and not isinstance(value, list):
            self.fail(at, f"op {op} takes a list of values")
            return None
        try:
            if isinstance(value, list):
                operand: object = tuple(parse_duration(v) if timed else v for v in value)
            else:
                operand = parse_duration(value) if timed else value  # type: ignore[arg-type]
            return Compare(measure, op, operand)
        except (ValueError, TypeError) as exc:
            self.fail(at, str(exc))
        except CaseworkError as exc:
            self.fail(at, exc.message)
        return None

    def name(self, value: object, at: str) -> bool:
        if isinstance(value, str) and value:
            return True
        self.fail(at, f"expected a name, got {_kind(value)}")
        return False

    def only(self, raw: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in raw:
            if key not in allowed:
                self.fail(
                    f"{path}.{key}", f"unexpected key {key!r} here{_hint(key, sorted(allowed))}"
                )


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"[:80]


def _hint(name: object, known: Any) -> str:  # noqa: ANN401 - any iterable of names
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def guard_from_data(
    raw: object,
    path: str,
    *,
    checks: Mapping[str, CheckFunction],
    problems: list[Problem],
) -> Guard | None:
    """Build a guard from data; on failure append problems and return None."""
    return _Reader(checks, problems).guard(raw, path)
