"""The seed workflow's rules over time, each traced to the practice it comes from.

The seed (`casework_flow.seed`) is the story of a young man begging on the street after
family conflict, worked by a city social service and referred to the province's shelter
unit. Its file declares the rules its process keeps as properties (``properties:``):
`explore` checks them in the tests, and a host can check its live cases with
`check_trails`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .._files import load_workflow
from .._requirements import Requirement
from ._declared import declared_properties
from ._temporal import Property

__all__ = ["REQUIREMENTS", "Requirement", "seed_properties"]


REQUIREMENTS: tuple[Requirement, ...] = (  # the seed file's requirements, as its tests check
    Requirement("REF-ANSWER-14D", "The shelter unit answers a referral within 14 days, or the"
                " case goes back to the case conference", "Referral practice (UPT hand-over)"),
    Requirement("REF-SUPERVISED", "A referral goes out only with a supervisor's approval",
                "Law on social workers (UU 14/2019): supervised practice"),
    Requirement("TERM-REVIEW", "A case closes with an outcome only after a termination review"
                " since it was last reopened", "Perda Kota Medan 6/2003: placement, follow-up"),
    Requirement("TIMER-NO-CLOSE", "No timer closes a case: closing is a person's decision",
                "Practice: every decision that changes a client's situation carries a reason"),
    Requirement("FAMILY-14D", "Family work that gets no response is taken back to the case"
                " conference after 14 days", "Seed time rules (family_work timer)"),
    Requirement("TRACING-5WD", "Family tracing ends within 5 working days",
                "Regional SOPs on working days"),
)  # fmt: skip


def seed_properties() -> tuple[Property, ...]:
    """The seed's rules over time (version 1): the ``properties:`` its file declares."""
    path = Path(str(files("casework_flow") / "seed_data" / "street-beggar-family-conflict.yaml"))
    return declared_properties(load_workflow(path))
