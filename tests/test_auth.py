"""Sign-in and write access: local accounts (argon2id), keys compared as bytes (umlauts
never 500), failed attempts slowed down per address and per account, random server-side
sessions with expiry and real logout, per-session CSRF tokens, tokens and the installation key."""

import re

import httpx
import pytest

from access.passwords import hash_password, verify_password
from access.service import AccessService, Throttle
from service.api import create_app
from service.auth import COOKIE
from tests.conftest import (OFFICER, OFFICER_PASSWORD, add_user, amtswissen_serve, api_client, api_settings, login,
                            served, small_index)

UMLAUT_KEY = "Schlüssel-2026"


@pytest.fixture()
def client(tmp_path, embedder):
    with api_client(tmp_path, embedder, api_key=UMLAUT_KEY) as c:
        add_user(c.app.state.settings, OFFICER, OFFICER_PASSWORD)
        yield c


def _login(client, password=OFFICER_PASSWORD, name=OFFICER):
    return login(client, name, password)


def _csrf(client) -> str:
    return re.search(r'name="token" value="([0-9a-f]+)"', client.get("/verwaltung").text).group(1)


def test_a_key_with_umlauts_works_and_wrong_non_ascii_keys_are_401(tmp_path, embedder):
    # a real server: the test client would re-encode header bytes on the way
    settings = api_settings(tmp_path, embedder, api_key=UMLAUT_KEY)
    with served(create_app(settings, embedder)) as base:
        ok = httpx.post(f"{base}/api/documents", headers={"X-API-Key": UMLAUT_KEY.encode("utf-8")},
                        files={"file": ("a.md", "# Fund\n\nFundsachen werden sechs Monate aufbewahrt.\n".encode())})
        assert ok.status_code == 201, ok.text
        for raw in (b"\xe4", "äöü".encode(), b"Schl\xfcssel-2026"):  # latin-1 ä, UTF-8 umlauts, latin-1 of the key
            r = httpx.delete(f"{base}/api/documents/xyz", headers={"X-API-Key": raw})
            assert r.status_code == 401 and "Zugangsdaten" in r.json()["detail"], raw


def test_login_with_umlauts(client):
    assert _login(client, "äöü").headers["location"].endswith("fehler=1")
    assert _login(client, OFFICER_PASSWORD, "niemand").headers["location"].endswith("fehler=1")
    assert _login(client).headers["location"] == "/verwaltung"
    assert client.get("/verwaltung").status_code == 200


def test_passwords_are_stored_as_argon2id_hashes(client):
    access = client.app.state.access
    stored = access.store.password_hash(OFFICER)
    assert stored.startswith("$argon2id$") and OFFICER_PASSWORD not in stored
    assert verify_password(stored, OFFICER_PASSWORD) and not verify_password(stored, "falsch")
    with pytest.raises(ValueError):
        hash_password("kurz")


def test_a_disabled_user_is_signed_out_at_once(client):
    _login(client)
    assert client.get("/verwaltung").status_code == 200
    client.app.state.access.store.update_user(OFFICER, "test", active=False)
    assert client.get("/verwaltung", follow_redirects=False).headers["location"] == "/verwaltung/anmelden"
    assert _login(client).headers["location"].endswith("fehler=1")


def test_odd_cookies_and_tokens_are_refused_not_500(client):
    raw = {"cookie": f"{COOKIE}=äöü".encode()}
    assert client.get("/verwaltung", headers=raw, follow_redirects=False).status_code == 303
    assert client.post("/verwaltung/hochladen", headers=raw, files={"dateien": ("a.md", b"x")},
                       data={"token": "ä"}).status_code == 403
    assert client.post("/verwaltung/loeschen/x", data={"token": "ä"}).status_code == 403
    _login(client)
    assert client.post("/verwaltung/loeschen/x", data={"token": "äöü"}).status_code == 403


