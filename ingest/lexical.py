"""Step 5b: the lexical index beside FAISS — BM25 (bm25s) over German-analysed text.

Built from all current chunks at each index generation, so it always agrees
with FAISS and SQLite. The compound splitter learns from the same texts and is
saved with the index, so queries are split exactly like the documents.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import bm25s
import numpy as np

from ingest.analyze import _FOLDED_STOPWORDS, Analyzer, word_counts
from ingest.compounds import CompoundSplitter

# Lucene's defaults; k1 a little lower than bm25s' 1.5 suits passages of a few hundred words.
K1 = 1.2
B = 0.75


@dataclass
class LexicalHit:
    chunk_id: int
    score: float


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25, chunk_ids: np.ndarray, vocabulary: dict[str, int]):
        self.retriever = retriever
        self.chunk_ids = chunk_ids
        self.vocabulary = vocabulary
        self.analyzer = Analyzer(CompoundSplitter(vocabulary, _FOLDED_STOPWORDS))
        scores = retriever.scores
        self._data, self._indices, self._indptr = scores["data"], scores["indices"], scores["indptr"]
        self.num_docs = int(scores["num_docs"])
        # document frequency per term: how many chunks contain it (for typo correction by popularity)
        self.term_df = np.diff(self._indptr)
        self._positions: dict[int, int] | None = None
        self._term_list: list[str] | None = None

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str]]) -> "LexicalIndex":
        rows = list(rows)
        texts = [t for _, t in rows]
        vocabulary = {w: n for w, n in word_counts(texts).items() if n >= 2}
        analyzer = Analyzer(CompoundSplitter(vocabulary, _FOLDED_STOPWORDS))
        corpus_terms = [analyzer.terms(t) or ["\u2205"] for t in texts]
        retriever = bm25s.BM25(k1=K1, b=B)
        if corpus_terms:
            retriever.index(corpus_terms, show_progress=False)
        else:
            retriever.index([["\u2205"]], show_progress=False)
        return cls(retriever, np.array([i for i, _ in rows] or [-1], dtype=np.int64), vocabulary)

    @property
    def terms(self) -> dict[str, int]:
        return self.retriever.vocab_dict

    @property
    def term_list(self) -> list[str]:
        """The vocabulary as a list, built once (typo correction searches it per unknown word)."""
        if self._term_list is None:
            self._term_list = list(self.retriever.vocab_dict)
        return self._term_list

    def scores(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """BM25 of every chunk (by position), with per-term weights: 1.0 for the
        question's own words, less for expansions."""
        scores = np.zeros(self.num_docs, dtype=np.float32)
        if self.chunk_ids[0] < 0:
            return scores
        vocab = self.retriever.vocab_dict
        for term, weight in weighted_terms.items():
            tid = vocab.get(term)
            if tid is None:
                continue
            start, end = self._indptr[tid], self._indptr[tid + 1]
            np.add.at(scores, self._indices[start:end], weight * self._data[start:end])
        return scores

    def top(self, scores: np.ndarray, k: int) -> list[LexicalHit]:
        n = min(k, int(np.count_nonzero(scores)))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalHit(int(self.chunk_ids[i]), float(scores[i])) for i in top]

    def search(self, weighted_terms: dict[str, float], k: int) -> list[LexicalHit]:
        return self.top(self.scores(weighted_terms), k)

    def position(self, chunk_id: int) -> int | None:
        if self._positions is None:
            self._positions = {int(c): i for i, c in enumerate(self.chunk_ids)}
        return self._positions.get(int(chunk_id))

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.retriever.save(str(tmp))
        np.save(tmp / "chunk_ids.npy", self.chunk_ids)
        (tmp / "vocabulary.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        retriever = bm25s.BM25.load(str(folder))
        chunk_ids = np.load(folder / "chunk_ids.npy")
        vocabulary = json.loads((folder / "vocabulary.json").read_text())
        return cls(retriever, chunk_ids, Counter(vocabulary))
