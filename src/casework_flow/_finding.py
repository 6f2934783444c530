"""A finding of the static checks: severity, code, sentence and where; and every code.

`CHECKS` is the registry of check codes: each code's severity and what it finds. A
finding can only carry a registered code at its registered severity, and the docs'
table of checks is generated from the registry, so neither can drift from the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

from attrs import field, frozen

__all__ = ["CHECKS", "ORDER", "CheckCode", "Finding", "Severity", "checks_table"]

Severity = Literal["error", "warning", "info"]
ORDER: Final = {"error": 0, "warning": 1, "info": 2}


@frozen
class CheckCode:
    """One code the static checks may report.

    Attributes:
        code: The stable identifier (``trap-state``).
        severity: How bad a finding of this code is.
        finds: What a finding of this code means, for the docs' table.
    """

    code: str
    severity: Severity
    finds: str


_CODES = (
    CheckCode("unreachable-state", "error", "a state no path leads to"),
    CheckCode(
        "trap-state",
        "error",
        "a state from which no terminal state can be reached (by transitions whose guard can hold)",
    ),
    CheckCode("no-terminal-state", "error", "a process that cannot end"),
    CheckCode(
        "dead-transition",
        "error",
        "a transition whose sources are unreachable, or whose guard contradicts itself"
        " (`x > 3 and x < 2`, `p and not p`)",
    ),
    CheckCode(
        "shadowed-transition",
        "error",
        "a lower-priority candidate that a higher one always pre-empts: whenever the later"
        " one's guard holds the earlier one's does (`count >= 3` before `count >= 5`, or"
        " the same guard twice), and it asks no more of the actor",
    ),
    CheckCode(
        "missing-label", "warning", "a state or transition without a label in a declared locale"
    ),
    CheckCode(
        "unused-role",
        "warning",
        "a declared role the workflow gives nothing to do: no transition, approval,"
        " override, handover, link, recording, assignment or reading of personal fields",
    ),
    CheckCode("unsupplied-data", "warning", "a fact a guard reads that no transition requires"),
    CheckCode(
        "deadline-on-terminal-state",
        "error",
        "a terminal state with a deadline: every closed case would fall overdue",
    ),
    CheckCode("timer-on-terminal-state", "error", "a timer on a terminal state"),
    CheckCode("timer-cannot-fire", "error", "a timer whose event has no transition from its state"),
    CheckCode(
        "timer-without-system-role",
        "warning",
        "a timer whose event only roles the system actor lacks may fire",
    ),
    CheckCode(
        "track-never-done",
        "error",
        "a track of a parallel stage that no case brings to its final state",
    ),
    CheckCode("stage-never-done", "error", "a stage whose `on_done` can never follow"),
    CheckCode("tracks-deadlock", "error", "tracks whose `in_state` guards wait on each other"),
    CheckCode(
        "configurations-partly-checked",
        "info",
        "a staged workflow with more configurations than the walk visits",
    ),
    CheckCode(
        "member-orphaned",
        "warning",
        "a member kind closing with its family (`on_close: close`) whose `close_event`"
        " cannot close a member from some state",
    ),
    CheckCode(
        "member-left-open",
        "info",
        "a member kind whose members outlive their family's case (`on_close: leave`)",
    ),
    CheckCode(
        "shadowing-undecided",
        "info",
        "a later candidate that may never fire before an earlier one, where it depends on"
        " host checks the analysis cannot see into (named in the finding)",
    ),
    CheckCode(
        "consent-override",
        "info",
        "a transition or handover that allows missing consent to be overridden",
    ),
    CheckCode("approval", "info", "a transition that waits for approval"),
    CheckCode("reopening", "info", "a transition that reopens closed cases"),
)
CHECKS: Final[Mapping[str, CheckCode]] = MappingProxyType({c.code: c for c in _CODES})
"""Every code the static checks report, by code, in the order the docs list them."""


def _registered(instance: Finding, attribute: object, code: str) -> None:
    del attribute
    known = CHECKS.get(code)
    if known is None:
        raise ValueError(f"{code!r} is not a registered check code")
    if known.severity != instance.severity:
        raise ValueError(f"{code!r} is registered as {known.severity}, not {instance.severity}")


def checks_table() -> str:
    """The docs' table of check codes, generated from `CHECKS`."""
    rows = ["| code | severity | finds |", "|---|---|---|"]
    rows += [f"| `{c.code}` | {c.severity} | {c.finds} |" for c in CHECKS.values()]
    return "\n".join(rows)


@frozen
class Finding:
    """One result of `check`.

    Attributes:
        severity: ``error``, ``warning`` or ``info`` (for a reviewer's list, such as
            the transitions that allow a consent override).
        code: A stable identifier (``unreachable-state``, ``trap-state``...).
        message: What is wrong, for a person.
        path: Where in the definition (``states[4]``, ``transitions[7].guard``).
    """

    severity: Severity
    code: str = field(validator=_registered)
    message: str
    path: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message} [{self.code}]"