def test_sessions_are_random_and_logout_ends_them(client, tmp_path, embedder):
    first = _login(client).cookies[COOKIE]
    client.cookies.clear()
    second = _login(client).cookies[COOKIE]
    assert first != second and len(second) >= 40
    token = _csrf(client)
    client.post("/verwaltung/abmelden")
    client.cookies.set(COOKIE, second)  # the old cookie, kept by an attacker
    assert client.get("/verwaltung", follow_redirects=False).headers["location"] == "/verwaltung/anmelden"
    assert client.post("/verwaltung/loeschen/x", data={"token": token}).status_code == 403


def test_csrf_tokens_belong_to_one_session(client):
    _login(client)
    mine = _csrf(client)
    client.cookies.clear()
    _login(client)
    theirs = _csrf(client)
    assert mine != theirs
    assert client.post("/verwaltung/loeschen/x", data={"token": mine}).status_code == 403
    assert client.post("/verwaltung/loeschen/x", data={"token": theirs}).status_code == 404  # accepted; no such doc


def test_failed_logins_lock_the_account_even_for_the_right_password(client):
    for _ in range(5):
        assert _login(client, "falsch").headers["location"].endswith("fehler=1")
    r = _login(client)
    assert r.status_code == 429 and "Zu viele Fehlversuche" in r.text and int(r.headers["retry-after"]) > 60
    # the account is locked from every address; the attempts are in the audit log
    log = client.app.state.access.store.audit_log("standard")
    assert sum(e.action == "anmeldung-fehlgeschlagen" and e.target == OFFICER for e in log) == 5


def test_failed_logins_lock_the_address_across_accounts(client):
    for i in range(5):
        assert _login(client, "falsch", f"rater{i}").headers["location"].endswith("fehler=1")
    assert _login(client).status_code == 429


def test_api_key_guessing_is_slowed_down(tmp_path, embedder):
    with api_client(tmp_path, embedder) as client:
        codes = [client.delete("/api/documents/x", headers={"X-API-Key": f"rate{i}"}).status_code for i in range(8)]
        assert codes == [401] * 5 + [429] * 3


def test_secure_cookie_over_https(tmp_path, embedder):
    with api_client(tmp_path, embedder, base_url="https://testserver") as client:
        add_user(client.app.state.settings, OFFICER, OFFICER_PASSWORD)
        cookie = _login(client).headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    (tmp_path / "b").mkdir()
    with api_client(tmp_path / "b", embedder) as client:
        add_user(client.app.state.settings, OFFICER, OFFICER_PASSWORD)
        assert "Secure" not in _login(client).headers["set-cookie"]


def test_sessions_expire_when_idle_and_in_any_case(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, session_minutes=1, session_max_hours=1)
    add_user(settings, OFFICER, OFFICER_PASSWORD)
    access = AccessService.from_settings(settings)
    now = [0.0]
    access.clock = lambda: now[0]
    user = access.store.user(OFFICER)
    token, _ = access.new_session(user, "test")
    now[0] = 59
    assert access.session(token) is not None
    now[0] = 120  # 61 s idle
    assert access.session(token) is None
    token, _ = access.new_session(user, "test")
    for t in range(170, 3900, 50):  # active every 50 s, but older than an hour at the end
        now[0] = t
        alive = access.session(token) is not None
    assert not alive
    access.close()


def test_throttle_forgets_after_the_window():
    now = [0.0]
    throttle = Throttle(attempts=3, window_seconds=100, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("a")
    assert throttle.wait_seconds("a") == 100 and throttle.wait_seconds("b") == 0
    now[0] = 101
    assert throttle.wait_seconds("a") == 0


def test_a_client_cannot_choose_the_address_its_failures_count_against(tmp_path, embedder):
    with amtswissen_serve(small_index(tmp_path, embedder), AMTSWISSEN_API_KEY=UMLAUT_KEY) as base:
        for i in range(5):
            r = httpx.delete(f"{base}/api/documents/x", headers={"X-API-Key": f"falsch{i}",
                                                                 "X-Forwarded-For": f"198.51.100.{i}"})
            assert r.status_code == 401
        right = {"X-API-Key": UMLAUT_KEY.encode(), "X-Forwarded-For": "203.0.113.99"}
        assert httpx.delete(f"{base}/api/documents/x", headers=right).status_code == 429
