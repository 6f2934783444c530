"""A finding of the static checks: severity, code, sentence and where."""

from __future__ import annotations

from typing import Final, Literal

from attrs import frozen

__all__ = ["ORDER", "Finding", "Severity"]

Severity = Literal["error", "warning", "info"]
ORDER: Final = {"error": 0, "warning": 1, "info": 2}


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
    code: str
    message: str
    path: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message} [{self.code}]"
