"""Step 5b: the lexical index beside FAISS — BM25 over German-analysed text, in segments.

Lucene's design, small: a write analyses only the passages it brings and adds them as a
new immutable segment (postings: term → passages with term frequency); passages it
replaces or removes are marked deleted. BM25 statistics (number of passages, average
length, document frequencies) are computed over the live passages of all segments when
an index is opened, so scores equal those of one index built from scratch. Small
segments are merged, and a segment with many deleted passages is rewritten without
them — from the stored postings, without analysing text again. A removal (erasure)
rewrites the segments that held the removed passages at once, so no term of an erased
document stays on disk.

The compound splitter learns from the corpus vocabulary (folded word counts), which is
kept up to date with every change and saved per generation; passages are split with the
vocabulary of the moment they were written, queries with the current one.
"""

from __future__ import annotations

import math

import json
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from text.analyze import _FOLDED_STOPWORDS, Analyzer, word_counts
from text.compounds import CompoundSplitter

# Lucene's defaults; k1 a little lower than the usual 1.5 suits passages of a few hundred words.
K1 = 1.2
B = 0.75
EMPTY = "\u2205"  # the one term of a passage without words, so it still counts as a passage
MAX_SEGMENTS = 8  # more: the small ones are merged
EXPUNGE_SHARE = 0.25  # a segment with more deleted passages is rewritten without them
SEGMENTS = "segments"
ARRAYS = ("chunk_ids", "lengths", "indptr", "docs", "tfs")
MANIFEST = "manifest.json"


@dataclass
class LexicalHit:
    chunk_id: int
    score: float


