"""The access matrix: every kind of caller × every kind of collection × every endpoint that
shows content (search API and page, highlights, typo suggestions, document list, details,
file, document page, counts, ingest runs, writes) — on both backends.

The expected rights are written out below by hand from the model's rules (access/model.py),
not computed by the code under test. Each collection holds one document with a made-up
word found nowhere else; a caller must find it, be corrected towards it, list, open and
download it exactly when the spec says so, and never see it otherwise."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from access.service import AccessService
from amtswissen.settings import Settings
from ingest import writes
from service.api import create_app
from tests.conftest import API_KEY, login, settings_on

PASSWORD = "Matrix-Passwort-1"
MARKERS = {  # collection → a word that occurs only in its document
    "oeff": "Trazomelin", "amt_a": "Pfondrikat", "geheim_a": "Glumbertose", "unreg": "Xaverlunde",
    "amt_b": "Brontavisk", "bund": "Kelmorajan", "geheim_b": "Quarbelnix",
}
TYPOS = {c: m[:4] + ("q" if m[4] != "q" else "x") + m[5:] for c, m in MARKERS.items()}  # one letter wrong

A_MEMBER = {"oeff", "amt_a", "unreg", "bund"}  # what every user of tenant A reads
A_ALL = A_MEMBER | {"geheim_a"}
# caller → (collections it reads, collections it edits)
SPEC: dict[str, tuple[set[str], set[str]]] = {
    "anonym": ({"oeff"}, set()),
    "anna": (A_MEMBER, set()),  # tenant A, no grants
    "paul": (A_ALL, set()),  # member of group "personal", which reads geheim_a
    "erik": (A_ALL, {"oeff", "amt_a", "geheim_a", "unreg"}),  # editor of tenant A
    "olaf": (A_ALL, {"geheim_a"}),  # officer of geheim_a only
    "adam": (A_ALL, {"oeff", "amt_a", "geheim_a", "unreg"}),  # admin of tenant A
    "otto": ({"oeff"}, set()),  # operator, in tenant "betrieb": no content
    "berta": ({"oeff", "amt_b", "bund"}, set()),  # tenant B
    "vera": (A_ALL, set()),  # deputy of paul today
    "veit": (A_MEMBER, set()),  # deputy of paul until yesterday
    "vroni": (A_MEMBER, {"amt_a"}),  # deputy of erik today, for amt_a only
    "tok_a": (A_MEMBER, set()),  # reader token of tenant A
    "tok_geheim": ({"oeff", "geheim_a"}, set()),  # reader token for geheim_a
    "tok_edit": (A_MEMBER, {"oeff", "amt_a", "unreg"}),  # editor token of tenant A
    "tok_revoked": (set(), set()),
    "tok_expired": (set(), set()),
    "schluessel": (A_ALL, {"oeff", "amt_a", "geheim_a", "unreg"}),  # installation key: admin of A
}
USERS = {"anna", "paul", "erik", "olaf", "adam", "otto", "berta", "vera", "veit", "vroni"}


@pytest.fixture(params=["folder", "postgres"])
def settings(request, tmp_path) -> Settings:
    return settings_on(request.param, request, tmp_path)


def _set_up(settings: Settings, embedder, tmp_path) -> dict[str, str]:
    """The index and the access model of the spec; returns the token secrets."""
    backend = settings.backend()
    for coll, marker in MARKERS.items():
        folder = tmp_path / "docs" / coll
        folder.mkdir(parents=True)
        (folder / f"{coll}.md").write_text(
            f"# Vermerk {coll}\n\n## Ablauf\n\nDas Verfahren {marker} regelt die Ausgabe von Bescheinigungen. "
            f"Zuständig für {marker} ist die Stelle im Haus.\n", encoding="utf-8")
        writes.sync_sources(backend, embedder, [folder], coll, "test")
    backend.close()
    access = AccessService.from_settings(settings)
    s, by = access.store, "test"
    s.add_tenant("nachbarstadt", "Nachbarstadt", by)
    s.add_tenant("betrieb", "Rechenzentrum", by)
    for coll, tenant, visibility in [("oeff", "standard", "oeffentlich"), ("amt_a", "standard", "mandant"),
                                     ("geheim_a", "standard", "eingeschraenkt"), ("amt_b", "nachbarstadt", "mandant"),
                                     ("bund", "nachbarstadt", "eingeschraenkt"),
                                     ("geheim_b", "nachbarstadt", "eingeschraenkt")]:
        s.set_collection(coll, tenant, visibility, by)
    s.share("bund", "standard", by)
    s.share("bund", "nachbarstadt", by)  # its own tenant reads it too
    for name in USERS:
        tenant = {"berta": "nachbarstadt", "otto": "betrieb"}.get(name, "standard")
        s.add_user(tenant, name, by, password=PASSWORD)
    s.add_group("standard", "personal", by)
    s.add_member("standard", "personal", "paul", by)
    s.grant("standard", "group", "personal", "reader", "geheim_a", by)
    s.grant("standard", "user", "erik", "editor", None, by)
    s.grant("standard", "user", "olaf", "officer", "geheim_a", by)
    s.grant("standard", "user", "adam", "admin", None, by)
    s.grant("betrieb", "user", "otto", "operator", None, by)
    today, day = date.today(), timedelta(days=1)
    s.add_deputy("paul", "vera", (today - day).isoformat(), (today + 13 * day).isoformat(), by)
    s.add_deputy("paul", "veit", (today - 14 * day).isoformat(), (today - day).isoformat(), by)
    s.add_deputy("erik", "vroni", today.isoformat(), today.isoformat(), by, ["amt_a"])
    tokens = {
        "tok_a": s.add_token("standard", "Leser", "reader", by)[1],
        "tok_geheim": s.add_token("standard", "Personal", "reader", by, ["geheim_a"])[1],
        "tok_edit": s.add_token("standard", "Fachverfahren", "editor", by)[1],
    }
    revoked, tokens["tok_revoked"] = s.add_token("standard", "alt", "reader", by)
    s.revoke_token("standard", revoked.id, by)
    tokens["tok_expired"] = s.add_token("standard", "abgelaufen", "reader", by,
                                        expires=(today - day).isoformat())[1]
    access.close()
    return tokens


def test_no_caller_sees_what_the_spec_does_not_allow(settings, embedder, tmp_path):
    tokens = _set_up(settings, embedder, tmp_path)
    leaks: list[str] = []
    cases = 0

    def check(ok: bool, what: str) -> None:
        nonlocal cases
        cases += 1
        if not ok:
            leaks.append(what)

    with TestClient(create_app(settings, embedder)) as client:
        with client.app.state.searcher.snapshot() as reader:
            ids = {d.collection: d.id for d in reader.list_documents()}
        sessions = {}
        for name in USERS:
            client.cookies.clear()
            assert login(client, name, PASSWORD).status_code == 303, name
            sessions[name] = client.cookies.get("amtswissen_sitzung")
        client.cookies.clear()
        total_docs = len(MARKERS)

        for caller, (reads, edits) in SPEC.items():
            headers = {}
            if caller in tokens:
                headers = {"Authorization": f"Bearer {tokens[caller]}"}
            elif caller == "schluessel":
                headers = {"X-API-Key": API_KEY}
            client.cookies.clear()
            if caller in sessions:
                client.cookies.set("amtswissen_sitzung", sessions[caller])
            refused = caller in ("tok_revoked", "tok_expired")

            def get(url: str, **params):
                return client.get(url, headers=headers, params=params)

            listing = get("/api/documents")
            check(listing.status_code == (401 if refused else 200), f"{caller}: Liste {listing.status_code}")
            listed = {d["collection"] for d in listing.json().get("documents", [])} if not refused else set()
            health = get("/api/health")
            expected_docs = total_docs if caller == "otto" else len(reads)
            check(refused and health.status_code == 401 or health.json().get("documents") == expected_docs,
                  f"{caller}: health {health.text}")
            runs = get("/api/ingest/runs")
            if edits or caller == "schluessel":
                seen = {r["report"].get("collection") for r in runs.json()}
                check(runs.status_code == 200 and seen <= edits | {None}, f"{caller}: Läufe {seen}")
            else:
                check(runs.status_code in (401, 403), f"{caller}: Läufe {runs.status_code}")

            for coll, marker in MARKERS.items():
                readable, editable = coll in reads, coll in edits
                doc_id = ids[coll]
                found = get("/api/search", q=f"Was regelt {marker}?", k=10)
                results = found.json().get("results", []) if found.status_code == 200 else []
                hit = any(marker in r["text"] for r in results)
                check(hit == readable, f"{caller}/{coll}: Suche {'fehlt' if readable else 'zeigt'} {marker}")
                check(all(r["document"]["collection"] in reads for r in results)
                      and all(MARKERS[c] not in (r["highlight"] or "") + r["text"]
                              for r in results for c in MARKERS if c not in reads),
                      f"{caller}/{coll}: fremde Treffer oder Markierungen")
                typo = get("/api/search", q=TYPOS[coll])
                corrected = typo.json().get("corrections", {}) if typo.status_code == 200 else {}
                suggested = any(v.startswith(marker.lower()[:6]) for v in corrected.values())
                check(suggested == readable, f"{caller}/{coll}: Tippfehler-Vorschlag {corrected}")
                page = get("/", q="Welches Verfahren regelt die Ausgabe von Bescheinigungen?")
                check((marker in page.text) == readable or refused and page.status_code == 401,
                      f"{caller}/{coll}: Suchseite")
                check((coll in listed) == readable, f"{caller}/{coll}: Dokumentliste")
                for url in (f"/api/documents/{doc_id}", f"/api/documents/{doc_id}/file", f"/dokument/{doc_id}"):
                    status = get(url).status_code
                    check(status == (200 if readable else 401 if refused else 404), f"{caller}/{coll}: {url} {status}")
                if headers:  # writes go through the API with a token or the key
                    wrong = client.put(f"/api/documents/{doc_id}", headers=headers,
                                       files={"file": ("x.txt", b"anderes Format")})
                    want = 422 if editable else 401 if refused else 403 if readable or not edits else 404
                    check(wrong.status_code == want, f"{caller}/{coll}: Schreiben {wrong.status_code} statt {want}")
                elif caller in sessions:
                    csrf = re.search(r'name="token" value="([0-9a-f]+)"', client.get("/konto").text).group(1)
                    r = client.post("/verwaltung/hochladen", data={"token": csrf, "sammlung": coll},
                                    files={"dateien": ("x.exe", b"MZ")}, follow_redirects=False)
                    message = r.headers.get("location", "")
                    refused_write = "Schreibrechte" in _unquote(message)
                    check(refused_write != editable, f"{caller}/{coll}: Hochladen {_unquote(message)}")
    print(f"\nZugriffsmatrix ({settings.database_url and 'PostgreSQL' or 'Ordner'}): {cases} Fälle, "
          f"{len(leaks)} Abweichungen")
    assert not leaks, "\n".join(leaks)
    assert cases == sum(3 + len(MARKERS) * (8 if caller == "anonym" else 9) for caller in SPEC)  # all ran


def _unquote(value: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(value)


def test_scores_do_not_tell_how_many_hidden_passages_hold_a_word(settings, embedder, tmp_path):
    """BM25 statistics come from what the caller may read: two words that occur once each in
    the same visible passage score the same, although one of them also occurs in a
    document the caller cannot read."""
    from search.searcher import Searcher

    backend = settings.backend()
    for coll, text in (("sichtbar", "Das Verfahren Kelmorajan und das Verfahren Trazomelin im Amt."),
                       ("verborgen", "Vermerk: Kelmorajan betrifft eine Personalsache.")):
        folder = tmp_path / coll
        folder.mkdir()
        (folder / f"{coll}.md").write_text(f"# {coll}\n\n{text}\n", encoding="utf-8")
        writes.sync_sources(backend, embedder, [folder], coll, "test")
    backend.close()
    searcher = Searcher(settings, embedder)
    try:
        visible = frozenset({"sichtbar"})
        scores = [searcher.search(word, 3, mode="lexical", readable=visible).results[0].score
                  for word in ("Kelmorajan", "Trazomelin")]
        assert scores[0] == scores[1]
        unrestricted = [searcher.search(word, 3, mode="lexical").results for word in ("Kelmorajan", "Trazomelin")]
        assert len(unrestricted[0]) == 2 and unrestricted[0][0].score != unrestricted[1][0].score  # the test can fail
    finally:
        searcher.backend.close()
