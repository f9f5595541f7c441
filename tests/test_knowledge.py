"""Knowledge capture on both backends: tasks, note versions, the four-eyes release, what
readers see of drafts (nothing: not in search, lists, counts, files or highlights),
import, coverage, handover, and recovery when a release could not be indexed."""

from __future__ import annotations

import io
from contextlib import contextmanager
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from access.store import AccessError
from amtswissen.settings import Settings
from ingest import writes
from knowledge.demo import install_demo, rights_of
from knowledge.model import DRAFT, RELEASED, RETURNED, SUBMITTED, SUPERSEDED
from knowledge.render import diff
from knowledge.service import Forbidden, IndexFailed, TaskInput, note_doc_id
from service.api import create_app
from tests.conftest import API_KEY, LAWS, login, settings_on

PASSWORD = "Wissen-Passwort-1"
MARK_V1, MARK_V2, MARK_V3 = "Zwiebelquittung", "Kuerbisformular", "Rhabarberbeleg"


@pytest.fixture(params=["folder", "postgres"])
def settings(request, tmp_path) -> Settings:
    return settings_on(request.param, request, tmp_path)


@pytest.fixture
def client(settings, embedder, tmp_path):
    with demo_app(settings, embedder, tmp_path) as c:
        yield c


@contextmanager
def demo_app(settings, embedder, folder):
    """The app on an index with the BMG (public, collection "gesetze") and the demo people
    (their rights and units, without the demo's tasks)."""
    laws = bmg_excerpt(folder / "gesetze")
    backend = settings.backend()
    writes.sync_sources(backend, embedder, [laws], "gesetze", "test")
    backend.close()
    with TestClient(create_app(settings, embedder)) as c:
        k = c.app.state.knowledge
        k.access.store.set_collection("gesetze", "standard", "oeffentlich", "test")
        install_demo(k, password=PASSWORD, release=False, folder=_empty_demo(folder))
        yield c


def bmg_excerpt(folder):
    """The BMG's title and §§ 17–22 (what the demo tasks cite) in `folder`: a whole law would be
    embedded per test."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (LAWS / "bmg.md").read_text(encoding="utf-8").splitlines()
    start, end = (next(i for i, line in enumerate(lines) if line.startswith(h)) for h in ("## Abschnitt 3", "### § 23 "))
    (folder / "bmg.md").write_text("\n".join(lines[:30] + lines[start:end]) + "\n", encoding="utf-8")
    return folder


def _empty_demo(tmp_path):
    """The demo's people and rights without its tasks (the tests write their own)."""
    folder = tmp_path / "leer"
    (folder / "notizen").mkdir(parents=True)
    (folder / "aufgaben.csv").write_text("name;einheit\n", encoding="utf-8")
    return folder


def _task(k, name="Wohnsitz anmelden", **fields):
    return k.create_task(rights_of(k, "olga"), TaskInput(name=name, collection="buergerbuero", unit="buergerbuero",
                                                         owner="paula", deputies=["viktor"],
                                                         legal_basis="§ 17 BMG", **fields))


def _find(client, who: str, question: str):
    k = client.app.state.knowledge
    response = client.app.state.searcher.search(question, 10, readable=rights_of(k, who).read)
    return [r for r in response.notes + response.results]


