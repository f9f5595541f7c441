"""Question → passages. The one search function behind the API, the web page, the CLI and eval.

hybrid (default): dense (e5 on FAISS) and lexical (BM25 on German-analysed
text) candidates, fused; passages of a section the question cites ("§ 17 BMG")
are boosted; an optional cross-encoder reorders the top.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import numpy as np

from amtswissen.settings import Settings
from index.lexical import LexicalIndex
from index.store import Allowed, IndexStore
from index.vectors import VectorIndex
from models.embedder import Embedder
from service.fusion import reciprocal_rank, weighted_sum
from service.highlight import best_sentences
from service.query import Citation, ParsedQuery, QueryParser, Synonyms, section_pattern
from service.rerank import Reranker
from service.schemas import DocumentRef, SearchResponse, SearchResult

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")


def document_url(doc_id: str, kind: str, page: int | None) -> str:
    url = f"/api/documents/{doc_id}/file"
    if kind == "pdf" and page:
        url += f"#page={page}"
    return url


@dataclass
class _Generation:
    number: int
    vectors: VectorIndex
    lexical: LexicalIndex


class Searcher:
    """Searches one index folder and follows it: after an ingest (by the CLI or
    the API) the next query sees the new generation, without a restart."""

    def __init__(self, settings: Settings, embedder: Embedder, reranker: Reranker | None = None):
        self.settings = settings
        self.index_folder = Path(settings.index)
        self.embedder = embedder
        IndexStore(self.index_folder, create=True).close()  # creates the schema if the folder is new
        self.parser = QueryParser(Synonyms(settings.synonyms))
        self.reranker = reranker if reranker is not None else Reranker.from_settings(settings)
        self._reload_lock = threading.Lock()
        self._local = threading.local()  # one SQLite connection per server thread
        self._gen: _Generation | None = None

    @contextmanager
    def snapshot(self) -> Iterator[IndexStore]:
        """This thread's connection, inside a read snapshot: the generation number and
        the rows read during one request belong to the same committed state."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = IndexStore(self.index_folder, create=False, reader=True)
        with store.snapshot():
            yield store

    # --- index generations --------------------------------------------------------
    def _current(self, store: IndexStore) -> _Generation:
        number = store.generation
        gen = self._gen
        if gen is None or gen.number != number:
            with self._reload_lock:
                gen = self._gen
                if gen is None or gen.number != number:
                    gen = _Generation(number, store.load_faiss(mmap=True), store.load_lexical())
                    # keep the newest: a slow request must not put an older generation back
                    if self._gen is None or self._gen.number < number:
                        self._gen = gen
        return gen

    def counts(self) -> tuple[int, int]:
        with self.snapshot() as store:
            return store.counts()

    def document(self, doc_id: str):
        with self.snapshot() as store:
            return store.document(doc_id)

    # --- retrieval ------------------------------------------------------------------
    def _dense(self, store: IndexStore, gen: _Generation, parsed: ParsedQuery, n: int,
               allowed: Allowed | None) -> tuple[dict[int, float], np.ndarray | None]:
        """Passages by their best-matching piece (cosine), among the allowed ones."""
        if gen.vectors.ntotal == 0 or (allowed is not None and not len(allowed.piece_ids)):
            return {}, None
        vector = self.embedder.embed_query(parsed.dense_text).astype(np.float32)
        if vector.shape[0] != gen.vectors.d:
            return {}, None
        scores, ids = gen.vectors.search(vector.reshape(1, -1), min(n, gen.vectors.ntotal),
                                         None if allowed is None else allowed.piece_ids)
        hits = [(int(i), float(sc)) for sc, i in zip(scores[0], ids[0]) if i >= 0]
        owner = store.chunks_of_pieces([i for i, _ in hits])
        passages: dict[int, float] = {}
        for piece_id, score in hits:
            chunk_id = owner.get(piece_id)
            if chunk_id is not None and score > passages.get(chunk_id, -1.0):
                passages[chunk_id] = score
        return passages, vector

    def _dense_exact(self, store: IndexStore, gen: _Generation, vector: np.ndarray, chunk_ids: set[int]) -> dict[int, float]:
        """Cosine of passages the dense search did not return, from their stored piece vectors."""
        pieces = store.pieces_of_chunks(sorted(chunk_ids))
        out = {}
        for chunk_id, piece_ids in pieces.items():
            try:
                out[chunk_id] = max(float(gen.vectors.reconstruct(p) @ vector) for p in piece_ids)
            except RuntimeError:
                continue
        return out

    def _cited(self, store: IndexStore, citations: list[Citation]) -> set[int]:
        ids: set[int] = set()
        for c in citations:
            marker = "Art" if c.kind == "Art" else "§"
            pattern = section_pattern(c)
            sql = "SELECT c.id, c.section, d.abbr, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.section LIKE ?"
            rows = store.db.execute(sql, (f"%{marker}%{c.number}%",)).fetchall()
            for r in rows:
                if not pattern.search(r["section"]):
                    continue
                if c.abbr and c.abbr.casefold() != (r["abbr"] or "").casefold() and not re.search(
                    rf"\({re.escape(c.abbr)}\)", r["title"], re.I
                ):
                    continue
                ids.add(int(r["id"]))
        return ids

    def _named_documents(self, store: IndexStore, parsed: ParsedQuery) -> set[str]:
        """Documents the question names by their short name ("IFG-Anfrage", "nach dem BMG")."""
        words = {w.casefold() for token in parsed.text.split() for w in re.findall(r"[A-Za-zÄÖÜäöüß]{2,}", token)}
        rows = store.db.execute("SELECT id, abbr FROM documents WHERE abbr != ''").fetchall()
        # only short names written with capitals: "IFG", not a word that happens to be a title ("Pass")
        capitals = {w.casefold() for w in re.findall(r"\b[A-ZÄÖÜ][A-Za-zÄÖÜäöüß]*[A-ZÄÖÜ]\w*", parsed.text)}
        return {r["id"] for r in rows if r["abbr"].casefold() in words and r["abbr"].casefold() in capitals}

    def _rank(self, store: IndexStore, gen: _Generation, parsed: ParsedQuery, mode: Mode, n: int,
              allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """Candidates of both retrievers, fused; filters restrict the candidates themselves."""
        s = self.settings
        lex_scores = gen.lexical.scores(parsed.terms) if mode != "dense" else None
        if lex_scores is not None and allowed is not None:
            lex_scores[~np.isin(gen.lexical.chunk_ids, allowed.chunk_ids)] = 0.0
        if mode == "lexical":
            return [(h.chunk_id, h.score) for h in gen.lexical.top(lex_scores, n)]
        # pieces outnumber passages: ask FAISS for more to fill the candidate list
        dense, vector = self._dense(store, gen, parsed, 3 * s.candidates, allowed)
        if mode == "dense":
            return sorted(dense.items(), key=lambda x: -x[1])[:n]
        lexical = {h.chunk_id: h.score for h in gen.lexical.top(lex_scores, s.candidates)}
        cited = self._cited(store, parsed.citations)
        if allowed is not None:
            cited &= set(allowed.chunk_ids.tolist())
        if s.fusion == "rrf":
            lists = [sorted(dense, key=dense.get, reverse=True), sorted(lexical, key=lexical.get, reverse=True)]
            weights = [1.0, s.lexical_weight / 0.3 if s.lexical_weight else 0.0]
            if cited:
                lists.append(sorted(cited))
                weights.append(2.0)
            fused = reciprocal_rank(lists, weights)
        else:
            # exact scores for every candidate on both sides, so the sum compares like with like
            candidates = set(dense) | set(lexical) | cited
            if vector is not None:
                dense.update(self._dense_exact(store, gen, vector, candidates - set(dense)))
            for cid in candidates - set(lexical):
                pos = gen.lexical.position(cid)
                if pos is not None:
                    lexical[cid] = float(lex_scores[pos])
            fused = weighted_sum(dense, lexical, s.lexical_weight)
            for cid in cited:
                fused[cid] = fused.get(cid, 0.0) + s.citation_boost
            named = self._named_documents(store, parsed)
            if named:
                rows = store.chunks_by_ids(list(fused))
                for cid, row in rows.items():
                    if row["doc_id"] in named:
                        fused[cid] += s.named_document_boost
        return sorted(fused.items(), key=lambda x: -x[1])[:n]

    def _document_ref(self, row) -> DocumentRef:
        reviewed = row["reviewed_at"]
        overdue = bool(reviewed) and (
            dt.date.fromisoformat(reviewed) < dt.date.today() - dt.timedelta(days=self.settings.review_after_days)
        )
        return DocumentRef(
            id=row["doc_id"], title=row["title"], source=row["source"], collection=row["collection"],
            url=document_url(row["doc_id"], row["kind"], row["page"]),
            valid_from=row["valid_from"], valid_until=row["valid_until"], owner=row["owner"], reviewed_at=reviewed,
            keywords=json.loads(row["keywords"] or "[]"), review_overdue=overdue,
        )

    def search(
        self,
        query: str,
        k: int = 10,
        mode: Mode | None = None,
        include_expired: bool = False,
        collection: str | None = None,
        kind: str | None = None,
    ) -> SearchResponse:
        """Top k passages. Filters: expired documents (unless asked), a collection, a document kind."""
        started = time.perf_counter()
        query = query.strip()
        mode = mode or self.settings.search_mode
        with self.snapshot() as store:
            gen = self._current(store)
            parsed = self.parser.parse(query, gen.lexical)
            want = max(k, self.settings.rerank_top if self.reranker else k)
            today = dt.date.today().isoformat()
            allowed = store.allowed(collection, kind, include_expired, today)
            ranked = self._rank(store, gen, parsed, mode, want + 50, allowed)
            rows = store.chunks_by_ids([cid for cid, _ in ranked])

        def wanted(row) -> bool:
            # (already applied inside retrieval; kept as the last word on what is shown)
            # documents past their gueltig_bis never answer unless asked for
            if not include_expired and row["valid_until"] and row["valid_until"] < today:
                return False
            return (collection is None or row["collection"] == collection) and (kind is None or row["kind"] == kind)

        ranked = [(cid, score) for cid, score in ranked if cid in rows and wanted(rows[cid])][:want]
        if self.reranker and ranked:
            ranked = self.reranker.rerank(query, ranked, {cid: rows[cid]["text"] for cid, _ in ranked})
        results = []
        for cid, score in ranked[:k]:
            row = rows[cid]
            results.append(
                SearchResult(
                    rank=len(results) + 1,
                    passage_id=cid,
                    score=round(float(score), 4),
                    text=row["text"],
                    highlight=best_sentences(query + " " + " ".join(parsed.expansions), row["text"]),
                    section=row["section"],
                    page=row["page"],
                    document=self._document_ref(row),
                )
            )
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query=query, took_ms=round(took, 1), results=results)
