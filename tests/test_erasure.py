"""Delete deletes (DSGVO Art. 17): after DELETE no copy of the file and no trace of its text
is left anywhere in the index folder; the version history can be purged too."""

import pytest

from tests.conftest import API_KEY, api_client

KEY = {"X-API-Key": API_KEY}
V1 = "# Aussage\n\nDie Zeugin Quirinella Zwetschkenbaum wohnt in der Holunderallee 17 in Kleinposemuckel.\n"
V2 = "# Aussage\n\nDie Zeugin Quirinella Zwetschkenbaum ist in die Brombeergasse 4 nach Oberschnuckelhausen verzogen.\n"
# as written and as the German analysis stores them (lower case, folded, stemmed, split)
TRACES = [b"zwetschkenb", b"quirinell", b"holunderall", b"kleinposemuck", b"brombeerg", b"oberschnuckel"]


def _traces(folder):
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [(path.name, t.decode()) for t in TRACES if t in data]
    return found


@pytest.fixture()
def client(tmp_path, embedder):
    with api_client(tmp_path, embedder) as c:
        yield c


def test_delete_erases_file_text_and_vectors_of_every_version(client):
    index = client.app.state.settings.index
    files_before = set((index / "files").rglob("*"))
    r = client.post("/api/documents", files={"file": ("aussage.md", V1.encode())}, data={"collection": "akten"},
                    headers=KEY)
    doc_id = r.json()["id"]
    assert client.put(f"/api/documents/{doc_id}", files={"file": ("aussage.md", V2.encode())},
                      headers=KEY).status_code == 200
    assert _traces(index)  # the test can see a trace while the document exists
    assert len(set((index / "files").rglob("*.md")) - files_before) == 2  # both versions' originals

    assert client.delete(f"/api/documents/{doc_id}", headers=KEY).status_code == 204
    assert client.get(f"/api/documents/{doc_id}/file").status_code == 404
    assert _traces(index) == []  # SQLite pages, WAL, FAISS and BM25 generations, originals, staging
    assert set((index / "files").rglob("*.md")) - files_before == set()
    assert not (index / "amtswissen.sqlite-wal").exists() or (index / "amtswissen.sqlite-wal").stat().st_size == 0
    # the record that it existed stays until the history is purged
    versions = client.get(f"/api/documents/{doc_id}")
    assert versions.status_code == 404
    assert "aussage.md" in str(client.get("/api/ingest/runs", headers=KEY).json())
    # the other documents still answer
    assert client.get("/api/search", params={"q": "Gebühr Personalausweis"}).json()["results"]

    purged = client.delete(f"/api/documents/{doc_id}/history", headers=KEY)
    assert purged.status_code == 200 and purged.json()["versions_erased"] == 3  # added, updated, removed
    runs = client.get("/api/ingest/runs", headers=KEY).json()
    assert "aussage.md" not in str(runs) and "(gelöscht)" in str(runs)
    assert client.delete(f"/api/documents/{doc_id}/history", headers=KEY).status_code == 404


def test_purging_a_current_documents_history_keeps_the_current_version(client):
    index = client.app.state.settings.index
    r = client.post("/api/documents", files={"file": ("aussage.md", V1.encode())}, headers=KEY)
    doc_id = r.json()["id"]
    client.put(f"/api/documents/{doc_id}", files={"file": ("aussage.md", V2.encode())}, headers=KEY)
    assert client.delete(f"/api/documents/{doc_id}/history", headers=KEY).json()["versions_erased"] == 1
    info = client.get(f"/api/documents/{doc_id}").json()
    assert [v["version"] for v in info["versions"]] == [2]
    assert client.get(info["url"]).content == V2.encode()
    assert b"holunderall" not in b"".join(p.read_bytes().lower() for p in (index / "files").rglob("*") if p.is_file())


def test_purge_also_clears_the_name_from_failed_attempts(client):
    r = client.post("/api/documents", files={"file": ("aussage.md", V1.encode())}, headers=KEY)
    doc_id = r.json()["id"]
    # a refused new version (empty file) is in the run log with the name
    assert client.put(f"/api/documents/{doc_id}", files={"file": ("aussage.md", b"")}, headers=KEY).status_code == 422
    client.delete(f"/api/documents/{doc_id}", headers=KEY)
    client.delete(f"/api/documents/{doc_id}/history", headers=KEY)
    assert "aussage.md" not in str(client.get("/api/ingest/runs", headers=KEY).json())


def test_a_refused_upload_leaves_nothing(client):
    index = client.app.state.settings.index
    before = {p for p in index.rglob("*") if p.is_file() and not p.name.startswith("amtswissen.sqlite")}
    r = client.post("/api/documents", files={"file": ("kaputt.pdf", b"%PDF-1.4 Quirinella Zwetschkenbaum")},
                    headers=KEY)
    assert r.status_code == 422
    after = {p for p in index.rglob("*") if p.is_file() and not p.name.startswith("amtswissen.sqlite")}
    assert after == before


def test_cli_delete_with_history_erases_everything(tmp_path, capsys):
    from amtswissen.cli import main
    from index.local import IndexStore

    docs, index = tmp_path / "akten", tmp_path / "index"
    docs.mkdir()
    (docs / "aussage.md").write_text(V1, encoding="utf-8")
    assert main(["ingest", str(docs / "aussage.md"), "--index", str(index), "--json"]) == 0
    store = IndexStore(index)
    doc_id = store.list_documents()[0].id
    store.close()
    assert main(["delete", doc_id, "--history", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "entfernt" in out and "Versionsgeschichte gelöscht (2 Einträge)" in out
    assert _traces(index) == []
    assert main(["delete", doc_id, "--index", str(index)]) == 1


def test_the_name_of_a_refused_upload_can_be_purged(client):
    assert client.post("/api/documents", files={"file": ("Akte-Mustermann.pdf", b"%PDF-1.4 kaputt")},
                       headers=KEY).status_code == 422
    entry = client.get("/api/ingest/runs", headers=KEY).json()[0]["report"]["files"][0]
    assert entry["source"] == "Akte-Mustermann.pdf" and entry["outcome"] == "failed"
    assert client.delete(f"/api/documents/{entry['doc_id']}/history", headers=KEY).status_code == 200
    assert "Mustermann" not in str(client.get("/api/ingest/runs", headers=KEY).json())
