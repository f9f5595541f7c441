"""Names from outside: collections are identifiers, file names are cleaned, never path parts."""

import email.message

import pytest

from ingest.names import InvalidName, check_collection, clean_filename
from tests.conftest import API_KEY, api_client, multipart

KEY = {"X-API-Key": API_KEY}
NOTE = b"# Fundbuero\n\nFundsachen werden sechs Monate aufbewahrt.\n"


@pytest.fixture()
def client(tmp_path, embedder):
    with api_client(tmp_path, embedder) as c:
        yield c


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../x", ".versteckt", "mit leerzeichen", "ä" * 65, "x\x00y"])
def test_collection_names_that_are_not_identifiers_are_422(client, name):
    index = client.app.state.settings.index
    before = set(index.parent.rglob("*"))
    r = client.post("/api/documents", files={"file": ("fund.md", NOTE)}, data={"collection": name}, headers=KEY)
    assert r.status_code == 422 and ("Sammlung" in r.json()["detail"] or "collection" in r.json()["detail"])
    assert all(str(p).startswith(str(index)) for p in set(index.parent.rglob("*")) - before)
    assert not (index / "fund.md").exists() and not (index.parent / "fund.md").exists()


def test_collection_names_with_umlauts_and_hyphens_work(client):
    r = client.post("/api/documents", files={"file": ("fund.md", NOTE)}, data={"collection": "Bürgerbüro-2"},
                    headers=KEY)
    assert r.status_code == 201
    assert client.get(f"/api/documents/{r.json()['id']}").json()["collection"] == "Bürgerbüro-2"


@pytest.mark.parametrize("raw, expected", [
    ("C:\\Users\\amt\\fund.md", "fund.md"),
    ("../../etc/fund.md", "fund.md"),
    ("fu\u202end.md", "fund.md"),           # right-to-left override removed
    ("fu\x00nd.md", "fund.md"),              # NUL removed
    ("a" * 300 + ".md", "a" * 147 + ".md"),  # shortened to 150 bytes, suffix kept
    ("ü" * 200 + ".pdf", "ü" * 73 + ".pdf"),
])
def test_clean_filename(raw, expected):
    assert clean_filename(raw) == expected


@pytest.mark.parametrize("raw", ["..", ".", "", "   ", "bild.png", "/", "\u202e"])
def test_unusable_file_names_are_refused(raw):
    with pytest.raises(InvalidName):
        clean_filename(raw)


def test_check_collection_keeps_identifiers():
    assert check_collection(" ordnungsamt_32 ") == "ordnungsamt_32"


@pytest.mark.parametrize("filename", ["a" * 300 + ".md", "b" * 250 + ".md", "nul\x00l.md", "rtl\u202egnp.md"])
def test_hostile_upload_names_get_a_clean_name_and_no_500(client, filename):
    body, headers = multipart({"collection": "namen"}, [("file", filename.encode(), NOTE)])
    r = client.post("/api/documents", content=body, headers={**headers, **KEY})
    assert r.status_code == 201, r.text
    source = client.get(f"/api/documents/{r.json()['id']}").json()["source"]
    assert len(source.encode()) <= 150 and "\x00" not in source and "\u202e" not in source
    assert source.endswith(".md")
    assert not list((client.app.state.settings.index / ".staging").glob("*"))


def test_upload_named_dotdot_is_422_and_leaves_nothing(client):
    index = client.app.state.settings.index
    before = set(index.rglob("*"))
    body, headers = multipart({}, [("file", b"..", NOTE)])
    r = client.post("/api/documents", content=body, headers={**headers, **KEY})
    assert r.status_code == 422 and "Dateiname" in r.json()["detail"]
    assert {p for p in index.rglob("*") if p not in before and ".staging" not in p.parts} <= {index / ".staging"}


def test_mail_with_an_attachment_named_dotdot_skips_it_and_keeps_the_rest(client):
    msg = email.message.EmailMessage()
    msg["Subject"] = "Fundsachen im Bürgerbüro"
    msg.set_content("Hallo, anbei die Regelung zu Fundsachen.")
    msg.add_attachment(b"Unsinn", maintype="application", subtype="octet-stream", filename="..")
    msg.add_attachment("Fundsachen werden sechs Monate im Fundbüro aufbewahrt.".encode(), maintype="text",
                       subtype="plain", filename="regel.txt")
    r = client.post("/api/documents", files={"file": ("post.eml", msg.as_bytes())}, headers=KEY)
    assert r.status_code == 201, r.text
    info = client.get(f"/api/documents/{r.json()['id']}").json()
    assert "Anhang 1 übersprungen" in info["problems"]
    assert "/tmp" not in info["problems"] and str(client.app.state.settings.index) not in info["problems"]
    hit = client.get("/api/search", params={"q": "Wie lange werden Fundsachen aufbewahrt?", "k": 1}).json()
    assert "sechs Monate" in hit["results"][0]["text"]