def test_four_eyes_release_versions_and_what_answers(client):
    k = client.app.state.knowledge
    task = _task(k)
    paula, petra, rita, viktor, olga = (rights_of(k, n) for n in ("paula", "petra", "rita", "viktor", "olga"))

    v1 = k.save_draft(paula, task.id, {"unterlagen": f"Personalausweis und {MARK_V1} der Wohnungsgeber."})
    assert (v1.version, v1.state, v1.author) == (1, DRAFT, "paula")
    with pytest.raises(Forbidden):
        k.save_draft(rita, task.id, {"unterlagen": "Leser schreiben nicht."})
    assert k.versions(rita, task.id) == [] and k.view(rita, task.id).pending is None
    with pytest.raises(AccessError):
        k.release(petra, task.id, 1)  # a draft is not yet submitted
    k.submit(paula, task.id, 1)
    with pytest.raises(Forbidden):
        k.release(paula, task.id, 1)  # an editor does not release
    with pytest.raises(Forbidden):
        k.release(viktor, task.id, 1)
    other = _task(k, "Meldebescheinigung ausstellen")
    own = k.save_draft(petra, other.id, {"gebuehren": "laut Satzung"})
    k.submit(petra, other.id, own.version)
    with pytest.raises(Forbidden, match="Vier-Augen"):
        k.release(petra, other.id, own.version)  # an approver does not release her own version
    assert k.release(olga, other.id, own.version).reviewer == "olga"
    assert not any(MARK_V1 in r.text for r in _find(client, "rita", MARK_V1))

    released = k.release(petra, task.id, 1)
    assert (released.state, released.reviewer) == (RELEASED, "petra")
    with pytest.raises(AccessError, match="anderen Stand"):
        k.release(petra, task.id, 1)
    hits = [r for r in _find(client, "rita", f"Welche Unterlagen? {MARK_V1}") if MARK_V1 in r.text]
    assert hits and hits[0].section == "Wohnsitz anmelden > Unterlagen"
    assert k.sources([hits[0].document.id])[hits[0].document.id].approver == "petra"

    # a new version is written and even submitted: the released one keeps answering
    k.save_draft(paula, task.id, {"unterlagen": f"Personalausweis und {MARK_V2}."})
    k.submit(paula, task.id, 2)
    assert not any(MARK_V2 in r.text for r in _find(client, "rita", MARK_V2))
    assert any(MARK_V1 in r.text for r in _find(client, "rita", MARK_V1))
    with pytest.raises(AccessError, match="Kommentar"):
        k.send_back(petra, task.id, 2, "  ")
    assert k.send_back(petra, task.id, 2, "Bitte die Frist ergänzen.").state == RETURNED

    versions = k.versions(paula, task.id)
    assert [(v.version, v.state) for v in versions] == [(2, RETURNED), (1, RELEASED)]
    assert [v.version for v in k.versions(rita, task.id)] == [1]
    changes = diff(versions[1], versions[0])
    assert [c["heading"] for c in changes] == ["Unterlagen"]
    assert {(line["mark"], MARK_V1 in line["text"], MARK_V2 in line["text"]) for line in changes[0]["lines"]} == {
        ("-", True, False), ("+", False, True)}

    v3 = k.save_draft(paula, task.id, {"unterlagen": f"Personalausweis und {MARK_V3}.", "fristen": "Zwei Wochen."})
    k.submit(paula, task.id, v3.version)
    k.release(olga, task.id, v3.version)  # a knowledge officer may release too
    assert any(MARK_V3 in r.text for r in _find(client, "rita", MARK_V3))
    assert not any(MARK_V1 in r.text for r in _find(client, "rita", MARK_V1))
    states = {v.version: v.state for v in k.versions(paula, task.id)}
    assert states == {1: SUPERSEDED, 2: RETURNED, 3: RELEASED}
    actions = [(e.actor, e.action) for e in k.access.store.audit_log("standard")]
    assert ("petra", "notiz-freigegeben") in actions and ("olga", "notiz-freigegeben") in actions


