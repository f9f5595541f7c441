"""The HTTP contract, on a real index of real documents."""

import pytest
from fastapi.testclient import TestClient

from service.api import create_app


@pytest.fixture(scope="module")
def client(settings, embedder):
    with TestClient(create_app(settings, embedder)) as c:
        yield c


def test_search_returns_the_answering_passage(client):
    r = client.get("/api/search", params={"q": "Wie lange ist ein Perso gültig?", "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "Wie lange ist ein Perso gültig?"
    assert body["took_ms"] > 0
    assert [x["rank"] for x in body["results"]] == [1, 2, 3, 4, 5]
    top = body["results"][0]
    assert top["document"]["source"] == "pauswg.md"
    assert "§ 6 Gültigkeitsdauer des Ausweises" in top["section"]
    assert "Gültigkeitsdauer von zehn Jahren" in top["text"]
    assert "zehn Jahren" in top["highlight"] and top["highlight"] in top["text"]
    assert top["page"] is None
    assert top["document"]["url"] == f"/api/documents/{top['document']['id']}/file"
    assert not top["text"].startswith("passage:")


def test_pdf_result_has_page_and_page_link(client):
    body = client.get("/api/search", params={"q": "Widerspruch Datenübermittlung an Adressbuchverlage"}).json()
    top = next(x for x in body["results"] if x["document"]["source"].endswith(".pdf"))
    assert top["document"]["source"] == "formulare/de_meldeschein_hinweispflichten.pdf"
    assert top["page"] == 2
    assert top["document"]["url"].endswith("#page=2")


def test_document_file_is_the_original(client, corpus_dir):
    body = client.get("/api/search", params={"q": "Gebühr Personalausweis", "k": 3}).json()
    doc = body["results"][0]["document"]
    r = client.get(doc["url"].split("#")[0])
    assert r.status_code == 200
    assert r.content == (corpus_dir / doc["source"]).read_bytes()
    assert client.get("/api/documents/gibtsnicht/file").status_code == 404


def test_health_counts(client):
    r = client.get("/api/health").json()
    assert r["status"] == "ok" and r["documents"] == 3 and r["chunks"] > 50


@pytest.mark.parametrize(
    "params",
    [{"q": ""}, {"q": "   "}, {"q": "x" * 1001}, {"q": "Pass", "k": 0}, {"q": "Pass", "k": 101},
     {"q": "Pass", "k": "zehn"}, {}],
)
def test_bad_parameters_are_422_with_detail(client, params):
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    assert "detail" in r.json()


def test_search_page_renders_results_in_german(client):
    r = client.get("/", params={"q": "Perso verloren"})
    assert r.status_code == 200
    html = r.text
    assert '<html lang="de">' in html
    assert "Im Dokument öffnen" in html and "<mark>" in html
    assert client.get("/").status_code == 200
    assert "Ihre Frage" in client.get("/").text


def test_openapi_and_docs(client):
    assert client.get("/docs").status_code == 200
    assert "/api/search" in client.get("/openapi.json").json()["paths"]


def test_document_page_shows_metadata_versions_and_anchored_passages(client):
    body = client.get("/api/search", params={"q": "Wie lange ist ein Perso gültig?", "k": 1}).json()
    top = body["results"][0]
    page = client.get(f"/dokument/{top['document']['id']}")
    assert page.status_code == 200
    assert f'id="abschnitt-{top["passage_id"]}"' in page.text
    assert "Versionen" in page.text and "hinzugefügt" in page.text
    assert client.get("/dokument/gibtsnicht").status_code == 404
    html = client.get("/", params={"q": "Wie lange ist ein Perso gültig?"}).text
    assert f'/dokument/{top["document"]["id"]}#abschnitt-{top["passage_id"]}' in html


def test_filters_by_collection_and_kind(client):
    q = {"q": "Widerspruch Datenübermittlung", "k": 10}
    only_pdf = client.get("/api/search", params={**q, "kind": "pdf"}).json()["results"]
    assert only_pdf and all(r["document"]["source"].endswith(".pdf") for r in only_pdf)
    assert client.get("/api/search", params={**q, "collection": "gibtsnicht"}).json()["results"] == []
    assert client.get("/api/search", params={**q, "kind": "exe"}).status_code == 422
    html = client.get("/", params={"q": "Widerspruch", "typ": "pdf"}).text
    assert "de_meldeschein_hinweispflichten.pdf" in html and "pauswg.md" not in html
