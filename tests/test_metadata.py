"""Versions' companions: validity dates, owner, review date and keywords."""

import datetime as dt
import shutil

import pytest
from fastapi.testclient import TestClient

from amtswissen.settings import Settings
from ingest.metadata import MetadataError, from_mapping
from ingest.pipeline import ingest
from index.local import IndexStore
from service.api import create_app
from search.searcher import Searcher
from tests.conftest import LAWS, MODEL_DIR

NOTE = "# Fundbüro\n\nFundsachen werden im Bürgerbüro sechs Monate aufbewahrt.\n"


def test_dates_in_both_spellings_and_bad_dates():
    m = from_mapping({"gueltig_bis": "31.12.2025", "zuletzt_geprueft": dt.date(2024, 6, 30), "schlagworte": "a, b"})
    assert (m.valid_until, m.reviewed_at, m.keywords) == ("2025-12-31", "2024-06-30", ["a", "b"])
    with pytest.raises(MetadataError, match="gueltig_ab"):
        from_mapping({"gueltig_ab": "bald"})


def test_sidecar_validity_and_review(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fund.md").write_text(NOTE, encoding="utf-8")
    shutil.copy(LAWS / "pauswgebv.md", docs)
    sidecar = docs / "fund.meta.yaml"
    sidecar.write_text("title: Fundsachen – Ablauf\nzustaendig: Bürgerbüro, Frau Beispiel\n"
                       "zuletzt_geprueft: 2020-01-15\nschlagworte: [Fundbüro, Aufbewahrung]\n", encoding="utf-8")
    store = IndexStore(tmp_path / "index")
    ingest([docs], store, embedder)
    searcher = Searcher(Settings(index=tmp_path / "index", model=MODEL_DIR), embedder)
    top = searcher.search("Wie lange werden Fundsachen aufbewahrt?", 3).results[0]
    assert top.document.title == "Fundsachen – Ablauf"
    assert top.document.owner == "Bürgerbüro, Frau Beispiel"
    assert top.document.keywords == ["Fundbüro", "Aufbewahrung"]
    assert top.document.review_overdue is True

    # editing only the sidecar is a change; an expired document no longer answers
    sidecar.write_text("gueltig_bis: 2021-12-31\n", encoding="utf-8")
    report = ingest([docs], store, embedder)
    assert (report.updated, report.chunks) == (1, 1)  # the title changed, so its one piece is embedded anew
    results = searcher.search("Wie lange werden Fundsachen aufbewahrt?", 5).results
    assert all(r.document.source != "fund.md" for r in results)
    expired = searcher.search("Wie lange werden Fundsachen aufbewahrt?", 5, include_expired=True).results
    assert expired[0].document.source == "fund.md" and expired[0].document.valid_until == "2021-12-31"


def test_front_matter_and_upload_form(tmp_path, embedder):
    settings = Settings(index=tmp_path / "index", model=MODEL_DIR, api_key="k")
    with TestClient(create_app(settings, embedder)) as c:
        front = "---\ntitle: Hundesteuer-Merkblatt\ngueltig_ab: 2024-01-01\n---\n\n# Hundesteuer\n\nDie Steuer ist jährlich zu zahlen.\n"
        r = c.post("/api/documents", files={"file": ("hund.md", front.encode())}, headers={"X-API-Key": "k"})
        assert r.status_code == 201
        r = c.post("/api/documents", files={"file": ("fund.md", NOTE.encode())}, headers={"X-API-Key": "k"},
                   data={"gueltig_bis": "2099-01-01", "zustaendig": "Bürgerbüro", "schlagworte": "Fundbüro, Fristen"})
        assert r.status_code == 201, r.text
        hund = c.get("/api/search", params={"q": "Hundesteuer jährlich"}).json()["results"][0]["document"]
        assert (hund["title"], hund["valid_from"]) == ("Hundesteuer-Merkblatt", "2024-01-01")
        fund = c.get("/api/search", params={"q": "Fundsachen aufbewahrt"}).json()["results"][0]["document"]
        assert (fund["valid_until"], fund["owner"], fund["keywords"]) == ("2099-01-01", "Bürgerbüro", ["Fundbüro", "Fristen"])
        r = c.post("/api/documents", files={"file": ("x.md", NOTE.encode())}, headers={"X-API-Key": "k"},
                   data={"gueltig_bis": "irgendwann"})
        assert r.status_code == 422 and "gueltig_bis" in r.json()["detail"]
