"""The seed workflow's rules over time, each traced to the practice it comes from.

The seed (`casework_flow.seed`) is the story of a young man begging on the street after
family conflict, worked by a city social service and referred to the province's shelter
unit. These are the rules its process keeps, written as properties: `explore` checks
them in the tests, and a host can check its live cases with `check_trails`.
"""

from __future__ import annotations

from .._requirements import Requirement
from ._propositions import by_timer, entry_kind, fires, inside, opened, reach, reopened, terminal
from ._temporal import Property, absence, after, precedence, response

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

_OUTCOMES = ("closed_reunified", "closed_independent", "closed_returned_to_origin")


def seed_properties() -> tuple[Property, ...]:
    """The seed's rules over time (version 1 of the seed workflow)."""
    name = "street-beggar-family-conflict"
    closed = reach(_OUTCOMES[0]) | reach(_OUTCOMES[1]) | reach(_OUTCOMES[2])
    return (
        response(reach("referral_pending"), ~inside("referral_pending"), within="P14D",
                 name="a referral is answered within 14 days",
                 requirements=["REF-ANSWER-14D"], workflow=name),
        precedence(entry_kind("approval_requested", "refer_to_shelter_unit"),
                   fires("refer_to_shelter_unit"),
                   name="a referral only after a supervisor was asked to approve it",
                   requirements=["REF-SUPERVISED"], workflow=name),
        precedence(fires("terminate"), closed, scope=after(opened() | reopened()),
                   name="closed with an outcome only after a termination review since the"
                        " last reopening",
                   requirements=["TERM-REVIEW"], workflow=name),
        absence(by_timer() & terminal(), name="a timer never closes a case",
                requirements=["TIMER-NO-CLOSE"], workflow=name),
        response(reach("family_work"), ~inside("family_work"), within="P14D",
                 name="family work without a response lasts at most 14 days",
                 requirements=["FAMILY-14D"], workflow=name),
        response(reach("family_tracing"), ~inside("family_tracing"), within="P5D",
                 working=True, name="family tracing ends within 5 working days",
                 requirements=["TRACING-5WD"], workflow=name),
    )  # fmt: skip