def test_a_reader_never_sees_a_draft(client):
    k = client.app.state.knowledge
    task = _task(k)
    paula = rights_of(k, "paula")
    health_before = None
    assert login(client, "rita", PASSWORD).status_code == 303
    health_before = client.get("/api/health").json()
    k.save_draft(paula, task.id, {"unterlagen": f"Die {MARK_V1} prüfen.", "fehler": f"{MARK_V1} vergessen."})
    k.submit(paula, task.id, 1)

    def invisible():
        for q in (MARK_V1, MARK_V1[:-1] + "k", "Welche Unterlagen prüfen, was wird vergessen?"):
            body = client.get("/api/search", params={"q": q}).json()
            shown = str(body["results"]) + str(body["notes"]) + str(body["corrections"])
            assert MARK_V1.casefold() not in shown.casefold()  # nor a typo correction towards it
        assert MARK_V1 not in client.get("/", params={"q": "Welche Unterlagen prüfen, was wird vergessen?"}).text
        assert client.get("/api/health").json() == health_before
        assert all(d["collection"] != "buergerbuero" for d in client.get("/api/documents").json()["documents"])
        data = client.get(f"/api/aufgaben/{task.id}").json()
        assert data["released"] is None and data["pending"] is None
        assert client.get(f"/api/aufgaben/{task.id}/fassungen").json() == []
        assert client.get(f"/api/aufgaben/{task.id}/fassungen/1/unterschied").status_code == 404
        for url in (f"/wissen/aufgabe/{task.id}", f"/wissen/aufgabe/{task.id}/fassung/1", "/wissen/uebergabe.md?person=paula",
                    "/wissen/uebergabe?einheit=buergerbuero", "/wissen/vertretung", "/wissen"):
            assert MARK_V1 not in client.get(url).text
        assert client.get(f"/api/documents/{note_doc_id(task.id)}/file").status_code == 404

    invisible()
    client.cookies.clear()
    assert login(client, "paula", PASSWORD).status_code == 303
    assert MARK_V1 in client.get(f"/wissen/aufgabe/{task.id}/fassung/1").text  # the author sees it
    client.cookies.clear()
    login(client, "rita", PASSWORD)
    invisible()

    k.release(rights_of(k, "petra"), task.id, 1)
    body = client.get("/api/search", params={"q": f"Was wird oft vergessen? {MARK_V1}"}).json()
    assert body["notes"], body
    note = body["notes"][0]
    assert MARK_V1 in note["text"] and MARK_V1 in (note["highlight"] or "")
    assert note["document"]["note"]["author"] == "paula" and note["document"]["note"]["approver"] == "petra"
    assert client.get("/api/health").json()["documents"] == health_before["documents"] + 1
    assert MARK_V1 in client.get(f"/api/documents/{note['document']['id']}/file").text
    page = client.get("/", params={"q": f"Was wird oft vergessen? {MARK_V1}"}).text
    assert "freigegeben von petra" in page and "geschrieben von paula" in page
    # the documents list stays free of notes (they are shown in their own list)
    assert all(r["document"]["collection"] != "buergerbuero" for r in body["results"])
    client.cookies.clear()
    assert client.get(f"/api/aufgaben/{task.id}").status_code == 404  # anonymous: a tenant's collection


def test_import_of_catalogue_and_notes(client):
    k = client.app.state.knowledge
    report = install_demo(k, release=False)
    assert (report.tasks_added, report.notes, report.released, report.problems) == (8, 6, 0, [])
    tasks = {t.name: t for t in k.store.tasks()}
    anmelden = tasks["Wohnsitz anmelden"]
    assert anmelden.owner == "paula" and anmelden.deputies == ("viktor",) and anmelden.unit == "buergerbuero"
    assert anmelden.legal_basis.startswith("§ 17 BMG")
    pending = k.view(rights_of(k, "olga"), anmelden.id).pending
    assert pending.state == SUBMITTED and pending.author == "paula"  # the front matter's author
    assert {"unterlagen", "fristen", "fehler"} <= set(pending.sections)

    # a second import updates the rows it knows; bad rows and notes are reported and skipped
    again = install_demo(k, release=True)
    assert (again.tasks_added, again.tasks_updated, again.released) == (0, 8, 6)
    from knowledge.importer import ImportReport, import_catalogue, import_notes

    bad = ImportReport()
    import_catalogue(k, rights_of(k, "olga"), "name;einheit;verantwortlich;leika\nNeu;buergerbuero;niemand;\n"
                     "Andere;buergerbuero;paula;123\n;buergerbuero;paula;\nGut;buergerbuero;paula;99115001000000\n",
                     "buergerbuero", bad)
    import_notes(k, rights_of(k, "olga"), [("x.md", "---\naufgabe: Gibt es nicht\n---\n## Unterlagen\nText\n"),
                                           ("y.md", "## Unterlagen\nohne Kopf\n"),
                                           ("z.md", "---\naufgabe: Gut\n---\n## Kosten\n5 Euro\n## Kaffee\nja\n")], bad)
    assert bad.tasks_added == 1 and bad.notes == 1
    assert any("niemand" in p for p in bad.problems) and any("14 Ziffern" in p for p in bad.problems)
    assert any("ohne Namen" in p for p in bad.problems) and any("Gibt es nicht" in p for p in bad.problems)
    assert any("Kaffee" in p for p in bad.problems)  # an unknown heading goes to "Hinweise", reported
    gut = next(t for t in k.store.tasks() if t.name == "Gut")
    assert gut.leika == "99115001000000"
    assert k.store.versions(gut.id)[0].sections == {"gebuehren": "5 Euro", "hinweise": "**Kaffee**\n\nja"}


