"""What the service shows to anyone: the run log only to officers, security headers on every
page, and API documentation that works offline."""

import re

import pytest

from tests.conftest import API_KEY, api_client


@pytest.fixture()
def client(tmp_path, embedder):
    with api_client(tmp_path, embedder) as c:
        yield c


def test_ingest_runs_need_the_key(client):
    assert client.get("/api/ingest/runs").status_code == 401
    runs = client.get("/api/ingest/runs", headers={"X-API-Key": API_KEY})
    assert runs.status_code == 200 and runs.json()[0]["report"]["added"] == 1


@pytest.mark.parametrize("path", ["/", "/?q=Personalausweis", "/verwaltung/anmelden", "/docs", "/api/health",
                                  "/static/style.css", "/gibtsnicht"])
def test_security_headers_everywhere(client, path):
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'self'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_uploaded_web_pages_are_served_sandboxed(client):
    page = b"<html><head><title>Fund</title></head><body><p>Fundsachen sechs Monate.</p><script>alert(1)</script></body></html>"
    doc = client.post("/api/documents", files={"file": ("fund.html", page)}, headers={"X-API-Key": API_KEY}).json()
    served = client.get(f"/api/documents/{doc['id']}/file")
    assert served.content == page and served.headers["content-security-policy"].startswith("sandbox")


def test_api_docs_load_only_from_the_app(client):
    page = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "<script>" not in page  # no inline script: the CSP allows none
    for s in sources:
        r = client.get(s)
        assert r.status_code == 200 and len(r.content) > 100, s
    assert "SwaggerUIBundle" in client.get("/static/swagger/swagger-ui-bundle.js").text
    assert client.get("/redoc").status_code == 404
