"""Shared fixtures: the real converted model and a small real index, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from amtswissen.settings import PROJECT_ROOT, Settings
from ingest.pipeline import ingest
from ingest.store import IndexStore
from models.embedder import Embedder

SHARED = PROJECT_ROOT.parent / "shared"
LAWS = SHARED / "corpus" / "laws"
PDFS = SHARED / "corpus" / "pdfs"
BGBL = SHARED / "corpus" / "bgbl-pdfs"
MELDESCHEIN = PDFS / "de_meldeschein_hinweispflichten.pdf"
MODEL_DIR = PROJECT_ROOT / "models" / "e5-small"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(MODEL_DIR)


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
