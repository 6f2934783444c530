"""The case page of the FastAPI example, opened in a real browser (Debian's Chromium).

Playwright drives Chromium headless against the service under uvicorn: the Mermaid
diagram renders with the case's path and current state highlighted, the actions show
what blocks them, a refused action shows its reasons, all in Indonesian.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casework_flow import ManualClock, seed

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
