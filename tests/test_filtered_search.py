"""Filters restrict retrieval itself: a search in a small collection returns that
collection's best passages, also when the question matches the rest of the index far better."""

import datetime as dt
import shutil

import numpy as np
import pytest

from amtswissen.settings import Settings
from ingest.pipeline import ingest
from index.base import Filter
from index.local import IndexStore
from search.searcher import Searcher
from tests.conftest import LAWS, MODEL_DIR

KANTINE = """# Hausordnung Kantine

## Öffnungszeiten

Die Kantine im Rathaus öffnet werktags um 11 Uhr und schließt um 14 Uhr.

## Bezahlung

Bezahlt wird mit der Dienstkarte; Bargeld wird nicht angenommen.

## Reinigung

Geschirr bringt jeder selbst zum Rückgabeband.
"""


@pytest.fixture(scope="module")
def searcher(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("filtered")
    laws = root / "gesetze"
    laws.mkdir()
    for name in ("pauswg.md", "passg_1986.md", "pauswgebv.md"):
        shutil.copy(LAWS / name, laws)
    intern = root / "intern"
    intern.mkdir()
    (intern / "kantine.md").write_text(KANTINE, encoding="utf-8")
    old = root / "alt"
    old.mkdir()
    (old / "alte-regel.md").write_text("---\ngueltig_bis: 2001-01-01\n---\n# Alte Passregel\n\nEin Reisepass ist "
                                       "für Personen unter 24 Jahren sechs Jahre gültig und kostet zehn Mark.\n",
                                       encoding="utf-8")
    store = IndexStore(root / "index")
    ingest([laws, old], store, embedder, collection="recht", progress=False)
    ingest([intern], store, embedder, collection="intern", progress=False)
    store.close()
    return Searcher(Settings(index=root / "index", model=MODEL_DIR), embedder)


QUESTION = "Wie lange ist ein Reisepass gültig, wenn man jünger als 24 ist?"


def test_a_small_collection_returns_its_own_best_passages(searcher):
    unfiltered = searcher.search(QUESTION, k=60)
    # the index's own best 60 hold nothing of the small collection: filtering after ranking found nothing
    assert all(r.document.collection == "recht" for r in unfiltered.results)
    for mode in ("hybrid", "dense"):
        found = searcher.search(QUESTION, k=3, collection="intern", mode=mode).results
        assert len(found) == 3, mode  # it has three passages: all three come back
        assert {r.document.collection for r in found} == {"intern"}
    # lexical alone finds only passages sharing a word with the question: none here
    assert searcher.search(QUESTION, k=3, collection="intern", mode="lexical").results == []


def test_filtered_dense_ranking_is_exact_among_the_allowed(searcher):
    found = searcher.search("Wann öffnet die Kantine?", k=3, collection="intern", mode="dense").results
    assert found[0].section.endswith("Öffnungszeiten")
    with searcher.snapshot() as reader:
        allowed = reader.allowed(Filter("intern"))
        vectors = reader._gen.vectors.vectors(allowed.piece_ids)  # the FAISS index of this generation
        owner = reader._store.chunks_of_pieces(allowed.piece_ids.tolist())
        q = searcher.embedder.embed_query(searcher.parser.parse("Wann öffnet die Kantine?", reader.lexicon).dense_text)
    best: dict[int, float] = {}
    for pid, score in zip(allowed.piece_ids.tolist(), vectors @ q):
        best[owner[pid]] = max(best.get(owner[pid], -1.0), float(score))
    assert [r.passage_id for r in found] == sorted(best, key=best.get, reverse=True)[:3]


def test_expired_documents_are_left_out_inside_retrieval(searcher):
    today = dt.date.today().isoformat()
    with searcher.snapshot() as reader:
        everything = reader.allowed(Filter(include_expired=True, today=today))
        current = reader.allowed(Filter(today=today))
        assert everything is None  # nothing excluded: no restriction at all
        assert current is not None and len(current.chunk_ids) == reader.counts()[1] - 1
    shown = searcher.search(QUESTION, k=10).results
    assert all(r.document.title != "Alte Passregel" for r in shown)
    asked = searcher.search(QUESTION, k=10, include_expired=True, collection="recht").results
    assert any(r.document.title == "Alte Passregel" for r in asked)


def test_a_filter_matching_everything_does_not_restrict(searcher):
    with searcher.snapshot() as reader:
        assert reader.allowed(Filter(kind="nonexistent")) is not None
        assert len(reader.allowed(Filter(kind="nonexistent")).chunk_ids) == 0
    assert searcher.search(QUESTION, k=5, kind="nonexistent").results == []
    assert np.all([r.document.collection == "recht" for r in searcher.search(QUESTION, k=5, collection="recht").results])
