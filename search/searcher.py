"""Question → passages. The one search function behind the API, the web page, the CLI and eval.

hybrid (default): dense (e5 vectors in the backend: FAISS or pgvector) and lexical
(BM25 on German-analysed text) candidates, fused — both restricted to what the filter
allows before ranking; passages of a section the question cites ("§ 17 BMG")
are boosted; the top is re-ordered by how well each passage's best sentence answers
(search/evidence.py), or by an optional cross-encoder.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from contextlib import AbstractContextManager
from typing import Literal, NamedTuple

import numpy as np

from amtswissen.settings import Settings
from index.lexical import Vocabulary
from index.base import Allowed, Backend, Filter, Passage, Reader, review_overdue
from models.embedder import Embedder
from search.fusion import reciprocal_rank, weighted_sum
from search.answer import answer_box
from search.evidence import EVIDENCE_TOP, reorder
from search.highlight import Marked, Question, mark
from search.intent import asked_sections
from search.query import Citation, ParsedQuery, QueryParser, Synonyms, find_citations, section_pattern
from search.rerank import Reranker
from search.results import DocumentRef, SearchResponse, SearchResult

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")


class Ranking(NamedTuple):
    ranked: list[tuple[int, float]]
    best_dense: float | None  # the best cosine of a piece (None in lexical mode)
    agreed_first: int | None  # the passage both retrievers put first, if they agree


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

    def cited_passages(self, text: str, readable: frozenset[str] | None = None) -> list[tuple[str, Passage | None]]:
        """Each citation in `text` ("§ 17 BMG, § 23 BMG") with the passage of the ingested
        section it names (the first one, where a § spans several passages), or None when
        no readable document holds it. Used to link a task's legal basis."""
        out: list[tuple[str, Passage | None]] = []
        with self.snapshot() as reader:
            for written, c in find_citations(text):
                ids = sorted(self._cited(reader, [c])) if c.abbr else []
                passages = reader.passages(ids)
                found = next((p for i in ids if (p := passages.get(i)) is not None
                              and (readable is None or p.document.collection in readable)), None)
                out.append((written, found))
        return out

    def _named_documents(self, reader: Reader, parsed: ParsedQuery) -> set[str]:
        """Documents the question names by their short name ("IFG-Anfrage", "nach dem BMG")."""
        words = {w.casefold() for token in parsed.text.split() for w in re.findall(r"[A-Za-zÄÖÜäöüß]{2,}", token)}
        # only short names written with capitals: "IFG", not a word that happens to be a title ("Pass")
        capitals = {w.casefold() for w in re.findall(r"\b[A-ZÄÖÜ][A-Za-zÄÖÜäöüß]*[A-ZÄÖÜ]\w*", parsed.text)}
        return {doc_id for doc_id, abbr in reader.abbreviations().items()
                if abbr.casefold() in words and abbr.casefold() in capitals}

    def _rank(self, reader: Reader, parsed: ParsedQuery, mode: Mode, n: int, allowed: Allowed | None,
              vocabulary: Vocabulary, vector: np.ndarray | None) -> Ranking:
        """Candidates of both retrievers, fused; filters restrict the candidates themselves
        (and the lexical statistics: the vocabulary's mask, see LexicalIndex.scores).
        Also the best cosine of a piece (None in lexical mode): how close the nearest
        candidate came, comparable across searches with different filters; and the passage
        both retrievers put first, if they agree (hybrid mode only)."""
        s = self.settings
        lexicon = reader.lexicon
        lex_scores = lexicon.scores(parsed.terms, vocabulary.mask) if mode != "dense" else None
        if mode == "lexical":
            return Ranking([(h.chunk_id, h.score) for h in lexicon.top(lex_scores, n)], None, None)
        # pieces outnumber passages: ask for more to fill the candidate list
        dense = reader.dense_top(vector, 3 * s.candidates, allowed)
        best = max(dense.values()) if dense else None
        if mode == "dense":
            return Ranking(sorted(dense.items(), key=lambda x: -x[1])[:n], best, None)
        lexical = {h.chunk_id: h.score for h in lexicon.top(lex_scores, s.candidates)}
        dense_first = max(dense, key=dense.get) if dense else None
        agreed = dense_first if lexical and dense_first == max(lexical, key=lexical.get) else None
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
        return Ranking(sorted(fused.items(), key=lambda x: -x[1])[:n], best, agreed)

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
        notes: bool = True,
        synonym_scopes: frozenset[str] | None = None,
    ) -> SearchResponse:
        """Top k passages. Filters: expired documents (unless asked), a collection, a document
        kind, and `readable`: the collections the caller may read (None: no restriction).
        Every filter restricts the candidates of both retrievers and the vocabulary the
        question is read with, before anything is ranked.

        Released task notes form their own list (`notes`, up to `note_results` sections),
        ranked among the notes only and shown when their best piece comes within
        `note_gate` of the best document's cosine; the documents are ranked without them,
        so a note never pushes the law that answers out of the list. Measured against one
        mixed list with and without a boost for notes: README „Wissenssicherung“.
        `notes=False` (or note_results 0): one list of everything, notes included.
        `synonym_scopes`: the collections whose officers' synonym lists apply (default: those
        searched; the web layer narrows it to the caller's own tenant)."""
        started = time.perf_counter()
        query = query.strip()
        mode = mode or self.settings.search_mode
        lanes = notes and self.settings.note_results > 0
        base = Filter(collection, kind, include_expired, readable=readable)
        with self.snapshot() as reader:
            # the documents are read with their own vocabulary and statistics, as if there were
            # no notes: typo corrections, known words and BM25 weights stay what they were
            allowed = reader.allowed(replace(base, notes=False) if lanes else base)
            vocabulary = Vocabulary(reader.lexicon, None if allowed is None else allowed.chunk_ids)
            scopes = synonym_scopes if synonym_scopes is not None else readable
            if collection:
                scopes = frozenset({collection}) & scopes if scopes is not None else frozenset({collection})
            parsed = self.parser.parse(query, vocabulary, scopes)
            vector = None if mode == "lexical" else self.embedder.embed_query(parsed.dense_text).astype(np.float32)
            evidence = mode == "hybrid" and self.settings.evidence_rerank and not self.reranker
            want = max(k, self.settings.rerank_top if self.reranker else EVIDENCE_TOP if evidence else k)
            ranked, best, agreed = self._rank(reader, parsed, mode, want, allowed, vocabulary, vector)
            noted: list[tuple[int, float]] = []
            nearest = best  # the closest piece shown: a document's, or a note's when notes are shown
            if lanes:
                only_notes = reader.allowed(replace(base, notes=True))
                if only_notes is None or len(only_notes.chunk_ids):
                    noted, best_note = self._notes(reader, query, parsed, mode, base, only_notes, vector, scopes)
                    if best is not None and best_note is not None and best_note < best + self.settings.note_gate:
                        noted = []  # the notes are much further from the question than the documents
                    elif noted and best_note is not None:
                        nearest = best_note if nearest is None else max(nearest, best_note)
            passages = reader.passages([cid for cid, _ in ranked + noted])
            # the question as the answer marking reads it: with its synonyms' official words and
            # the index's compound parts and verb forms
            question = Question.read(query, vocabulary.analyzer, vocabulary.rarity, parsed.expansions,
                                     parsed.corrections)
        ranked = [(cid, score) for cid, score in ranked if cid in passages]
        marks: dict[int, Marked | None] = {}
        if self.reranker and ranked:
            ranked = self.reranker.rerank(query, ranked, {cid: passages[cid].text for cid, _ in ranked})
        elif evidence and ranked:
            marks = {cid: mark(question, passages[cid].text) for cid, _ in ranked[:EVIDENCE_TOP]}
            ranked = reorder(ranked, marks)
        results = [self._result(rank, cid, score, passages[cid], question, marks) for rank, (cid, score) in
                   enumerate(ranked[:k], 1)]
        note_results = [self._result(rank, cid, score, passages[cid], question)[0] for rank, (cid, score) in
                        enumerate([(c, sc) for c, sc in noted if c in passages], 1)]
        answer = answer_box([r for r, _ in results], results[0][1] if results else None, agreed, self.settings)
        results = [r for r, _ in results]
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query=query, took_ms=round(took, 1), results=results, corrections=parsed.corrections,
                              notes=note_results, answer=answer,
                              similarity=None if nearest is None else round(float(nearest), 4))

    def _notes(self, reader: Reader, query: str, parsed: ParsedQuery, mode: Mode, base: Filter,
               only_notes: Allowed | None, vector: np.ndarray | None, scopes: frozenset[str] | None = None
               ) -> tuple[list[tuple[int, float]], float | None]:
        """The notes list: the question read with the words of documents and notes (an insider
        word like "Wohnungsgeberbestätigung" is known, not corrected), ranked among the notes."""
        everything = reader.allowed(base)
        words = Vocabulary(reader.lexicon, None if everything is None else everything.chunk_ids)
        own = self.parser.parse(query, words, scopes)
        if own.dense_text != parsed.dense_text and vector is not None:
            vector = self.embedder.embed_query(own.dense_text).astype(np.float32)
        statistics = Vocabulary(reader.lexicon, None if only_notes is None else only_notes.chunk_ids)
        n = self.settings.note_results
        ranked, best, _ = self._rank(reader, own, mode, 4 * n, only_notes, statistics, vector)
        asked = asked_sections(query)
        if asked and self.settings.note_section_boost:
            # the section of the asked-for kind first ("Welche Unterlagen …" → "… > Unterlagen")
            sections = {cid: p.section.rsplit(" > ", 1)[-1] for cid, p in reader.passages([c for c, _ in ranked]).items()}
            ranked = sorted(((cid, score + (self.settings.note_section_boost if sections.get(cid) in asked else 0.0))
                             for cid, score in ranked), key=lambda x: -x[1])
        return ranked[:n], best

    def _result(self, rank: int, cid: int, score: float, passage: Passage, question: Question,
                marks: dict[int, Marked | None] | None = None) -> tuple[SearchResult, Marked | None]:
        marked = marks[cid] if marks and cid in marks else mark(question, passage.text)
        return SearchResult(rank=rank, passage_id=cid, score=round(float(score), 4), text=passage.text,
                            highlight=marked.text if marked else None, section=passage.section,
                            page=passage.page, document=self._document_ref(passage)), marked
