"""Knowledge officers' API: upload, replace, delete, history — and search follows at once."""


import io
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader, PdfWriter

from amtswissen.settings import Settings
from service.api import create_app
from tests.conftest import MELDESCHEIN, MODEL_DIR, api_settings, needs_ocr, served, small_index

KEY = {"X-API-Key": "geheim-123"}
NOTE_V1 = "# Fundbüro\n\nFundsachen werden im Bürgerbüro sechs Monate aufbewahrt.\n"
NOTE_V2 = "# Fundbüro\n\nFundsachen werden im Bürgerbüro drei Monate aufbewahrt und dann versteigert.\n"


@pytest.fixture()
def client(tmp_path, embedder):
    settings = Settings(index=small_index(tmp_path, embedder), model=MODEL_DIR, api_key="geheim-123",
                        default_visibility="oeffentlich")
    with TestClient(create_app(settings, embedder)) as c:
        yield c


def _texts(client, q):
    return [r["text"] for r in client.get("/api/search", params={"q": q, "k": 10}).json()["results"]]


def test_upload_replace_delete_cycle(client):
    r = client.post("/api/documents", files={"file": ("fundsachen.md", NOTE_V1.encode())},
                    data={"collection": "buergerbuero"}, headers=KEY)
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    assert r.json()["added"] == 1
    assert any("sechs Monate aufbewahrt" in t for t in _texts(client, "Wie lange werden Fundsachen aufbewahrt?"))

    listing = client.get("/api/documents").json()["documents"]
    mine = next(d for d in listing if d["id"] == doc_id)
    assert (mine["collection"], mine["version"], mine["status"]) == ("buergerbuero", 1, "ok")

    r = client.put(f"/api/documents/{doc_id}", files={"file": ("fundsachen.md", NOTE_V2.encode())}, headers=KEY)
    assert r.status_code == 200 and r.json()["updated"] == 1
    texts = _texts(client, "Wie lange werden Fundsachen aufbewahrt?")
    assert any("drei Monate aufbewahrt" in t for t in texts)
    assert not any("sechs Monate" in t for t in texts)  # the outdated version never answers again
    detail = client.get(f"/api/documents/{doc_id}").json()
    assert [v["event"] for v in detail["versions"]] == ["added", "updated"]
    assert detail["version"] == 2

    assert client.delete(f"/api/documents/{doc_id}", headers=KEY).status_code == 204
    assert client.get(f"/api/documents/{doc_id}").status_code == 404
    assert not any("Fundsachen" in t for t in _texts(client, "Fundsachen aufbewahrt"))

    runs = client.get("/api/ingest/runs", headers=KEY).json()
    assert [r["report"]["files"][0]["outcome"] for r in runs[:3]] == ["removed", "updated", "added"]


def test_write_access_needs_the_key(client):
    files = {"file": ("a.md", b"# A\n\nText.\n")}
    assert client.post("/api/documents", files=files).status_code == 401
    assert client.post("/api/documents", files=files, headers={"X-API-Key": "falsch"}).status_code == 401
    assert client.delete("/api/documents/xyz", headers=KEY).status_code == 404


def test_bad_uploads_are_422(client):
    r = client.post("/api/documents", files={"file": ("bild.png", b"\x89PNG")}, headers=KEY)
    assert r.status_code == 422
    r = client.post("/api/documents", files={"file": ("kaputt.pdf", b"%PDF-1.4 kaputt")}, headers=KEY)
    assert r.status_code == 422 and "beschädigt" in r.json()["detail"]


def test_without_a_configured_key_writing_is_off(tmp_path, embedder):
    settings = Settings(index=tmp_path / "i", model=MODEL_DIR, api_key=None)
    with TestClient(create_app(settings, embedder)) as c:
        r = c.post("/api/documents", files={"file": ("a.md", b"# A\n\nText.\n")}, headers=KEY)
        assert r.status_code == 401 and "Zugangsdaten" in r.json()["detail"]


def test_a_new_version_keeps_the_metadata(client):
    r = client.post("/api/documents", files={"file": ("alt.md", NOTE_V1.encode())}, headers=KEY,
                    data={"gueltig_bis": "2020-01-01", "zustaendig": "Amt 7", "schlagworte": "Fund"})
    doc_id = r.json()["id"]
    assert not any("Fundsachen" in t for t in _texts(client, "Fundsachen aufbewahrt"))  # expired: does not answer
    for send in (lambda: client.put(f"/api/documents/{doc_id}", files={"file": ("alt.md", NOTE_V2.encode())}, headers=KEY),
                 lambda: client.post("/api/documents", files={"file": ("alt.md", NOTE_V1.encode())}, headers=KEY)):
        assert send().status_code in (200, 201)
        assert not any("Fundsachen" in t for t in _texts(client, "Fundsachen aufbewahrt"))  # still expired
    hit = client.get("/api/search", params={"q": "Fundsachen aufbewahrt", "include_expired": True}).json()["results"][0]
    assert (hit["document"]["valid_until"], hit["document"]["owner"], hit["document"]["keywords"]) == \
        ("2020-01-01", "Amt 7", ["Fund"])
    r = client.put(f"/api/documents/{doc_id}", files={"file": ("alt.md", NOTE_V2.encode())}, headers=KEY,
                   data={"gueltig_bis": "2099-12-31"})
    assert any("drei Monate" in t for t in _texts(client, "Fundsachen aufbewahrt"))  # the form changes it


@needs_ocr
def test_a_delete_during_a_replace_wins(tmp_path, embedder):
    writer = PdfWriter()
    for page in PdfReader(MELDESCHEIN).pages:
        writer.add_page(page)
    for _ in range(12):  # pages that need OCR: the replace takes a while
        writer.add_blank_page(595, 842)
    slow = io.BytesIO()
    writer.write(slow)
    settings = api_settings(tmp_path, embedder)
    with served(create_app(settings, embedder)) as base:
        doc_id = httpx.post(f"{base}/api/documents", files={"file": ("melde.pdf", MELDESCHEIN.read_bytes())},
                            headers=KEY, timeout=300).json()["id"]
        answers = {}
        t = threading.Thread(target=lambda: answers.setdefault("put", httpx.put(
            f"{base}/api/documents/{doc_id}", files={"file": ("melde.pdf", slow.getvalue())}, headers=KEY,
            timeout=600)))
        t.start()
        for _ in range(600):
            if list((settings.index / ".staging").glob("*/melde.pdf")):
                break
            time.sleep(0.05)
        assert httpx.delete(f"{base}/api/documents/{doc_id}", headers=KEY, timeout=300).status_code == 204
        t.join()
        assert answers["put"].status_code == 404, answers["put"].text
        assert httpx.get(f"{base}/api/documents/{doc_id}").status_code == 404
