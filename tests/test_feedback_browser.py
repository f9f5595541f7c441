"""Issue 15 in a real browser (Chromium via Playwright, axe-core on every page): a reader marks a
result "hilft nicht – veraltet" without JavaScript help; a question nothing answers is asked;
the responsible officer finds both in the queue, with the document and the reason, and
resolves the document entry by creating a task for a note. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil

import pytest

from amtswissen.settings import Settings
from ingest import writes
from knowledge.demo import install_demo
from service.api import create_app
from tests.conftest import LAWS, MODEL_DIR, served
from tests.test_browser import ARTIFACTS, _serious_violations, _sign_in, browser, pytestmark  # noqa: F401

PASSWORD = "Browser-Rueckmeldung-1"
FEES = "Was kostet ein Personalausweis?"
NOTHING = "Wann hat der Wertstoffhof samstags geöffnet?"
APPS: dict = {}  # url → the app behind it (to set up what a test needs server-side)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("rueckmeldung")
    laws = folder / "gesetze"
    laws.mkdir()
    shutil.copy(LAWS / "pauswgebv.md", laws)
    settings = Settings(index=folder / "index", model=MODEL_DIR, search_per_minute=0)
    backend = settings.backend()
    writes.sync_sources(backend, embedder, [laws], "default", "test")
    backend.close()
    app = create_app(settings, embedder)
    with served(app) as url:
        install_demo(app.state.knowledge, password=PASSWORD, release=False)
        app.state.knowledge.access.store.grant("standard", "user", "olga", "officer", "default", "test")
        APPS[url] = app
        yield url


def _search(page, url: str, question: str) -> None:
    page.goto(url + "/")
    page.fill("#q", question)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_reader_reports_an_outdated_result_and_the_officer_turns_it_into_a_task(browser, app_url):  # noqa: F811
    url = app_url
    reader = browser.new_context(java_script_enabled=False).new_page()  # the form needs no script
    _search(reader, url, FEES)
    first = reader.locator("li.result").first
    title = first.locator(".where strong").inner_text()
    first.locator("summary:has-text('Grund angeben')").click()
    first.locator("select[name=grund]").select_option("veraltet")
    first.locator("textarea[name=anmerkung]").fill("Die Gebühr wurde erhöht.")
    with reader.expect_navigation():
        first.locator("button:has-text('mit Grund senden')").click()
    assert "Danke für Ihre Rückmeldung" in reader.locator("[role=status]").inner_text()
    assert reader.locator("#q").input_value() == FEES  # back at the same results
    # axe needs script (page.evaluate would wait forever without it): the same page with script
    staff = browser.new_context().new_page()
    _search(staff, url, NOTHING)
    assert staff.locator("form.feedback").count() >= 1
    assert _serious_violations(staff) == []

    officer = browser.new_context().new_page()
    _sign_in(officer, url, "olga", PASSWORD)
    officer.goto(url + "/verwaltung")
    officer.click("text=Rückmeldungen")
    questions = officer.locator("#fragen").inner_text()
    assert NOTHING in questions and "ohne gutes Ergebnis" in questions
    entry = officer.locator("#dokumente article").first
    text = entry.inner_text()
    assert title in text and "veraltet: 1" in text and "Die Gebühr wurde erhöht." in text and FEES in text
    assert _serious_violations(officer) == []
    ARTIFACTS.mkdir(exist_ok=True)
    officer.screenshot(path=str(ARTIFACTS / "rueckmeldungen-warteschlange.png"), full_page=True)
    entry.locator("input[name=name]").fill("Gebühren Personalausweis aktualisieren")
    entry.locator("select[name=sammlung]").select_option("buergerbuero")
    with officer.expect_navigation():
        entry.locator("button:has-text('Aufgabe anlegen')").click()
    assert "/wissen/aufgabe/" in officer.url
    assert "Gebühren Personalausweis aktualisieren" in officer.content()
    officer.goto(url + "/verwaltung/rueckmeldungen")
    assert "Aufgabe angelegt" in officer.locator("section[aria-labelledby=erledigt-h]").inner_text()
    assert title not in officer.locator("#dokumente").inner_text()
    assert _serious_violations(officer) == []
    # the overview's charts and the review list: accessible too
    for path, shot in (("/verwaltung/uebersicht?tage=7", "rueckmeldungen-uebersicht.png"),
                       ("/verwaltung/wiedervorlage", "wiedervorlage.png")):
        officer.goto(url + path)
        assert _serious_violations(officer) == []
        officer.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    assert officer.locator("svg[role=img]").count() == 0  # (the review list has no charts)
    officer.goto(url + "/verwaltung/uebersicht?tage=7")
    assert officer.locator("svg[role=img]").count() == 4


def test_a_synonym_change_that_breaks_a_reference_question_is_shown_before_saving(
        browser, app_url, embedder, tmp_path):  # noqa: F811 - the fixture
    from knowledge.demo import rights_of

    url, app = app_url, APPS[app_url]
    folder = tmp_path / "zeiten"
    folder.mkdir()
    (folder / "zeiten.md").write_text("# Öffnungszeiten\n\n## § 1 Wertstoffhof\n\nDer Wertstoffhof ist samstags von "
                                      "9 bis 13 Uhr geöffnet.\n\n## § 2 Stadtbücherei\n\nDie Stadtbücherei hat "
                                      "dienstags bis samstags offen, jeweils von 10 bis 18 Uhr.\n", encoding="utf-8")
    writes.sync_sources(app.state.searcher.backend, embedder, [folder], "default", "test")
    olga = rights_of(app.state.knowledge, "olga")
    app.state.synonym_lists.save(olga, "sammlung:default", "wsh = Wertstoffhof\n")
    question = "Wann hat der WSH offen?"
    top = app.state.searcher.search(question, 5, readable=frozenset({"default"})).results[0]
    assert top.document.source.endswith("zeiten.md")
    app.state.feedback.store.add_reference("standard", "default", question, "zeiten.md", top.document.id, "§ 1",
                                           ["samstags von 9 bis 13 Uhr"], "olga")

    officer = browser.new_context().new_page()
    _sign_in(officer, url, "olga", PASSWORD)
    officer.goto(url + "/verwaltung")
    officer.click("text=Synonyme")
    officer.select_option("#bereich-wahl", "sammlung:default")
    with officer.expect_navigation():
        officer.click("button:has-text('Öffnen')")
    assert "wsh = Wertstoffhof" in officer.locator("#text").input_value()
    officer.fill("#text", "# Kürzel gestrichen\n")
    with officer.expect_navigation():
        officer.click("button:has-text('Wirkung prüfen')")
    alert = officer.locator("[role=alert]").inner_text()
    assert "1 Referenzfrage(n) würden schlechter gefunden" in alert
    row = officer.locator("tr.risk").inner_text()
    assert question in row and "zeiten.md § 1" in row and "schlechter" in row
    assert _serious_violations(officer) == []
    officer.screenshot(path=str(ARTIFACTS / "synonyme-vorschau.png"), full_page=True)
    assert app.state.synonym_lists.text(olga, "sammlung:default") == "wsh = Wertstoffhof\n"  # nothing saved yet
    with officer.expect_navigation():
        officer.click("button:has-text('Trotzdem speichern')")
    assert "Gespeichert" in officer.locator("[role=status]").inner_text()
    assert app.state.synonym_lists.text(olga, "sammlung:default") == "# Kürzel gestrichen\n"
