"""The case page of the FastAPI example, and the report page, in a real browser (Chromium).

Playwright drives Chromium headless against the service under uvicorn: the Mermaid
diagram renders with the case's path and current state highlighted, the actions show
what blocks them, a refused action shows its reasons, all in Indonesian.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from casework_flow import Engine, ManualClock, seed
from casework_flow._report_page import report_page

from .conftest import ROOT, START
from .stores import UNDER_CI, make_store
from .test_example_fastapi import OUTREACH, TO_TRACING, WORKER, _serving, app_module

MERMAID = ROOT / "build" / "node" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _needs(ok: bool, why: str) -> None:
    if not ok:
        if UNDER_CI:
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    playwright = pytest.importorskip("playwright.sync_api")
    _needs(Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)")
    _needs(MERMAID.exists(), "run make diagram-tools for a local copy of Mermaid")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_case_page_draws_the_path_lists_what_blocks_and_shows_a_refusal(
    browser, tmp_path, monkeypatch
):
    monkeypatch.setenv("CASEWORK_MERMAID_JS", str(MERMAID))
    clock = ManualClock(START)
    with (
        make_store("sqlite", tmp_path) as store,
        _serving(app_module.create_app(store, clock=clock)) as client,
    ):
        opened = client.post(
            "/cases", json={"case_id": "PG-1", "assignee": seed.WORKER.id}, headers=OUTREACH
        )
        assert opened.status_code == 201
        for event, body in [
            *TO_TRACING,
            ("family_found", {"data": {"family_contact_person": "ayah"}}),
        ]:
            assert client.post(f"/cases/PG-1/events/{event}", json=body, headers=WORKER).is_success
        page = browser.new_page()
        page.goto(f"{client.base_url}/cases/PG-1/page?actor={seed.WORKER.id}&locale=id")
        page.wait_for_selector("#diagram svg", timeout=30_000)
        current = page.locator("#diagram svg g.current")
        assert current.count() == 1
        assert "family_work" in (current.first.get_attribute("id") or "")
        assert page.locator("#diagram svg g.visited").count() >= 5
        assert page.locator("h2").first.inner_text() == "Yang dapat Anda lakukan"
        waits = page.locator('li.action.blocked[data-event="family_unresponsive"] .reasons li')
        assert "at least 3 needed" in waits.first.inner_text()
        attempt = page.locator('li.action[data-event="record_contact_attempt"]')
        assert "contact_method" in attempt.locator(".needs").inner_text()
        attempt.locator("button").click()
        refusal = attempt.locator(".refusal li").first
        refusal.wait_for(timeout=10_000)
        assert "must be given" in refusal.inner_text()
        assert page.locator("#trail li").count() >= 6
        assert "Keluarga ditemukan" in page.locator("#trail").inner_text()
        page.screenshot(path=str(tmp_path / "case-page.png"), full_page=True)
        page.close()


@pytest.fixture
def chromium():  # type: ignore[no-untyped-def]
    playwright = pytest.importorskip("playwright.sync_api")
    _needs(Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def test_the_report_page_draws_its_charts_in_a_browser(chromium, tmp_path):
    clock = ManualClock(START)
    with make_store("sqlite", tmp_path) as store:
        engine = Engine([seed.build_workflow()], store=store, clock=clock, calendar=seed.CALENDAR)
        for n, steps in enumerate((2, 5, 9, len(seed.HAPPY_PATH))):
            case_id = f"MDN-{n}"
            engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, unit=seed.MEDAN,
                        assignee=seed.WORKER.id, version=1)  # fmt: skip
            for step in seed.HAPPY_PATH[:steps]:
                clock.advance(timedelta(days=step[-1], hours=1))
                seed.take(engine, case_id, step)
        report = engine.report()
    path = tmp_path / "report.html"
    path.write_text(report_page(report, title="Laporan Dinas Sosial Medan"), encoding="utf-8")
    errors: list[str] = []
    page = chromium.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    assert page.title() == "Laporan Dinas Sosial Medan"
    states = len(report.time_in_state)
    assert page.locator("#time-in-state rect.bar").count() == 2 * states
    assert page.locator("#per-month rect.bar").count() == 2 * len(
        {p.period for p in report.periods}
    )
    assert page.locator("#rates rect.bar").count() == 3 * len(report.rates)
    assert report.deadlines
    assert page.locator("#deadlines rect.bar").count() == len(report.deadlines)
    widest = max(
        float(page.locator("#time-in-state rect.bar").nth(i).get_attribute("width") or 0)
        for i in range(2 * states)
    )
    box = page.locator("#time-in-state").bounding_box()
    assert box is not None
    assert 0 < widest <= box["width"]
    assert page.locator("table").count() == 5
    assert page.locator("#time-in-stage rect.bar").count() == 2 * len(report.time_in_stage)
    assert errors == []
