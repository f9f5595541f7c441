"""Sign-in that fits a town hall, end to end through the app: LDAP users with directory
groups mapped to rights (real slapd), the trusted header of a single-sign-on proxy,
machine tokens (hashed, scoped, expiring, revocable), deputies that start and end by
themselves, the audit log with its CSV export, and the per-caller limits."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from access.service import AccessService
from service.api import create_app
from tests.conftest import API_KEY, OFFICER, add_user, api_settings, login, served
from tests.ldap_server import PEOPLE, GROUPS, slapd_server

FUND = b"# Fundsachen\n\nFundsachen werden im Fundbuero sechs Monate aufbewahrt.\n"


@pytest.fixture(scope="module")
def ldap(tmp_path_factory):
    with slapd_server(tmp_path_factory.mktemp("ldap")) as server:
        yield server


def _csrf(client, page="/konto") -> str:
    return re.search(r'name="token" value="([0-9a-f]+)"', client.get(page).text).group(1)


def test_ldap_users_sign_in_and_directory_groups_give_rights(tmp_path, embedder, ldap):
    settings = api_settings(tmp_path, embedder, ldap_url=ldap.url, ldap_user_dn_template=f"uid={{user}},{PEOPLE}",
                            ldap_group_base=GROUPS, ldap_group_filter="(member={dn})")
    access = AccessService.from_settings(settings)
    access.store.set_collection("sozial", "standard", "eingeschraenkt", "test")
    access.store.add_group("standard", "sozialamt", "test", ldap_group="sozialamt")
    access.store.grant("standard", "group", "sozialamt", "editor", "sozial", "test")
    access.close()
    with TestClient(create_app(settings, embedder)) as client:
        assert login(client, "carla", "falsch").headers["location"].endswith("fehler=1")
        assert login(client, "carla", "Zürich-789").headers["location"] == "/verwaltung"
        store = client.app.state.access.store
        carla = store.user("carla")
        assert carla.source == "ldap" and carla.tenant == "standard"
        assert store.memberships(carla) == {"sozialamt"}
        csrf = _csrf(client)
        r = client.post("/verwaltung/hochladen", data={"token": csrf, "sammlung": "sozial"},
                        files={"dateien": ("fund.md", FUND)}, follow_redirects=False)
        assert "1 Datei(en) übernommen" in httpx.URL(r.headers["location"]).params["meldung"]
        hits = client.get("/api/search", params={"q": "Wie lange werden Fundsachen aufbewahrt?"}).json()["results"]
        assert hits and hits[0]["document"]["collection"] == "sozial"
        client.cookies.clear()
        # anna is in the directory but not in the Sozialamt group: signs in, does not read "sozial"
        assert login(client, "anna", "Geheim-123").headers["location"] == "/verwaltung"
        hits = client.get("/api/search", params={"q": "Wie lange werden Fundsachen aufbewahrt?"}).json()["results"]
        assert all(h["document"]["collection"] != "sozial" for h in hits)
        # an empty password is an anonymous bind in LDAP: never a sign-in
        client.cookies.clear()
        r = login(client, "anna", "")
        assert r.status_code == 422 or r.headers["location"].endswith("fehler=1")
        assert client.get("/konto", follow_redirects=False).status_code == 303
        actions = [e.action for e in store.audit_log("standard")]
        assert actions.count("anmeldung") == 2 and actions.count("anmeldung-fehlgeschlagen") >= 1


def test_trusted_header_only_from_the_configured_proxy(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, trusted_user_header="X-Remote-User", trusted_proxies="127.0.0.1")
    add_user(settings, OFFICER, None, role="editor")
    with served(create_app(settings, embedder)) as base:
        as_proxy = httpx.get(f"{base}/konto", headers={"X-Remote-User": OFFICER})
        assert as_proxy.status_code == 200 and "Mein Konto" in as_proxy.text
        token = re.search(r'name="token" value="([0-9a-f]+)"', as_proxy.text).group(1)
        r = httpx.post(f"{base}/verwaltung/hochladen", headers={"X-Remote-User": OFFICER},
                       data={"token": token, "sammlung": "default"}, files={"dateien": ("fund.md", FUND)})
        assert r.status_code in (200, 303)
        assert httpx.get(f"{base}/konto", headers={"X-Remote-User": "unbekannt"}).status_code == 403
        # forms need the CSRF token in this mode too
        assert httpx.post(f"{base}/verwaltung/hochladen", headers={"X-Remote-User": OFFICER},
                          data={"token": "0" * 64}, files={"dateien": ("x.md", FUND)}).status_code == 403
    (tmp_path / "b").mkdir()
    other = api_settings(tmp_path / "b", embedder, trusted_user_header="X-Remote-User", trusted_proxies="10.9.9.9")
    add_user(other, OFFICER, None, role="editor")
    with served(create_app(other, embedder)) as base:
        # not from the proxy: the header is ignored, the caller is anonymous
        r = httpx.get(f"{base}/konto", headers={"X-Remote-User": OFFICER}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/verwaltung/anmelden"


def test_tokens_are_hashed_scoped_expiring_and_revocable(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder)
    access = AccessService.from_settings(settings)
    access.store.set_collection("intern", "standard", "eingeschraenkt", "test")
    token, secret = access.store.add_token("standard", "Fachverfahren", "editor", "test", ["intern"],
                                           (date.today() + timedelta(days=30)).isoformat())
    with access.store.db.tx() as run:
        stored = run("SELECT hash FROM tokens WHERE id = ?", (token.id,))[0]["hash"]
    assert secret not in stored and len(stored) == 64
    access.close()
    with TestClient(create_app(settings, embedder)) as client:
        bearer = {"Authorization": f"Bearer {secret}"}
        r = client.post("/api/documents", headers=bearer, data={"collection": "intern"},
                        files={"file": ("fund.md", FUND)})
        assert r.status_code == 201, r.text
        # scoped: it may write "intern", not "default"
        r = client.post("/api/documents", headers=bearer, data={"collection": "default"},
                        files={"file": ("fund.md", FUND)})
        assert r.status_code == 403 and "Schreibrechte" in r.json()["detail"]
        hits = client.get("/api/search", headers=bearer, params={"q": "Fundsachen aufbewahrt"}).json()["results"]
        assert hits[0]["document"]["collection"] == "intern"
        assert client.get("/api/search", params={"q": "Fundsachen aufbewahrt"}).json()["results"][0]["document"][
            "collection"] != "intern"  # anonymous: not the restricted copy
        # a token naming a collection another tenant shares reads it only while the share lasts
        store = client.app.state.access.store
        store.add_tenant("kreis", "Landkreis", "test")
        store.set_collection("kreis-recht", "kreis", "eingeschraenkt", "test")
        store.share("kreis-recht", "standard", "test")
        _, shared = store.add_token("standard", "Kreisrecht", "reader", "test", ["kreis-recht"])
        rights = client.app.state.access.rights(client.app.state.auth.credential(f"Bearer {shared}", None, "x"),
                                                ["kreis-recht", "default"])
        assert "kreis-recht" in rights.read
        store.share("kreis-recht", "standard", "test", shared=False)
        rights = client.app.state.access.rights(client.app.state.auth.credential(f"Bearer {shared}", None, "x"),
                                                ["kreis-recht", "default"])
        assert "kreis-recht" not in rights.read
        client.app.state.access.store.revoke_token("standard", token.id, "test")
        assert client.get("/api/health", headers=bearer).status_code == 401
        expired = client.app.state.access.store.add_token("standard", "alt", "reader", "test", None,
                                                          (date.today() - timedelta(days=1)).isoformat())[1]
        assert client.get("/api/health", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
        log = client.app.state.access.store.audit_log("standard")
        assert {"token-erstellt", "token-widerrufen", "dokument-hochgeladen"} <= {e.action for e in log}


def test_a_deputy_holds_the_rights_for_the_date_range_only_and_every_use_is_logged(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder)
    access = AccessService.from_settings(settings)
    access.store.set_collection("personal", "standard", "eingeschraenkt", "test")
    access.close()
    add_user(settings, "paula", "Paulas-Passwort-1", role="editor", collection="personal")
    add_user(settings, "viktor", "Viktors-Passwort-1", role=None)
    with TestClient(create_app(settings, embedder)) as client:
        r = client.post("/api/documents", headers={"X-API-Key": API_KEY}, data={"collection": "personal"},
                        files={"file": ("fund.md", FUND)})
        doc = r.json()["id"]
        login(client, "paula", "Paulas-Passwort-1")
        today = date.today()
        r = client.post("/konto/vertretung", data={"token": _csrf(client), "vertreter": "viktor",
                                                    "von": (today + timedelta(days=1)).isoformat(),
                                                    "bis": (today + timedelta(days=14)).isoformat()})
        assert r.status_code == 200 and "Vertretung durch viktor eingetragen" in r.text
        store = client.app.state.access.store
        client.cookies.clear()
        login(client, "viktor", "Viktors-Passwort-1")
        assert client.get(f"/api/documents/{doc}").status_code == 404  # starts tomorrow
        assert "paula" in client.get("/konto").text  # shows on the deputy's page
        # the same deputy, starting today (as if tomorrow had come)
        deputy = store.deputies("paula")[0]
        store.revoke_deputy(deputy.id, "test")
        store.add_deputy("paula", "viktor", today.isoformat(), today.isoformat(), "test")
        assert client.get(f"/api/documents/{doc}").status_code == 200
        assert client.get(f"/api/documents/{doc}/file").status_code == 200
        r = client.put(f"/api/documents/{doc}", files={"file": ("fund.md", FUND + b"\nNeu.\n")})
        assert r.status_code == 401  # the API takes tokens, not the session cookie
        csrf = _csrf(client)
        r = client.post(f"/verwaltung/loeschen/{doc}", data={"token": csrf}, follow_redirects=False)
        assert r.status_code == 303
        log = store.audit_log("standard")
        used = [e for e in log if "Vertretung für paula" in e.actor]
        assert {e.action for e in used} >= {"datei-abgerufen", "dokument-geloescht", "vertretung-genutzt"}
        # ended yesterday: the rights are gone
        store.revoke_deputy(store.deputies("paula")[0].id, "test")
        store.add_deputy("paula", "viktor", (today - timedelta(days=9)).isoformat(),
                         (today - timedelta(days=1)).isoformat(), "test")
        assert "personal" not in client.get("/konto").text.split("Meine Rechte heute")[1].split("Ich vertrete")[0]


def test_tenant_admin_sees_and_exports_the_audit_log_other_tenants_do_not(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder)
    add_user(settings, "admina", "Admin-Passwort-1", role="admin")
    add_user(settings, "fremd", "Fremd-Passwort-1", role="admin", tenant="nachbarstadt")
    with TestClient(create_app(settings, embedder)) as client:
        login(client, "admina", "Admin-Passwort-1")
        page = client.get("/verwaltung/mandant/standard")
        assert page.status_code == 200 and "Maschinen-Tokens" in page.text
        csrf = _csrf(client, "/verwaltung/mandant/standard")
        r = client.post("/verwaltung/mandant/standard", data={"token": csrf, "aktion": "benutzer", "name": "neu",
                                                              "anzeige": "=HYPERLINK(\"x\")",
                                                              "passwort": "Neu-Passwort-12"})
        assert "Benutzer neu angelegt" in r.text
        export = client.get("/verwaltung/protokoll/standard/export.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff")), delimiter=";"))
        assert rows[0] == ["nr", "zeit", "wer", "aktion", "ziel", "angaben", "adresse"]
        assert any(r[3] == "benutzer-angelegt" and r[4] == "neu" and r[2] == "admina" for r in rows)
        assert any(r[3] == "anmeldung" and r[2] == "admina" for r in rows)
        # a new token's secret: in the answer to the form only, not in a URL, not cached
        r = client.post("/verwaltung/mandant/standard", data={"token": csrf, "aktion": "token", "name": "Skript",
                                                              "rolle": "reader"}, follow_redirects=False)
        secret = re.search(r"<code>(aw_[^<]+)</code>", r.text).group(1)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert secret not in client.get("/verwaltung/mandant/standard", params={"neues_token": secret}).text
        client.cookies.clear()
        login(client, "fremd", "Fremd-Passwort-1")
        assert client.get("/verwaltung/protokoll/standard/export.csv").status_code == 403
        assert client.get("/verwaltung/mandant/standard").status_code == 403
        # an administrator of another tenant can change nothing of this one through its own page
        csrf = _csrf(client, "/verwaltung/mandant/nachbarstadt")
        store = client.app.state.access.store
        store.set_collection("intern", "standard", "eingeschraenkt", "test")

        def act(**form):
            r = client.post("/verwaltung/mandant/nachbarstadt", data={"token": csrf, **form})
            return r.status_code, httpx.URL(str(r.url)).params.get("meldung", "")

        assert "gibt es in diesem Mandanten nicht" in act(aktion="passwort", name="admina", passwort="Gekapert-12345")[1]
        assert "gibt es in diesem Mandanten nicht" in act(aktion="sperren", name="admina")[1]
        assert "nicht eingetragen" in act(aktion="teilen", sammlung="intern", mandant="nachbarstadt")[1]
        assert "anderen Mandanten" in act(aktion="sammlung", name="intern", sichtbarkeit="oeffentlich")[1]
        # a collection nobody registered belongs to the default tenant: no other tenant claims it
        assert client.post("/api/documents", headers={"X-API-Key": API_KEY}, data={"collection": "akten"},
                           files={"file": ("fund.md", FUND)}).status_code == 201
        assert "gehört dem Mandanten" in act(aktion="sammlung", name="akten", sichtbarkeit="oeffentlich")[1]
        assert store.collection("akten") is None
        assert store.user("admina").active and store.collection("intern").shared_with == ()
        assert store.collection("intern").visibility == "eingeschraenkt"
        client.cookies.clear()
        assert login(client, "admina", "Admin-Passwort-1").headers["location"] == "/verwaltung"
        # the log is append-only in the database itself
        with pytest.raises(Exception):
            with client.app.state.access.store.db.tx() as run:
                run("DELETE FROM audit")


def test_searches_are_rate_limited_per_caller(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, search_per_minute=8)
    with TestClient(create_app(settings, embedder)) as client:
        codes = [client.get("/api/search", params={"q": "Gebühr"}).status_code for _ in range(4)]
        assert codes == [200, 200, 429, 429]  # a burst of a quarter minute's worth, then wait
        assert int(client.get("/api/search", params={"q": "Gebühr"}).headers["retry-after"]) >= 1
        # another caller (the installation key) has its own allowance
        assert client.get("/api/search", params={"q": "Gebühr"}, headers={"X-API-Key": API_KEY}).status_code == 200


def test_one_tenants_uploads_cannot_take_every_worker(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, tenant_parallel_writes=1)
    app = create_app(settings, embedder)
    with TestClient(app) as client:
        slots = client.app.state.write_slots
        started, release = threading.Event(), threading.Event()

        def hold():
            with slots.slot("standard"):
                started.set()
                release.wait(30)

        worker = threading.Thread(target=hold)
        worker.start()
        started.wait(10)
        r = client.post("/api/documents", headers={"X-API-Key": API_KEY}, files={"file": ("fund.md", FUND)})
        assert r.status_code == 429 and "Uploads" in r.json()["detail"]
        assert client.get("/api/search", params={"q": "Gebühr"}).status_code == 200  # searches go on
        release.set()
        worker.join()
        r = client.post("/api/documents", headers={"X-API-Key": API_KEY}, files={"file": ("fund.md", FUND)})
        assert r.status_code == 201
