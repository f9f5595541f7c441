"""Write access: keys compared as bytes (umlauts never 500), failed attempts slowed down,
random server-side sessions with expiry and real logout, per-session CSRF tokens."""

import re

import httpx
import pytest

from service.api import create_app
from service.auth import COOKIE, Sessions, Throttle
from tests.conftest import amtswissen_serve, api_client, api_settings, served, small_index

UMLAUT_KEY = "Schlüssel-2026"


@pytest.fixture()
def client(tmp_path, embedder):
    with api_client(tmp_path, embedder, api_key=UMLAUT_KEY) as c:
        yield c


def _login(client, key=UMLAUT_KEY):
    return client.post("/verwaltung/anmelden", data={"schluessel": key}, follow_redirects=False)


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
            assert r.status_code == 401 and "API-Schlüssel" in r.json()["detail"], raw


def test_login_with_umlauts(client):
    assert _login(client, "äöü").headers["location"].endswith("fehler=1")
    assert _login(client).headers["location"] == "/verwaltung"
    assert client.get("/verwaltung").status_code == 200


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


def test_failed_logins_lock_the_address_even_for_the_right_key(client):
    for _ in range(5):
        assert _login(client, "falsch").headers["location"].endswith("fehler=1")
    r = _login(client)
    assert r.status_code == 429 and "Zu viele Fehlversuche" in r.text and int(r.headers["retry-after"]) > 60
    api = client.delete("/api/documents/x", headers={"X-API-Key": UMLAUT_KEY.encode()})
    assert api.status_code == 429  # the same count guards the API key


def test_api_key_guessing_is_slowed_down(tmp_path, embedder):
    with api_client(tmp_path, embedder) as client:
        codes = [client.delete("/api/documents/x", headers={"X-API-Key": f"rate{i}"}).status_code for i in range(8)]
        assert codes == [401] * 5 + [429] * 3


def test_secure_cookie_over_https(tmp_path, embedder):
    with api_client(tmp_path, embedder, base_url="https://testserver") as client:
        cookie = _login(client, "geheim-123").headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    (tmp_path / "b").mkdir()
    with api_client(tmp_path / "b", embedder) as client:
        assert "Secure" not in _login(client, "geheim-123").headers["set-cookie"]


def test_sessions_expire_when_idle_and_in_any_case():
    now = [0.0]
    sessions = Sessions(idle_seconds=60, max_seconds=300, clock=lambda: now[0])
    token, _ = sessions.create()
    now[0] = 59
    assert sessions.get(token) is not None
    now[0] = 120  # 61 s idle
    assert sessions.get(token) is None
    token, _ = sessions.create()
    for t in range(170, 500, 50):  # active every 50 s, but older than 300 s at the end
        now[0] = t
        alive = sessions.get(token) is not None
    assert not alive


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