@dataclass
class Segment:
    """Immutable postings of some passages: for term i, `docs[indptr[i]:indptr[i+1]]` are
    the positions (in `chunk_ids`) of the passages containing it, `tfs` its frequencies."""

    name: str
    chunk_ids: np.ndarray  # int64, one per passage
    lengths: np.ndarray  # float32: terms per passage
    terms: list[str]
    indptr: np.ndarray  # int64, len(terms) + 1
    docs: np.ndarray  # int32
    tfs: np.ndarray  # float32

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def from_postings(cls, chunk_ids: np.ndarray, lengths: np.ndarray, terms: list[str],
                      term_ids: np.ndarray, doc_pos: np.ndarray, tfs: np.ndarray) -> "Segment":
        """From (term, passage, tf) triples in any order."""
        order = np.lexsort((doc_pos, term_ids))
        term_ids, doc_pos, tfs = term_ids[order], doc_pos[order], tfs[order]
        used = np.unique(term_ids)  # drop terms without postings (after deletions)
        remap = np.full(len(terms), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        counts = np.bincount(remap[term_ids], minlength=len(used)) if len(term_ids) else np.zeros(0, np.int64)
        indptr = np.zeros(len(used) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(uuid.uuid4().hex[:12], np.asarray(chunk_ids, dtype=np.int64), np.asarray(lengths, np.float32),
                   [terms[i] for i in used], indptr, doc_pos.astype(np.int32), tfs.astype(np.float32))

    @classmethod
    def build(cls, rows: list[tuple[int, str]], analyzer: Analyzer) -> "Segment":
        """Analyse each passage once; (chunk id, text) rows."""
        return cls.from_counts([(chunk_id, *passage_terms(text, analyzer)) for chunk_id, text in rows])

    @classmethod
    def from_counts(cls, rows: list[tuple[int, dict[str, int], float]]) -> "Segment":
        """From passages analysed before: (chunk id, term → frequency, length) rows."""
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        doc_pos: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(len(rows), dtype=np.float32)
        for pos, (_, counts, length) in enumerate(rows):
            lengths[pos] = length
            for term, tf in counts.items():
                term_ids.append(vocab.setdefault(term, len(vocab)))
                doc_pos.append(pos)
                tfs.append(tf)
        return cls.from_postings(np.array([c for c, _, _ in rows], dtype=np.int64), lengths, list(vocab),
                                 np.array(term_ids, dtype=np.int64), np.array(doc_pos, dtype=np.int64),
                                 np.array(tfs, dtype=np.float32))

    def without(self, deleted: set[int]) -> "Segment":
        """This segment with the passages of `deleted` chunk ids dropped."""
        return merge([self], deleted)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", getattr(self, name))
        (tmp / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "Segment":
        """Postings memory-mapped: a server opens a large index without reading it; the
        pages of a term's postings come in when a query asks for the term."""
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        terms = json.loads((folder / "terms.json").read_text())
        return cls(folder.name, terms=terms, **arrays)


def merge(segments: list[Segment], deleted: set[int]) -> Segment:
    """One segment of the live passages of `segments`, from their postings (no analysis)."""
    vocab: dict[str, int] = {}
    chunk_ids, lengths, term_ids, doc_pos, tfs = [], [], [], [], []
    offset = 0
    for seg in segments:
        keep = ~np.isin(seg.chunk_ids, np.fromiter(deleted, dtype=np.int64, count=len(deleted)))
        new_pos = np.cumsum(keep) - 1 + offset  # position of each kept passage in the merged segment
        local = np.array([vocab.setdefault(t, len(vocab)) for t in seg.terms], dtype=np.int64)
        per_posting_term = np.repeat(local, np.diff(seg.indptr))
        live = keep[seg.docs]
        term_ids.append(per_posting_term[live])
        doc_pos.append(new_pos[seg.docs[live]])
        tfs.append(seg.tfs[live])
        chunk_ids.append(seg.chunk_ids[keep])
        lengths.append(seg.lengths[keep])
        offset += int(keep.sum())
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    return Segment.from_postings(cat(chunk_ids, np.int64), cat(lengths, np.float32), list(vocab),
                                 cat(term_ids, np.int64), cat(doc_pos, np.int64), cat(tfs, np.float32))


def splitter_vocabulary(counts: Counter[str] | dict[str, int]) -> dict[str, int]:
    """The words a compound splitter may use as parts: those seen at least twice."""
    return {w: n for w, n in counts.items() if n >= 2}


def analyzer_for(words: Counter[str] | dict[str, int]) -> Analyzer:
    """The German analysis with compounds split by the vocabulary of these word counts."""
    return Analyzer(CompoundSplitter(splitter_vocabulary(words), _FOLDED_STOPWORDS))


def passage_terms(text: str, analyzer: Analyzer) -> tuple[dict[str, int], float]:
    """A passage as the index holds it: term frequencies and length (in terms)."""
    terms = analyzer.terms(text) or [EMPTY]
    return dict(Counter(terms)), float(len(terms))


def rarity(df: int, n: int) -> float:
    """How rare a term in `df` of `n` passages is, 0.1 (in every one) … 2 (in one): its inverse
    document frequency over that of a term in a single passage, times two; a word in every
    passage still counts a little (a one-document index has many). A word in none (a typo, a
    word the documents never use) gets 1: it matches nothing anyway."""
    if not n or not df:
        return 1.0
    return max(0.1, 2.0 * math.log((n + 1) / (df + 1)) / math.log(n + 2))


class LexicalIndex:
    """The searchable view of one generation: segments, deleted passages, word counts."""

    def __init__(self, segments: list[Segment], deleted: Iterable[int], words: Counter[str]):
        self.segments = segments
        self.deleted = set(int(c) for c in deleted)
        self.words = words
        self.vocabulary = splitter_vocabulary(words)
        self.analyzer = analyzer_for(words)
        self.offsets = np.cumsum([0] + [s.size for s in segments])
        self.chunk_ids = np.concatenate([s.chunk_ids for s in segments]) if segments else np.zeros(0, np.int64)
        self.num_docs = len(self.chunk_ids)
        deleted_arr = np.fromiter(self.deleted, dtype=np.int64, count=len(self.deleted))
        self.live = ~np.isin(self.chunk_ids, deleted_arr)
        self._seg_live = [self.live[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]
        lengths = np.concatenate([s.lengths for s in segments]) if segments else np.zeros(0, np.float32)
        self.lengths = lengths
        n_live = self.n_live = int(self.live.sum())
        self.avg_length = float(lengths[self.live].mean()) if n_live else 1.0
        # document frequency over live passages, per term of the whole index
        self.terms: dict[str, int] = {}
        self._local: list[dict[str, int]] = []
        df: list[int] = []
        for seg, live in zip(segments, self._seg_live):
            counts = np.diff(seg.indptr)  # without deletions: the posting list lengths, no scan
            if len(seg.docs) and not live.all():
                counts = np.add.reduceat(live[seg.docs].astype(np.int64), seg.indptr[:-1])
            self._local.append({t: i for i, t in enumerate(seg.terms)})
            for term, n in zip(seg.terms, counts):
                gid = self.terms.setdefault(term, len(df))
                if gid == len(df):
                    df.append(0)
                df[gid] += int(n)
        self.term_df = np.array(df, dtype=np.int64)
        # typo correction and "known word" checks see only terms of live passages
        self.terms = {t: i for t, i in self.terms.items() if self.term_df[i] > 0}
        self.idf = np.log(1 + (n_live - self.term_df + 0.5) / (self.term_df + 0.5)).astype(np.float32)
        self._positions: dict[int, int] | None = None
        self._term_list: list[str] | None = None

    # --- building and changing --------------------------------------------------------
    @classmethod
    def build(cls, rows: Iterable[tuple[int, str]]) -> "LexicalIndex":
        """From scratch: one segment of all passages."""
        rows = list(rows)
        words = word_counts(t for _, t in rows)
        return cls([Segment.build(rows, analyzer_for(words))] if rows else [], [], words)

    def updated(self, added: list[tuple[int, str]] | Segment, gone: list[tuple[int, str]],
                gone_ids: Iterable[int] = (), expunge: bool = False, gone_words: Counter[str] | None = None,
                words: Counter[str] | None = None) -> "LexicalIndex":
        """The next generation: `added` passages as a new segment (texts to analyse, or a
        segment analysed before), `gone` ones (with their text, for the word counts) and
        `gone_ids` deleted, with `gone_words` the word counts of those whose text is no
        longer at hand — or `words`, the word counts of the new state where the caller keeps
        them (PostgreSQL). `expunge` rewrites every segment that held a deleted passage (erasure)."""
        if words is None:
            if isinstance(added, Segment):
                raise ValueError("a segment analysed before comes with the new word counts")
            words = Counter(self.words)
            words.subtract(word_counts(t for _, t in gone))
            words.subtract(gone_words or Counter())
            words.update(word_counts(t for _, t in added))  # (a segment comes with `words`)
        words = Counter({w: n for w, n in words.items() if n > 0})
        deleted = self.deleted | {c for c, _ in gone} | set(gone_ids)
        segments = list(self.segments)
        if isinstance(added, Segment):
            if added.size:
                segments.append(added)
        elif added:
            segments.append(Segment.build(added, analyzer_for(words)))
        segments, deleted = _maintain(segments, deleted, expunge)
        return LexicalIndex(segments, deleted, words)

    # --- searching ----------------------------------------------------------------------
    @property
    def term_list(self) -> list[str]:
        """The vocabulary as a list, built once (typo correction searches it per unknown word)."""
        if self._term_list is None:
            self._term_list = list(self.terms)
        return self._term_list

    def scores(self, weighted_terms: dict[str, float], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every passage (by position), with per-term weights: 1.0 for the
        question's own words, less for expansions. With `mask` (the live passages a caller
        may read) the statistics — passage count, mean length, document frequency — are
        those of the masked passages only, and the others score 0: a score must not tell
        how many hidden passages hold a word."""
        scores = np.zeros(self.num_docs, dtype=np.float32)
        if mask is not None:
            n_visible = int(mask.sum())
            if n_visible == 0:
                return scores
            avg_length = float(self.lengths[mask].mean())
        else:
            avg_length = self.avg_length
        for term, weight in weighted_terms.items():
            gid = self.terms.get(term)
            if gid is None:
                continue
            if mask is None:
                idf = weight * self.idf[gid]
            else:
                df = self.df_within(term, mask)
                if df == 0:
                    continue
                idf = weight * np.float32(np.log(1 + (n_visible - df + 0.5) / (df + 0.5)))
            for seg, local, offset in zip(self.segments, self._local, self.offsets):
                tid = local.get(term)
                if tid is None:
                    continue
                a, b = seg.indptr[tid], seg.indptr[tid + 1]
                docs, tf = seg.docs[a:b], seg.tfs[a:b]
                norm = K1 * ((1 - B) + B * seg.lengths[docs] / avg_length)
                np.add.at(scores, offset + docs, idf * tf / (tf + norm))
        scores[~(self.live if mask is None else mask)] = 0.0
        return scores

    def rarity(self, term: str) -> float:
        gid = self.terms.get(term)
        return rarity(int(self.term_df[gid]) if gid is not None else 0, self.n_live)

    def df_within(self, term: str, mask: np.ndarray) -> int:
        """Passages among `mask` (a boolean per position) that contain `term`."""
        n = 0
        for seg, local, offset in zip(self.segments, self._local, self.offsets):
            tid = local.get(term)
            if tid is not None:
                n += int(mask[offset + seg.docs[seg.indptr[tid]:seg.indptr[tid + 1]]].sum())
        return n

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
            self._positions = {int(c): i for i, c in enumerate(self.chunk_ids) if self.live[i]}
        return self._positions.get(int(chunk_id))

    def live_chunk_ids(self) -> set[int]:
        return set(self.chunk_ids[self.live].tolist())

    # --- files --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """The generation's manifest in `folder`; segments (immutable, shared between
        generations) beside it in `segments/`, written only if new."""
        segments_dir = folder.parent / SEGMENTS
        segments_dir.mkdir(exist_ok=True)
        for seg in self.segments:
            if not (segments_dir / seg.name).exists():
                seg.save(segments_dir / seg.name)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "words.json").write_text(json.dumps(self.words, ensure_ascii=False))
        (tmp / MANIFEST).write_text(json.dumps({"segments": [s.name for s in self.segments],
                                                "deleted": sorted(self.deleted)}))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        manifest = json.loads((folder / MANIFEST).read_text())
        segments = [Segment.load(folder.parent / SEGMENTS / name) for name in manifest["segments"]]
        words = Counter(json.loads((folder / "words.json").read_text()))
        return cls(segments, manifest["deleted"], words)


def referenced_segments(manifests: Iterable[Path]) -> set[str]:
    names: set[str] = set()
    for folder in manifests:
        try:
            names |= set(json.loads((folder / MANIFEST).read_text())["segments"])
        except (OSError, ValueError, KeyError):
            continue
    return names


def _maintain(segments: list[Segment], deleted: set[int], expunge: bool) -> tuple[list[Segment], set[int]]:
    """Merge policy: rewrite segments whose deleted share is high (or any deleted passage,
    when expunging), then merge the small segments while there are too many."""
    out: list[Segment] = []
    for seg in segments:
        gone = np.isin(seg.chunk_ids, np.fromiter(deleted, dtype=np.int64, count=len(deleted)))
        if gone.any() and (expunge or gone.mean() > EXPUNGE_SHARE):
            if not gone.all():
                out.append(seg.without(deleted))
        else:
            out.append(seg)
    if len(out) > MAX_SEGMENTS:
        out.sort(key=lambda s: s.size, reverse=True)
        keep, small = out[: MAX_SEGMENTS // 2], out[MAX_SEGMENTS // 2:]
        out = keep + [merge(small, deleted)]
    present = set(np.concatenate([s.chunk_ids for s in out]).tolist()) if out else set()
    return out, {c for c in deleted if c in present}


class Vocabulary:
    """The words a caller's question is understood with: those of the passages the caller
    may read. Typo correction and the "known word" checks ask this, never the whole
    index, so a word that occurs only in a restricted document is never suggested to
    someone who cannot read it, and does not change how their question is read."""

    def __init__(self, lexicon: LexicalIndex, allowed_chunk_ids: np.ndarray | None = None):
        self.lexicon = lexicon
        self.analyzer = lexicon.analyzer
        # the live passages the caller may read (None: all)
        self.mask = None if allowed_chunk_ids is None \
            else np.isin(lexicon.chunk_ids, allowed_chunk_ids) & lexicon.live
        self._df: dict[str, int] = {}
        self._readable: int | None = None

    def df(self, term: str) -> int:
        gid = self.lexicon.terms.get(term)
        if gid is None:
            return 0
        if self.mask is None:
            return int(self.lexicon.term_df[gid])
        if term not in self._df:
            self._df[term] = self.lexicon.df_within(term, self.mask)
        return self._df[term]

    def __contains__(self, term: str) -> bool:
        return self.df(term) > 0

    def rarity(self, term: str) -> float:
        """rarity() among the passages the caller may read: what a hidden document holds does
        not change which sentence is marked for them."""
        if self._readable is None:
            self._readable = self.lexicon.n_live if self.mask is None else int(self.mask.sum())
        return rarity(self.df(term), self._readable)

    @property
    def term_list(self) -> list[str]:
        return self.lexicon.term_list
