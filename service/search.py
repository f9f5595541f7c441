"""Question → passages. The one search function behind the API, the web page, the CLI and eval."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import faiss
import numpy as np

from ingest.store import IndexStore
from models.embedder import Embedder
from service.highlight import best_sentences
from service.schemas import DocumentRef, SearchResponse, SearchResult


def document_url(doc_id: str, kind: str, page: int | None) -> str:
    url = f"/api/documents/{doc_id}/file"
    if kind == "pdf" and page:
        url += f"#page={page}"
    return url


class Searcher:
    """Searches one index folder and follows it: after an ingest (by the CLI or
    the API) the next query sees the new generation, without a restart."""

    def __init__(self, index_folder: Path, embedder: Embedder):
        self.index_folder = Path(index_folder)
        self.embedder = embedder
        self.store = IndexStore(self.index_folder, create=True)
        self._lock = threading.Lock()  # guards reloading
        self._db_lock = threading.Lock()  # one SQLite connection, shared by the server's threads
        self._generation = -1
        self._faiss: faiss.Index | None = None

    def _current(self) -> faiss.Index:
        with self._db_lock:
            generation = self.store.generation
        if generation != self._generation or self._faiss is None:
            with self._lock:
                if generation != self._generation or self._faiss is None:
                    with self._db_lock:
                        self._faiss = self.store.load_faiss()
                    self._generation = generation
        return self._faiss

    def counts(self) -> tuple[int, int]:
        with self._db_lock:
            return self.store.counts()

    def document(self, doc_id: str):
        with self._db_lock:
            return self.store.document(doc_id)

    def search(self, query: str, k: int = 10) -> SearchResponse:
        started = time.perf_counter()
        query = query.strip()
        index = self._current()
        results: list[SearchResult] = []
        if index.ntotal > 0:
            vector = self.embedder.embed_query(query).reshape(1, -1).astype(np.float32)
            if vector.shape[1] == index.d:
                scores, ids = index.search(vector, min(k, index.ntotal))
                with self._db_lock:
                    rows = self.store.chunks_by_ids([int(i) for i in ids[0] if i >= 0])
                for score, chunk_id in zip(scores[0], ids[0]):
                    row = rows.get(int(chunk_id))
                    if row is None:  # removed between FAISS load and lookup
                        continue
                    results.append(
                        SearchResult(
                            rank=len(results) + 1,
                            score=round(float(score), 4),
                            text=row["text"],
                            highlight=best_sentences(query, row["text"]),
                            section=row["section"],
                            page=row["page"],
                            document=DocumentRef(
                                id=row["doc_id"],
                                title=row["title"],
                                source=row["source"],
                                collection=row["collection"],
                                url=document_url(row["doc_id"], row["kind"], row["page"]),
                            ),
                        )
                    )
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query=query, took_ms=round(took, 1), results=results)
