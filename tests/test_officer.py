"""Knowledge officers' pages: login, upload several files, list, delete, history."""

import re
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient

from amtswissen.settings import Settings
from service.api import create_app
from tests.conftest import MODEL_DIR, OFFICER, OFFICER_PASSWORD, add_user, login, small_index


@pytest.fixture()
def client(tmp_path, embedder):
    settings = Settings(index=small_index(tmp_path, embedder), model=MODEL_DIR, default_visibility="oeffentlich")
    add_user(settings, OFFICER, OFFICER_PASSWORD)  # officer of the whole default tenant
    with TestClient(create_app(settings, embedder)) as c:
        yield c


def test_login_upload_delete_history(client):
    assert client.get("/verwaltung", follow_redirects=False).headers["location"] == "/verwaltung/anmelden"
    assert login(client, OFFICER, "falsch").headers["location"].endswith("fehler=1")
    login(client)
    page = client.get("/verwaltung").text
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    files = [("dateien", ("fund.md", b"# Fund\n\nFundsachen werden sechs Monate aufbewahrt.\n")),
             ("dateien", ("hund.md", b"# Hund\n\nDie Hundesteuer ist jaehrlich zu zahlen.\n")),
             ("dateien", ("bild.png", b"\x89PNG"))]
    r = client.post("/verwaltung/hochladen", files=files, data={"token": token, "sammlung": "buergerbuero"})
    assert "2 Datei(en) übernommen" in r.text and "bild.png" in r.text
    hit = client.get("/api/search", params={"q": "Fundsachen aufbewahrt", "k": 1}).json()["results"][0]
    assert hit["document"]["source"] == "fund.md" and hit["document"]["collection"] == "buergerbuero"
    assert "fund.md" in r.text and "Einlese-Verlauf" in r.text
    r = client.post(f"/verwaltung/loeschen/{hit['document']['id']}", data={"token": token})
    assert "Dokument entfernt" in r.text
    assert all(x["document"]["source"] != "fund.md"
               for x in client.get("/api/search", params={"q": "Fundsachen aufbewahrt"}).json()["results"])


def test_forms_need_session_and_token(client):
    r = client.post("/verwaltung/loeschen/x", data={"token": "abc"})
    assert r.status_code == 403
    login(client)
    assert client.post("/verwaltung/loeschen/x", data={"token": "abc"}).status_code == 403


def test_readers_are_sent_to_their_account_page_and_cannot_write(tmp_path, embedder, client):
    add_user(client.app.state.settings, "leser", "Leser-Passwort-1", role="reader")
    login(client, "leser", "Leser-Passwort-1")
    assert client.get("/verwaltung", follow_redirects=False).headers["location"] == "/konto"
    token = re.search(r'name="token" value="([0-9a-f]+)"', client.get("/konto").text).group(1)
    r = client.post("/verwaltung/hochladen", files=[("dateien", ("fund.md", b"# Fund\n\nText.\n"))],
                    data={"token": token, "sammlung": "default"}, follow_redirects=False)
    assert "Keine Schreibrechte" in unquote_plus(r.headers["location"])
    assert client.get("/verwaltung/auswertung").status_code == 403


def test_evaluation_page_runs_a_question_file_and_keeps_the_trend(client):
    import json

    login(client)
    token = re.search(r'name="token" value="([0-9a-f]+)"', client.get("/verwaltung/auswertung").text).group(1)
    questions = "\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"question": "Was kostet ein Personalausweis?", "doc": "pauswgebv.md", "answer_contains": ["37 Euro"]},
        {"question": "Hundesteuer Höhe", "doc": "gibtsnicht.md", "answer_contains": ["nie"]},
    ])
    for _ in range(2):
        r = client.post("/verwaltung/auswertung", files={"fragen": ("ref.jsonl", questions.encode())},
                        data={"token": token})
        assert r.status_code == 200
    assert "Hundesteuer Höhe" in r.text and "<svg" in r.text
    assert r.text.count('class="hit5">0.500<') == 2
    bad = client.post("/verwaltung/auswertung", files={"fragen": ("x.jsonl", b"{kaputt")}, data={"token": token})
    assert bad.status_code == 422


def test_a_file_name_cannot_write_the_status_message(client):
    from urllib.parse import parse_qs, urlsplit

    login(client)
    token = re.search(r'name="token" value="([0-9a-f]+)"', client.get("/verwaltung").text).group(1)
    r = client.post("/verwaltung/hochladen", files=[("dateien", ("a&meldung=Gefälscht#.exe", b"x"))],
                    data={"token": token}, follow_redirects=False)
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert list(query) == ["meldung"] and query["meldung"][0].startswith("0 Datei(en) übernommen")


def test_too_many_form_fields_get_a_german_400(client):
    r = client.post("/verwaltung/anmelden", data={f"f{i}": "x" for i in range(1200)})
    assert r.status_code == 400 and r.json()["detail"] == "Zu viele Formularfelder in der Anfrage."
