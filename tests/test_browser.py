"""The search page in a real browser (Debian's Chromium driven by Playwright), with an axe-core check.

Runs in CI (.ci/run installs chromium and sets AMTSWISSEN_REQUIRE_BROWSER); skipped locally
when Chromium or axe-core is missing. Screenshots go to test-artifacts/ (not committed).
"""

import importlib.util
import os
from pathlib import Path

import pytest

from amtswissen.settings import PROJECT_ROOT, Settings
from service.api import create_app
from tests.conftest import OFFICER, OFFICER_PASSWORD, add_user, MODEL_DIR, served, small_index

CHROMIUM = "/usr/bin/chromium"
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
missing = [what for what, ok in (("chromium", Path(CHROMIUM).exists()), ("axe-core", AXE.exists()),
                                 ("playwright", importlib.util.find_spec("playwright") is not None))
           if not ok]
pytestmark = pytest.mark.skipif(bool(missing) and not os.environ.get("AMTSWISSEN_REQUIRE_BROWSER"),
                                reason=f"not installed here: {missing}")


@pytest.fixture(scope="module")
def base_url(settings, embedder):
    with served(create_app(settings, embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


def _serious_violations(page) -> list[str]:
    # through the DevTools protocol: the app's CSP (rightly) refuses an injected inline <script>
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def test_question_typed_into_the_page_shows_passage_and_highlight(browser, base_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base_url + "/")
    assert page.evaluate("document.activeElement.id") == "q"  # focus on load
    page.keyboard.type("Wie lange ist ein Perso gültig?")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result")
    assert "q=Wie+lange" in page.url  # the query lives in the URL
    first = page.locator(".result").first
    assert "zehn Jahren" in first.locator(".answer mark").inner_text()
    assert "§ 6 Gültigkeitsdauer" in first.locator(".section").inner_text()
    # the answer box above the results: the quote, its source, a link into the document, the notice
    box = page.locator("section.answerbox")
    assert box.is_visible() and box.bounding_box()["y"] < first.bounding_box()["y"]
    assert box.locator("blockquote").inner_text() == (
        "(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt.")
    assert "§ 6 Gültigkeitsdauer" in box.locator(".section").inner_text()
    assert "keine Rechtsauskunft" in box.locator(".notice").inner_text()
    box.get_by_role("link", name="Im Zusammenhang lesen").focus()  # reachable by keyboard
    assert page.evaluate("document.activeElement.textContent") == "Im Zusammenhang lesen"
    assert _serious_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "suche-desktop.png"), full_page=False)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(ARTIFACTS / "suche-telefon.png"), full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling on a phone