def test_coverage_marks_departing_owners_without_a_note(client):
    k = client.app.state.knowledge
    install_demo(k, release=False)
    olga = rights_of(k, "olga")
    k.set_departure(olga, "bernd", "2027-03-31")
    cov = k.coverage(olga, months=6, today="2026-11-28")
    rows = {r["task"].name: r for r in cov.rows}
    assert rows["Reisepass beantragen"]["at_risk"] and rows["Führungszeugnis beantragen"]["at_risk"]
    assert not rows["Wohnsitz anmelden"]["at_risk"]  # paula is not leaving
    assert rows["Wohnsitz abmelden"]["review_overdue"] and rows["Gewerbe anmelden"]["review_overdue"]
    assert rows["Reisepass beantragen"]["no_deputy"] and rows["Fundsache annehmen"]["no_deputy"]
    assert cov.units["buergerbuero"] == {"tasks": 6, "with_note": 0, "at_risk": 2, "review_due": 1, "no_deputy": 1}
    assert [r["task"].name for r in k.coverage(olga, 6, "2026-11-28", only="risiko").rows] == [
        "Führungszeugnis beantragen", "Reisepass beantragen"]
    assert k.coverage(olga, months=2, today="2026-11-28").units["buergerbuero"]["at_risk"] == 0
    reisepass = rows["Reisepass beantragen"]["task"]
    k.release(rights_of(k, "petra"), reisepass.id, k.store.versions(reisepass.id)[0].version)
    assert not {r["task"].name: r for r in k.coverage(olga, 6, "2026-11-28").rows}["Reisepass beantragen"]["at_risk"]
    with pytest.raises(AccessError):
        k.set_departure(rights_of(k, "rita"), "bernd", "2027-01-01")  # readers do not see people's plans
    assert login(client, "olga", PASSWORD).status_code == 303
    page = client.get("/wissen/abdeckung", params={"nur": "risiko"}).text
    assert "Führungszeugnis beantragen" in page and "Wohnsitz anmelden" not in page
    assert client.get("/api/wissenslandkarte").json()["units"]["buergerbuero"]["tasks"] == 6


