"""Knowledge capture in a real browser (Chromium via Playwright, axe-core on every page):
an author writes and submits a note, a reader does not find it, a second person
releases it, the reader finds it by a colloquial question with author, approver and
date; the unit's handover PDF holds it; the coverage view shows a departing owner's
task without a note as at risk. Screenshots for the README go to test-artifacts/."""

from __future__ import annotations

import io
import shutil

import pytest
from pypdf import PdfReader

from amtswissen.settings import Settings
from ingest import writes
from knowledge.demo import install_demo
from service.api import create_app
from tests.conftest import LAWS, MODEL_DIR, served
from tests.test_browser import ARTIFACTS, _serious_violations, _sign_in, browser, pytestmark  # noqa: F401

PASSWORD = "Browser-Wissen-1"
QUESTION = "Kunde will sich abmelden, zieht nach Spanien – was muss er mitbringen?"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("wissen")
    laws = folder / "gesetze"
    laws.mkdir()
    shutil.copy(LAWS / "pauswgebv.md", laws)
    settings = Settings(index=folder / "index", model=MODEL_DIR)
    backend = settings.backend()
    writes.sync_sources(backend, embedder, [laws], "default", "test")
    backend.close()
    app = create_app(settings, embedder)
    with served(app) as url:
        install_demo(app.state.knowledge, password=PASSWORD, release=False)
        yield url


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_write_submit_release_find_hand_over_and_see_the_risk(browser, app_url):  # noqa: F811 - the fixture
    url = app_url
    author = browser.new_context().new_page()
    _sign_in(author, url, "paula", PASSWORD)
    author.goto(url + "/wissen")
    assert _serious_violations(author) == []
    author.click("text=Wohnsitz abmelden")
    author.click("text=Notiz bearbeiten")
    author.fill("#f-unterlagen", "- Personalausweis oder Reisepass\n- bei Wegzug ins Ausland: die neue Anschrift im "
                                 "Ausland, falls schon bekannt")
    author.fill("#f-ablauf", "1. Ausweis prüfen\n2. Im Fachverfahren die Maske ‚Abmeldung‘ öffnen\n3. "
                             "Abmeldebestätigung drucken und aushändigen")
    author.fill("#f-fehler", "Eine Abmeldung ist nur beim Wegzug ins Ausland nötig; wer innerhalb Deutschlands "
                             "umzieht, meldet sich nur am neuen Ort an.")
    author.click("button[value=vorschau]")
    assert "Abmeldebestätigung drucken" in author.locator(".preview").inner_text()
    assert author.locator(".preview ol li").count() == 3  # the Markdown list is rendered
    assert _serious_violations(author) == []
    _shot(author, "wissen-notiz-bearbeiten.png")
    author.click("button[value=einreichen]")
    author.wait_for_selector(".notice")
    assert "zur Freigabe eingereicht" in author.locator(".notice").inner_text()

    reader = browser.new_context().new_page()
    _sign_in(reader, url, "rita", PASSWORD)
    reader.goto(url + "/")
    reader.fill("#q", QUESTION)
    with reader.expect_navigation():
        reader.keyboard.press("Enter")
    assert "neue Anschrift im Ausland" not in reader.content()  # submitted, not released

    approver = browser.new_context().new_page()
    _sign_in(approver, url, "petra", PASSWORD)
    approver.goto(url + "/wissen")
    approver.click("text=Wohnsitz abmelden")
    assert "zur Freigabe eingereicht" in approver.content()
    assert _serious_violations(approver) == []
    _shot(approver, "wissen-freigabe.png")
    approver.click("button:has-text('Freigeben')")
    approver.wait_for_selector(".notice")
    assert "freigegeben" in approver.locator(".notice").inner_text()

    reader.goto(url + "/")
    reader.fill("#q", QUESTION)
    reader.keyboard.press("Enter")
    reader.wait_for_selector(".notes .result")
    note = reader.locator(".notes .result").first
    text = note.inner_text()
    assert "Wohnsitz abmelden" in text  # a section of the released note leads the notes list
    assert "geschrieben von paula" in text and "freigegeben von petra am 20" in text
    assert "neue Anschrift im Ausland" in reader.locator(".notes").text_content()  # its "Unterlagen" among them
    assert _serious_violations(reader) == []
    _shot(reader, "wissen-antwort.png")

    officer = browser.new_context(accept_downloads=True).new_page()
    _sign_in(officer, url, "olga", PASSWORD)
    officer.goto(url + "/wissen/uebergabe?einheit=buergerbuero")
    assert "neue Anschrift im Ausland" in officer.content()
    assert _serious_violations(officer) == []
    with officer.expect_download() as download:
        officer.click("text=Als PDF herunterladen")
    pdf = PdfReader(io.BytesIO(open(download.value.path(), "rb").read()))
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert "Wohnsitz abmelden" in text and "neue Anschrift im Ausland" in text and "freigegeben von petra" in text

    officer.goto(url + "/wissen/abdeckung")
    officer.select_option("#person", "otto")
    officer.fill("#datum", "2027-02-28")
    officer.click("button:has-text('Eintragen')")
    officer.wait_for_selector(".notice")
    officer.select_option("#nur", "risiko")
    officer.click("button:has-text('Anzeigen')")
    officer.wait_for_selector("#aufgaben table")
    table = officer.locator("#aufgaben tbody").inner_text()
    assert "Fundsache annehmen" in table and "gefährdet" in table  # otto leaves, no released note
    assert "Wohnsitz abmelden" not in table and "Reisepass beantragen" not in table
    assert "nur=risiko" in officer.url  # the view is a link
    assert _serious_violations(officer) == []
    _shot(officer, "wissen-abdeckung.png")