def test_pdf_link_opens_the_right_page(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/?q=Widerspruch+Daten%C3%BCbermittlung+an+Adressbuchverlage&typ=pdf")
    link = page.locator(".result .links a").first
    href = link.get_attribute("href")
    assert href.endswith("#page=2") and "Seite 2" in link.inner_text()
    response = page.request.get(base_url + href.split("#")[0])
    assert response.ok and response.headers["content-type"] == "application/pdf"


def test_text_document_link_opens_the_passage_and_page_is_accessible(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/?q=Wie+lange+ist+ein+Perso+g%C3%BCltig%3F")
    page.locator(".result .links a", has_text="Im Dokument öffnen").first.click()
    page.wait_for_load_state()
    anchor = page.url.split("#")[1]
    assert anchor.startswith("abschnitt-")
    assert "Gültigkeitsdauer von zehn Jahren" in page.locator(f"#{anchor}").inner_text()
    assert _serious_violations(page) == []


def test_keyboard_only_skip_link_and_empty_state(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/?q=Ausweis&sammlung=gibtsnicht")
    assert "Keine Treffer – versuchen Sie" in page.locator(".empty").inner_text()
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("Shift+Tab")  # the title link
    page.keyboard.press("Shift+Tab")  # the skip link, first of all focusable elements
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator(".skip").bounding_box()["x"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    assert page.url.endswith("#ergebnisse")
    assert _serious_violations(page) == []


@pytest.fixture(scope="module")
def officer_url(tmp_path_factory, embedder):
    """A server of its own with an API key, on a copy of a small corpus (this test writes)."""
    folder = tmp_path_factory.mktemp("officer")
    settings = Settings(index=small_index(folder, embedder), model=MODEL_DIR, default_visibility="oeffentlich")
    add_user(settings, OFFICER, OFFICER_PASSWORD)
    add_user(settings, "vera", "Vertretung-2026", role=None)
    with served(create_app(settings, embedder)) as url:
        yield url, folder


def _sign_in(page, url: str, name: str = OFFICER, password: str = OFFICER_PASSWORD) -> None:
    page.goto(url + "/verwaltung/anmelden")
    page.fill("#benutzer", name)
    page.fill("#passwort", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/anmelden" not in u)


def test_officer_uploads_a_document_search_finds_it_delete_removes_it(browser, officer_url):
    url, folder = officer_url
    note = folder / "fundsachen.md"
    note.write_text("# Fundbüro\n\nFundsachen werden im Bürgerbüro sechs Monate aufbewahrt.\n", encoding="utf-8")
    page = browser.new_page()
    _sign_in(page, url)
    assert _serious_violations(page) == []
    page.set_input_files("#dateien", str(note))
    page.fill("#sammlung", "buergerbuero")
    page.click("text=Hochladen")
    page.wait_for_selector(".notice")
    assert "1 Datei(en) übernommen" in page.locator(".notice").inner_text()
    page.goto(url + "/?q=Wie+lange+werden+Fundsachen+aufbewahrt%3F")
    assert "sechs Monate aufbewahrt" in page.locator(".result").first.inner_text()
    page.goto(url + "/verwaltung")
    page.click("button[aria-label='Fundbüro entfernen']")
    page.wait_for_selector(".notice")
    page.goto(url + "/?q=Wie+lange+werden+Fundsachen+aufbewahrt%3F")
    assert "sechs Monate aufbewahrt" not in page.content()


def test_officer_runs_an_evaluation_and_sees_its_scores(browser, officer_url):
    import json

    url, folder = officer_url
    questions = folder / "referenz.jsonl"
    questions.write_text(json.dumps({"question": "Was kostet ein Personalausweis?", "doc": "pauswgebv.md",
                                     "answer_contains": ["37 Euro"]}, ensure_ascii=False) + "\n", encoding="utf-8")
    page = browser.new_page()
    _sign_in(page, url)
    page.click("text=Auswertung mit Referenzfragen")
    page.set_input_files("#fragen", str(questions))
    page.click("text=Auswertung starten")
    page.wait_for_selector("td.hit5")
    assert page.locator("td.hit5").first.inner_text() == "1.000"
    assert "Was kostet ein Personalausweis?" in page.content()
    assert _serious_violations(page) == []


def test_a_user_names_a_deputy_who_sees_it_on_their_own_page(browser, officer_url):
    url, _ = officer_url
    page = browser.new_page()
    _sign_in(page, url)
    page.goto(url + "/konto")
    assert _serious_violations(page) == []
    page.select_option("#vertreter", "vera")
    page.fill("#bis", "2099-12-31")
    page.click("text=Vertretung eintragen")
    page.wait_for_selector(".notice")
    assert "Vertretung durch vera eingetragen" in page.locator(".notice").inner_text()
    assert "vera" in page.locator("#given-h + .table-wrap").inner_text()
    other = browser.new_context().new_page()  # the deputy, in a browser of their own
    _sign_in(other, url, "vera", "Vertretung-2026")
    other.goto(url + "/konto")
    held = other.locator("#held-h + .table-wrap").inner_text()
    assert OFFICER in held and "läuft" in held
    assert "Heute in Vertretung für: " + OFFICER in other.content()
    assert _serious_violations(other) == []


def test_api_docs_render_offline_under_the_csp(browser, base_url):
    page = browser.new_page()
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base_url) else None)
    page.goto(base_url + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)  # operations rendered by Swagger UI
    assert page.locator(".opblock").count() >= 8
    assert outside == [] and blocked == []
