"""A real browser: headless Chromium (Debian's) loads the running dashboard and screenshots it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers.loopback import free_port

REPO = Path(__file__).parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def running_dashboard(handmade_world: Path):
    port = free_port()
    env = {**os.environ, "RW_SERVING_DIR": str(handmade_world / "serving"),
           "RW_QUALITY_DIR": str(handmade_world / "quality")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless",
         "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the dashboard did not start within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (.ci/run installs it)")
def test_chromium_renders_the_funnel_without_errors(running_dashboard: str,
                                                    tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium must be installed in CI (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(running_dashboard)
            page.wait_for_selector("text=Loop closed", timeout=60_000)
            page.wait_for_timeout(1000)
            screenshot = tmp_path / "dashboard.png"
            page.screenshot(path=str(screenshot), full_page=True)
            text = page.inner_text("body")
            # Every page, as a person clicks through them: screenshot, and no error element.
            pages, texts, bullets = {}, {}, {}
            for tab in page.get_by_role("tab").all():
                name = tab.inner_text().strip()
                tab.click()
                page.wait_for_timeout(700)
                shot = tmp_path / f"page-{len(pages)}.png"
                page.screenshot(path=str(shot), full_page=True)
                errors = page.locator('[data-testid="stException"], '
                                      '[data-testid="stAlertContentError"]').count()
                pages[name] = (shot.stat().st_size, errors)
                texts[name] = page.inner_text("body")
                bullets[name] = page.locator('[data-testid="stTable"] li').count()
        finally:
            browser.close()
    assert screenshot.stat().st_size > 20_000
    for expected in ("Referred", "Scheduled", "Attended", "Loop closed", "By month"):
        assert expected in text
    for problem in ("Traceback", "ModuleNotFoundError", "Error"):
        assert problem not in text
    assert list(pages) == ["Funnel", "Leakage", "Referrers", "Retention", "Campaigns",
                           "Data quality", "Worklist", "Scorecard", "Forecast", "Liaison lift"]
    for name, (size, errors) in pages.items():
        assert errors == 0, f"{name} shows an error"
        assert size > 20_000, f"{name} rendered nothing"
    # What a coordinator and a liaison read off the screen.
    assert "Referrals to act on, as of Monday 30 March 2026" in texts["Worklist"]
    # (The grid draws its cells on a canvas: their text is checked in test_dashboard.py.)
    assert "Overdue" in texts["Worklist"] and "Nobody owns" in texts["Worklist"]
    assert "fewer than 11" in texts["Scorecard"] and bullets["Scorecard"] == 0
    assert "Deploy" not in texts["Funnel"]  # no developer menu for the people who read it


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_printed_scorecard_reads_correctly(handmade_world: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The download a liaison prints: rendered to PDF and a screenshot by Chromium."""
    from playwright.sync_api import sync_playwright

    import dashboard.data
    from dashboard import scorecard

    monkeypatch.setenv("RW_SERVING_DIR", str(handmade_world / "serving"))
    cards = dashboard.data.query("select * from fct_referrer_scorecard")
    oak = cards[cards["practice_name"] == "Oak Family Practice"]
    page_file = tmp_path / "scorecard.html"
    page_file.write_text(scorecard.printable("Oak Family Practice", "Pat Liaison",
                                             scorecard.card_table(oak), "2026-03-30"))
    assert CHROMIUM, "chromium must be installed in CI (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                            "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1123, "height": 794})
            page.goto(page_file.as_uri())
            page.emulate_media(media="print")
            page.screenshot(path=str(tmp_path / "scorecard.png"), full_page=True)
            page.pdf(path=str(tmp_path / "scorecard.pdf"), format="A4", landscape=True)
            text = page.inner_text("body")
            bullets = page.locator("li, ul, ol").count()
            cells = page.locator("td").all_inner_texts()
        finally:
            browser.close()
    assert (tmp_path / "scorecard.png").stat().st_size > 10_000
    assert (tmp_path / "scorecard.pdf").read_bytes().startswith(b"%PDF")
    assert "Oak Family Practice" in text and "Your liaison: Pat Liaison" in text
    assert "fewer than 11" in text and bullets == 0
    assert cells[0] == "fewer than 11" and "-" not in cells


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (.ci/run installs it)")
def test_data_docs_render_with_no_network(handmade_world: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The published Data Docs draw their styles and result tables from local files only."""
    from playwright.sync_api import sync_playwright

    from dashboard import docs_server
    from orchestration.serve import offline_data_docs
    from orchestration.serve.publication import DATA_DOCS_LINK

    monkeypatch.setenv("RW_DOCS_PORT", str(free_port()))
    base = docs_server.start(handmade_world / "serving")
    outside: list[str] = []

    def only_this_machine(route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url.split("?", 1)[0])
            route.abort()

    # No page of the published site still loads anything from another host...
    assert offline_data_docs.external_references(handmade_world / "serving" / DATA_DOCS_LINK) \
        == set()
    pages = sorted((handmade_world / "serving" / DATA_DOCS_LINK / "validations").rglob("*.html"))
    assert pages, "the hand-made run published validation results"
    validation = pages[0].relative_to(handmade_world / "serving").as_posix()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", only_this_machine)
            rendered = {}
            for name, path in (("index", f"{DATA_DOCS_LINK}/index.html"),
                               ("validation", validation)):
                page.goto(f"{base}/{path}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(tmp_path / f"data-docs-{name}.png"), full_page=True)
                rendered[name] = page.evaluate("""() => ({
                    tableRows: document.querySelectorAll('.bootstrap-table tbody tr').length,
                    styles: [...document.querySelectorAll('link[rel=stylesheet]')]
                        .every(link => link.sheet && link.sheet.cssRules.length > 0),
                    scripts: typeof jQuery === 'function'
                        && typeof jQuery.fn.bootstrapTable === 'function'
                        && typeof jQuery.fn.datepicker === 'function'
                        && typeof vegaEmbed === 'function',
                    icons: getComputedStyle(document.querySelector('.fas, .fa, .fab')
                                            || document.body).fontFamily})""")
        finally:
            browser.close()
    # ...and the browser asked for nothing outside either.
    assert outside == []
    # bootstrap-table drew the index's list of validation runs (empty without its script)...
    assert rendered["index"]["tableRows"] > 0
    # ...and on every page each stylesheet loaded, each library ran and the icons have their font.
    for found in rendered.values():
        assert found["styles"] and found["scripts"]
        assert "Font Awesome" in found["icons"]
