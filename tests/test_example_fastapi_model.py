"""examples/fastapi_host checked against its workflow by `testing.model_test`, over httpx.

`ServiceHost` (examples/fastapi_host/model_host.py) sends every command to the
service's HTTP API; the service as shipped agrees with the seed workflow, and each of
two planted endpoint bugs (a fire that drops ``expected_revision``, a fire that fills
in a default age and so skips the age guard) is found, shrunk to its shortest
sequence and saved as a fixture that replays. A committed fixture, the referral story
from the street to the shelter unit (refusals, a self-approval, a wrong acceptor,
timers), replays on the service in one line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Body, FastAPI
from hypothesis import settings

from casework_flow import seed
from casework_flow.testing import HostDiverged, model_test, replay_fixture
from casework_flow.testing._host import describe

from .conftest import ROOT, START, load_example_file

app_module = load_example_file("fastapi_host_app", ROOT / "examples" / "fastapi_host" / "app.py")
host_module = load_example_file(
    "fastapi_model_host", ROOT / "examples" / "fastapi_host" / "model_host.py"
)
ServiceHost = host_module.ServiceHost
PEOPLE = list(app_module.PEOPLE.values())
WF = seed.build_workflow()
FIXTURES = Path(__file__).parent / "model_fixtures"
FIRE = "/cases/{case_id}/events/{event}"
CONTACT = (
    "fire first_contact on CASE-1 as sw-017, data {'client_alias': 'client_alias value',"
    " 'found_at': 'found_at value'}, expecting revision 1"
)


def bugged(bug: str) -> Any:
    """The service with its fire endpoint replaced by one with ``bug`` planted."""

    def create_app(store: Any, **options: Any) -> FastAPI:
        app: FastAPI = app_module.create_app(store, **options)

        @app.post(FIRE)
        async def fire(
            case_id: str,
            event: str,
            who: app_module.Caller,
            engine: app_module.Caseload,
            step: Annotated[app_module.Step | None, Body()] = None,
        ) -> dict[str, Any]:
            step = step or app_module.Step()
            if bug == "drops_revision":
                step = step.model_copy(update={"expected_revision": None})
            else:
                step = step.model_copy(update={"data": {"age": 18, **step.data}})
            return await app_module.fire(case_id, event, who, engine, step)

        app.router.routes.insert(0, app.router.routes.pop())
        return app

    return create_app


def _test(factory: Any, tmp_path: Path, **options: Any) -> Any:
    args: dict[str, Any] = {"depth": 4, "examples": 0, "calendar": seed.CALENDAR}
    args.update(options)
    return model_test(WF, ServiceHost(factory, tmp_path / "runs"), people=PEOPLE, **args)


def test_the_service_as_shipped_agrees_with_its_workflow(tmp_path: Path) -> None:
    report = _test(
        app_module.create_app, tmp_path, examples=10, hypothesis=settings(derandomize=True)
    )
    assert report.paths > 20
    assert report.examples >= 10
    assert report.commands > 200


@pytest.mark.parametrize(
    ("bug", "last", "why"),
    [
        (
            "drops_revision",
            (
                "fire decline on CASE-1 as sw-017, data {'age': 18}, code CLIENT_DECLINED,"
                " expecting revision 1"
            ),
            "the workflow answered a conflict, the host allowed it",
        ),
        (
            "default_age",
            "fire decline on CASE-1 as sw-017, code CLIENT_DECLINED, expecting revision 2",
            "the workflow refused it (age >= 18), the host allowed it",
        ),
    ],
)
def test_a_planted_endpoint_bug_is_found_shrunk_and_replays(
    bug: str, last: str, why: str, tmp_path: Path
) -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(bugged(bug), tmp_path, save_to=tmp_path / "fixtures")
    found = caught.value
    assert [describe(c) for c in found.commands] == ["open CASE-1 as oo-04", CONTACT, last]
    assert found.why == why
    assert found.fixture is not None
    assert found.fixture.exists()
    with pytest.raises(HostDiverged, match="diverged from the workflow at step 3"):
        replay_fixture(found.fixture, WF, ServiceHost(bugged(bug), tmp_path / "again"))
    replay_fixture(found.fixture, WF, ServiceHost(app_module.create_app, tmp_path / "fixed"))


def test_random_runs_find_the_skipped_guard_through_the_api(tmp_path: Path) -> None:
    with pytest.raises(HostDiverged) as caught:
        _test(
            bugged("default_age"),
            tmp_path,
            depth=0,
            examples=60,
            hypothesis=settings(derandomize=True),
        )
    assert "the host allowed it" in caught.value.why
    assert len(caught.value.commands) <= 3


def test_the_referral_story_replays_on_the_service(tmp_path: Path) -> None:
    replay_fixture(
        FIXTURES / "seed-referral-to-placement.json",
        WF,
        ServiceHost(app_module.create_app, tmp_path),
        calendar=seed.CALENDAR,
    )


def test_a_handover_answer_other_than_accept_or_reject_is_not_found(tmp_path: Path) -> None:
    host = ServiceHost(app_module.create_app, tmp_path)
    host.start(START)
    try:
        answer = host._call("POST", "/cases/C/handovers/referral-2/dance", "sw-017", {})
        assert answer.status_code == 404
        assert "accept or reject" in answer.json()["detail"]
    finally:
        host.stop()


def test_the_docs_excerpts_are_these_tests() -> None:
    page = (ROOT / "docs" / "testing.md").read_text()
    excerpts = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    assert excerpts
    here = Path(__file__).read_text()
    for excerpt in excerpts:
        assert excerpt in here, f"not in {__file__}:\n{excerpt}"
