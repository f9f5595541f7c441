"""Question → passages. The one search function behind the API, the web page, the CLI and eval.

hybrid (default): dense (e5 vectors in the backend: FAISS or pgvector) and lexical
(BM25 on German-analysed text) candidates, fused — both restricted to what the filter
allows before ranking; passages of a section the question cites ("§ 17 BMG")
are boosted; an optional cross-encoder reorders the top.
"""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager
from typing import Literal

import numpy as np

from amtswissen.settings import Settings
from index.lexical import Vocabulary
from index.base import Allowed, Backend, Filter, Passage, Reader, review_overdue
from models.embedder import Embedder
from search.fusion import reciprocal_rank, weighted_sum
from search.highlight import best_sentences
from search.query import Citation, ParsedQuery, QueryParser, Synonyms, section_pattern
from search.rerank import Reranker
from search.results import DocumentRef, SearchResponse, SearchResult

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")


def document_url(doc_id: str, kind: str, page: int | None) -> str:
    url = f"/api/documents/{doc_id}/file"
    if kind == "pdf" and page:
        url += f"#page={page}"
    return url


class Searcher:
    """Searches one index (folder or database) and follows it: after an ingest (by the CLI,
    the API or another server) the next query sees the new state, without a restart."""

    def __init__(self, settings: Settings, embedder: Embedder, reranker: Reranker | None = None,
                 backend: Backend | None = None):
        self.settings = settings
        self.backend = backend if backend is not None else settings.backend()
        self.embedder = embedder
        self.parser = QueryParser(Synonyms(settings.synonyms))
        self.reranker = reranker if reranker is not None else Reranker.from_settings(settings)

    def snapshot(self) -> AbstractContextManager[Reader]:
        """A read snapshot: everything read during one request belongs to one committed state."""
        return self.backend.snapshot()

    def counts(self, readable: frozenset[str] | None = None) -> tuple[int, int]:
        with self.snapshot() as reader:
            return reader.counts(readable)

    # --- retrieval ------------------------------------------------------------------
    def _cited(self, reader: Reader, citations: list[Citation]) -> set[int]:
        ids: set[int] = set()
        for c in citations:
            pattern = section_pattern(c)
            for sec in reader.sections_like("Art" if c.kind == "Art" else "§", c.number):
                if not pattern.search(sec.section):
                    continue
                if c.abbr and c.abbr.casefold() != sec.abbr.casefold() and not re.search(
                    rf"\({re.escape(c.abbr)}\)", sec.title, re.I
                ):
                    continue
                ids.add(sec.chunk_id)
        return ids

    def _named_documents(self, reader: Reader, parsed: ParsedQuery) -> set[str]:
        """Documents the question names by their short name ("IFG-Anfrage", "nach dem BMG")."""
        words = {w.casefold() for token in parsed.text.split() for w in re.findall(r"[A-Za-zÄÖÜäöüß]{2,}", token)}
        # only short names written with capitals: "IFG", not a word that happens to be a title ("Pass")
        capitals = {w.casefold() for w in re.findall(r"\b[A-ZÄÖÜ][A-Za-zÄÖÜäöüß]*[A-ZÄÖÜ]\w*", parsed.text)}
        return {doc_id for doc_id, abbr in reader.abbreviations().items()
                if abbr.casefold() in words and abbr.casefold() in capitals}

    def _rank(self, reader: Reader, parsed: ParsedQuery, mode: Mode, n: int, allowed: Allowed | None,
              vocabulary: Vocabulary) -> list[tuple[int, float]]:
        """Candidates of both retrievers, fused; filters restrict the candidates themselves
        (and the lexical statistics: the vocabulary's mask, see LexicalIndex.scores)."""
        s = self.settings
        lexicon = reader.lexicon
        lex_scores = lexicon.scores(parsed.terms, vocabulary.mask) if mode != "dense" else None
        if mode == "lexical":
            return [(h.chunk_id, h.score) for h in lexicon.top(lex_scores, n)]
        vector = self.embedder.embed_query(parsed.dense_text).astype(np.float32)
        # pieces outnumber passages: ask for more to fill the candidate list
        dense = reader.dense_top(vector, 3 * s.candidates, allowed)
        if mode == "dense":
            return sorted(dense.items(), key=lambda x: -x[1])[:n]
        lexical = {h.chunk_id: h.score for h in lexicon.top(lex_scores, s.candidates)}
        cited = self._cited(reader, parsed.citations)
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
            dense.update(reader.dense_scores(vector, candidates - set(dense)))
            for cid in candidates - set(lexical):
                pos = lexicon.position(cid)
                if pos is not None:
                    lexical[cid] = float(lex_scores[pos])
            fused = weighted_sum(dense, lexical, s.lexical_weight)
            for cid in cited:
                fused[cid] = fused.get(cid, 0.0) + s.citation_boost
            named = self._named_documents(reader, parsed)
            if named:
                for cid, passage in reader.passages(list(fused)).items():
                    if passage.document.id in named:
                        fused[cid] += s.named_document_boost
        return sorted(fused.items(), key=lambda x: -x[1])[:n]

    def _document_ref(self, passage: Passage) -> DocumentRef:
        doc = passage.document
        return DocumentRef(
            id=doc.id, title=doc.title, source=doc.source, collection=doc.collection,
            url=document_url(doc.id, doc.kind, passage.page),
            valid_from=doc.valid_from, valid_until=doc.valid_until, owner=doc.owner, reviewed_at=doc.reviewed_at,
            keywords=doc.keyword_list, review_overdue=review_overdue(doc.reviewed_at, self.settings.review_after_days),
        )

    def search(
        self,
        query: str,
        k: int = 10,
        mode: Mode | None = None,
        include_expired: bool = False,
        collection: str | None = None,
        kind: str | None = None,
        readable: frozenset[str] | None = None,
    ) -> SearchResponse:
        """Top k passages. Filters: expired documents (unless asked), a collection, a document
        kind, and `readable`: the collections the caller may read (None: no restriction).
        Every filter restricts the candidates of both retrievers and the vocabulary the
        question is read with, before anything is ranked."""
        started = time.perf_counter()
        query = query.strip()
        mode = mode or self.settings.search_mode
        with self.snapshot() as reader:
            allowed = reader.allowed(Filter(collection, kind, include_expired, readable=readable))
            vocabulary = Vocabulary(reader.lexicon, None if allowed is None else allowed.chunk_ids)
            parsed = self.parser.parse(query, vocabulary)
            want = max(k, self.settings.rerank_top if self.reranker else k)
            ranked = self._rank(reader, parsed, mode, want, allowed, vocabulary)
            passages = reader.passages([cid for cid, _ in ranked])
        ranked = [(cid, score) for cid, score in ranked if cid in passages]
        if self.reranker and ranked:
            ranked = self.reranker.rerank(query, ranked, {cid: passages[cid].text for cid, _ in ranked})
        results = []
        for cid, score in ranked[:k]:
            passage = passages[cid]
            results.append(
                SearchResult(
                    rank=len(results) + 1,
                    passage_id=cid,
                    score=round(float(score), 4),
                    text=passage.text,
                    highlight=best_sentences(query + " " + " ".join(parsed.expansions), passage.text),
                    section=passage.section,
                    page=passage.page,
                    document=self._document_ref(passage),
                )
            )
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query=query, took_ms=round(took, 1), results=results, corrections=parsed.corrections)