def test_handover_folder_as_pdf_and_markdown(client):
    k = client.app.state.knowledge
    install_demo(k, release=True)
    task = next(t for t in k.store.tasks() if t.name == "Wohnsitz anmelden")
    k.save_draft(rights_of(k, "paula"), task.id, {"unterlagen": f"Entwurf mit {MARK_V2}."})
    assert login(client, "viktor", PASSWORD).status_code == 303
    pdf = client.get("/wissen/uebergabe.pdf", params={"einheit": "buergerbuero"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Übergabemappe" in text and "Wohnsitz anmelden" in text and "Meldebescheinigung ausstellen" in text
    assert "ein Mietvertrag ersetzt sie nicht" in text and "freigegeben von petra" in text and MARK_V2 not in text
    md = client.get("/wissen/uebergabe.md", params={"person": "paula"}).text
    assert md.startswith("# Übergabemappe: Paula") and "### Unterlagen" in md and MARK_V2 not in md
    assert "Gewerbe anmelden" not in md  # otto's task
    data = client.get("/api/uebergabe", params={"person": "paula"}).json()
    assert {t["name"] for t in data["tasks"]} >= {"Wohnsitz anmelden", "Meldebescheinigung ausstellen"}
    assert client.get("/api/uebergabe").status_code == 422


def test_note_documents_change_only_through_their_task(client):
    k = client.app.state.knowledge
    task = _task(k)
    k.save_draft(rights_of(k, "paula"), task.id, {"unterlagen": "Ausweis."})
    k.submit(rights_of(k, "paula"), task.id, 1)
    k.release(rights_of(k, "petra"), task.id, 1)
    doc_id = k.store.task(task.id).doc_id
    headers = {"X-API-Key": API_KEY}
    assert client.delete(f"/api/documents/{doc_id}", headers=headers).status_code == 409
    assert client.put(f"/api/documents/{doc_id}", headers=headers,
                      files={"file": ("x.md", b"# anders\n\nText")}).status_code == 409
    assert client.delete(f"/api/aufgaben/{task.id}", headers=headers).status_code == 204
    with client.app.state.searcher.snapshot() as reader:
        assert reader.document(doc_id) is None


def test_a_release_that_cannot_be_indexed_is_undone_and_a_lost_one_recovered(client, monkeypatch):
    k = client.app.state.knowledge
    task = _task(k)
    paula, petra = rights_of(k, "paula"), rights_of(k, "petra")
    k.save_draft(paula, task.id, {"unterlagen": f"{MARK_V1}."})
    k.submit(paula, task.id, 1)
    k.release(petra, task.id, 1)
    k.save_draft(paula, task.id, {"unterlagen": f"{MARK_V2}."})
    k.submit(paula, task.id, 2)

    def broken(*args, **kwargs):
        raise OSError("Datenträger voll")

    monkeypatch.setattr(writes, "ingest_file", broken)
    with pytest.raises(IndexFailed):
        k.release(petra, task.id, 2)
    monkeypatch.undo()
    assert {v.version: v.state for v in k.store.versions(task.id)} == {1: RELEASED, 2: SUBMITTED}
    assert any(MARK_V1 in r.text for r in _find(client, "rita", MARK_V1))

    # a crash after the release was recorded, before the index had it: start-up reconciles
    k.release(petra, task.id, 2)
    writes.remove(k.backend, k.embedder, k.store.task(task.id).doc_id, "test")
    assert not any(MARK_V2 in r.text for r in _find(client, "rita", MARK_V2))
    assert k.reconcile() == [task.id]
    assert any(MARK_V2 in r.text for r in _find(client, "rita", MARK_V2))
    assert k.reconcile() == []


def test_api_tokens_follow_the_same_rules(client):
    k = client.app.state.knowledge
    store = k.access.store
    editor = store.add_token("standard", "Autor", "editor", "test", ["buergerbuero"])[1]
    # tokens act for the person who created them: the approving one belongs to someone else
    approver = store.add_token("standard", "Freigabe", "approver", "petra", ["buergerbuero"])[1]
    reader = store.add_token("standard", "Leser", "reader", "test")[1]
    task = _task(k)

    def auth(token):
        return {"Authorization": f"Bearer {token}"}

    created = client.post(f"/api/aufgaben/{task.id}/fassungen", headers=auth(editor),
                          json={"sections": {"unterlagen": "Ausweis", "fristen": "zwei Wochen"}})
    assert created.status_code == 201 and created.json()["state"] == "entwurf"
    assert client.post(f"/api/aufgaben/{task.id}/fassungen", headers=auth(reader),
                       json={"sections": {"unterlagen": "x"}}).status_code == 403
    assert client.post(f"/api/aufgaben/{task.id}/fassungen", headers=auth(editor),
                       json={"sections": {"kaffee": "x"}}).status_code == 422
    assert client.post(f"/api/aufgaben/{task.id}/fassungen/1/einreichen", headers=auth(editor)).status_code == 200
    assert client.post(f"/api/aufgaben/{task.id}/fassungen/1/freigeben", headers=auth(editor)).status_code == 403
    assert client.post(f"/api/aufgaben/{task.id}/fassungen/9/freigeben", headers=auth(approver)).status_code == 404
    released = client.post(f"/api/aufgaben/{task.id}/fassungen/1/freigeben", headers=auth(approver))
    assert released.status_code == 200 and released.json()["state"] == "freigegeben"
    assert client.post(f"/api/aufgaben/{task.id}/fassungen/1/freigeben", headers=auth(approver)).status_code == 409
    data = client.get(f"/api/aufgaben/{task.id}", headers=auth(reader)).json()
    assert data["released"]["sections"]["unterlagen"] == "Ausweis"
    citation = data["citations"][0]
    assert citation["text"] == "§ 17 BMG" and citation["section"].endswith("§ 17 Anmeldung, Abmeldung")
    assert client.post("/api/aufgaben", headers=auth(editor),
                       json={"name": "X", "collection": "buergerbuero"}).status_code == 403
    assert client.post("/api/aufgaben", headers={"X-API-Key": API_KEY},
                       json={"name": "Neu", "collection": "buergerbuero", "leika": "12"}).status_code == 422
    assert client.post("/api/aufgaben", json={"name": "Neu", "collection": "buergerbuero"}).status_code == 401


def test_nobody_releases_text_they_shaped_also_not_by_token_or_import(client):
    k = client.app.state.knowledge
    store = k.access.store
    task = _task(k)
    petra, paula, olga = rights_of(k, "petra"), rights_of(k, "paula"), rights_of(k, "olga")
    # paula saves petra's submitted text again: petra still wrote it
    first = k.save_draft(petra, task.id, {"unterlagen": "Ausweis."})
    k.submit(petra, task.id, first.version)
    again = k.save_draft(paula, task.id, {"unterlagen": "Ausweis."})
    k.submit(paula, task.id, again.version)
    with pytest.raises(Forbidden, match="Vier-Augen"):
        k.release(petra, task.id, again.version)
    k.release(olga, task.id, again.version)
    # a token releases for the person who created it: not that person's own version
    store.grant("standard", "user", "petra", "officer", "buergerbuero", "test")
    own_token = store.add_token("standard", "Petras Skript", "approver", "petra", ["buergerbuero"])[1]
    mine = k.save_draft(rights_of(k, "petra"), task.id, {"unterlagen": "Ausweis und Vollmacht."})
    k.submit(rights_of(k, "petra"), task.id, mine.version)
    refused = client.post(f"/api/aufgaben/{task.id}/fassungen/{mine.version}/freigeben",
                          headers={"Authorization": f"Bearer {own_token}"})
    assert refused.status_code == 403 and "Vier-Augen" in refused.json()["detail"]
    # an import credits the file's author, and the importer may not release it either
    from knowledge.importer import ImportReport, import_notes

    report = ImportReport()
    import_notes(k, olga, [("n.md", "---\naufgabe: Wohnsitz anmelden\nautor: paula\n---\n## Fristen\nzwei Wochen\n")],
                 report, release_as=olga)
    assert report.released == 0 and any("Vier-Augen" in p for p in report.problems)
    pending = k.view(olga, task.id).pending
    assert (pending.author, pending.saved_by, pending.state) == ("paula", "olga", SUBMITTED)
    with pytest.raises(Forbidden):  # petra wrote a version since the last release (withdrawn, but hers)
        k.release(rights_of(k, "petra"), task.id, pending.version)
    store.grant("standard", "user", "viktor", "approver", "buergerbuero", "test")
    assert k.release(rights_of(k, "viktor"), task.id, pending.version).reviewer == "viktor"


def test_people_and_departures_stay_inside_the_tenant(client):
    k = client.app.state.knowledge
    store = k.access.store
    store.set_collection("buergerbuero", "standard", "oeffentlich", "test")
    store.add_tenant("nachbar", "Nachbarstadt", "test")
    store.add_user("nachbar", "nora", "test", display="Nora Nachbar", password=PASSWORD)
    task = _task(k)
    k.set_departure(rights_of(k, "olga"), "paula", "2027-02-28")
    k.set_departure(rights_of(k, "olga"), "petra", "2027-03-31")
    anonymous = client.get(f"/api/aufgaben/{task.id}").json()
    assert anonymous["name"] == "Wohnsitz anmelden" and anonymous["owner"] is None and anonymous["deputies"] == []
    assert anonymous["owner_departs"] is None
    md = client.get("/api/uebergabe", params={"person": "petra", "format": "markdown"}).text
    assert "Petra" not in md and "2027" not in md
    assert client.get("/api/uebergabe", params={"person": "paula"}).json()["tasks"] == []
    assert login(client, "nora", PASSWORD).status_code == 303
    assert client.get(f"/api/aufgaben/{task.id}").json()["owner"] is None
    client.cookies.clear()
    assert login(client, "rita", PASSWORD).status_code == 303  # same tenant, no officer: people, no dates
    data = client.get(f"/api/aufgaben/{task.id}").json()
    assert data["owner"] == "paula" and data["owner_departs"] is None
    client.cookies.clear()
    login(client, "olga", PASSWORD)
    assert client.get(f"/api/aufgaben/{task.id}").json()["owner_departs"] == "2027-02-28"


def test_the_index_follows_the_released_versions_after_any_failure(client, monkeypatch):
    k = client.app.state.knowledge
    task = _task(k)
    paula, petra = rights_of(k, "paula"), rights_of(k, "petra")
    for number, mark in ((1, MARK_V1), (2, MARK_V2)):
        k.save_draft(paula, task.id, {"unterlagen": f"{mark}."})
        k.submit(paula, task.id, number)
        if number == 1:
            k.release(petra, task.id, 1)

    # the index has the new text, then recording it fails: the released text answers again
    def locked(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(k.store, "set_indexed", locked)
    with pytest.raises(IndexFailed):
        k.release(petra, task.id, 2)
    monkeypatch.undo()
    assert not any(MARK_V2 in r.text for r in _find(client, "rita", MARK_V2))
    assert any(MARK_V1 in r.text for r in _find(client, "rita", MARK_V1))
    assert k.reconcile() == []

    # a note whose task is gone (a restored database) is removed by the start-up reconcile
    doc_id = k.store.task(task.id).doc_id
    with k.store.db.tx() as run:
        run("DELETE FROM note_versions WHERE task = ?", (task.id,))
        run("DELETE FROM tasks WHERE id = ?", (task.id,))
    assert k.reconcile() == [doc_id]
    assert not any(MARK_V1 in r.text for r in _find(client, "rita", MARK_V1))


def test_bad_input_is_refused_with_a_reason(client):
    k = client.app.state.knowledge
    key = {"X-API-Key": API_KEY}
    task = _task(k)
    for body in ({"name": "Nul\u0000Byte", "collection": "buergerbuero"},
                 {"name": "Gut", "collection": "buergerbuero", "leika": "١٢٣٤٥٦٧٨٩٠١٢٣٤"}):
        answer = client.post("/api/aufgaben", headers=key, json=body)
        assert answer.status_code == 422 and answer.json()["detail"]
    assert client.get("/api/uebergabe", params={"person": "a\u0000b"}).status_code == 422
    assert client.put("/api/personen/a%00b/ausscheiden", headers=key, json={"departs_on": "2027-01-01"}).status_code \
        in (404, 422)
    assert client.post(f"/api/aufgaben/{task.id}/fassungen", headers=key,
                       json={"sections": {"unterlagen": "a\u0000b"}}).status_code == 422
    assert login(client, "petra", PASSWORD).status_code == 303
    token = client.get(f"/wissen/aufgabe/{task.id}/bearbeiten").text.split('name="token" value="')[1].split('"')[0]
    assert client.post(f"/wissen/aufgabe/{task.id}/fassung/99999999999999999999/freigeben",
                       data={"token": token}).status_code == 422
    # a heading written inside a section stays inside the section and the task
    k.save_draft(rights_of(k, "paula"), task.id, {"hinweise": f"Text\n    ## Reisepass beantragen\n### Gebühren\n{MARK_V3}"})
    k.submit(rights_of(k, "paula"), task.id, 1)
    k.release(rights_of(k, "petra"), task.id, 1)
    found = [r for r in _find(client, "rita", MARK_V3) if MARK_V3 in r.text]
    assert found and found[0].section.startswith("Wohnsitz anmelden > Hinweise")
    from knowledge.importer import parse_note

    front, sections, _ = parse_note("---\naufgabe: x\n---\n##" + " " * 5000 + "x\n## Fristen\nzwei Wochen\n")
    assert sections["fristen"] == "zwei Wochen"
    with pytest.raises(AccessError):
        parse_note("---\naufgabe: &a [1, 2]\nautor: *a\n---\n## Fristen\nx\n")
    with pytest.raises(AccessError):
        parse_note("---\naufgabe: " + "[" * 3000 + "\n---\n")


def test_import_through_the_page(client):
    assert login(client, "olga", PASSWORD).status_code == 303
    token = client.get("/wissen/abdeckung").text.split('name="token" value="')[1].split('"')[0]
    from knowledge.demo import DEMO

    answer = client.post("/wissen/import", data={"token": token, "sammlung": "buergerbuero"},
                         files=[("katalog", ("aufgaben.csv", (DEMO / "aufgaben.csv").read_bytes(), "text/csv")),
                                ("notizen", ("a.md", (DEMO / "notizen" / "reisepass.md").read_bytes(), "text/markdown"))],
                         follow_redirects=False)
    assert answer.status_code == 303 and "8 Aufgaben angelegt" in unquote_plus(answer.headers["location"])
    assert "1 Notizen" in unquote_plus(answer.headers["location"])
    assert client.post("/wissen/import", data={"token": "falsch"}).status_code == 403


def test_two_approvers_releasing_at_once_release_once(client):
    import threading

    k = client.app.state.knowledge
    task = _task(k)
    k.access.store.grant("standard", "user", "viktor", "approver", "buergerbuero", "test")
    k.save_draft(rights_of(k, "paula"), task.id, {"unterlagen": "Ausweis."})
    k.submit(rights_of(k, "paula"), task.id, 1)
    outcomes, start = [], threading.Barrier(2)

    def release(name):
        who = rights_of(k, name)
        start.wait()
        try:
            outcomes.append(k.release(who, task.id, 1).reviewer)
        except AccessError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=release, args=(n,)) for n in ("petra", "viktor")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o in ("petra", "viktor") for o in outcomes) == [False, True]  # one release, one refusal
    assert [v.state for v in k.store.versions(task.id)] == [RELEASED]
