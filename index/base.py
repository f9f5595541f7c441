"""The seam between the index and everything else: records, and what a backend offers.

A backend (`index/local.py`: SQLite + FAISS in one folder; `index/postgres.py`:
PostgreSQL with pgvector) hands out two kinds of object:

- a **reader** (`Backend.snapshot()`), opened per request: one consistent state of
  the index, searched with filters applied to the candidate sets themselves;
- a **writer session** (`Backend.session()`): its own connection, a writer lock as a
  context manager, and `apply()` — upserts and removals of documents with their
  passages, pieces and vectors, version records, all in one transaction.

Results are the small records below, never rows of a driver. Both backends keep the
lexical index (index/lexical.py) in the process: the same BM25 on both (measured: the
same dev-set figures, tests/test_backend_contract.py compares scores).
"""

from __future__ import annotations

import threading

import hashlib
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Protocol

import numpy as np

from index.lexical import LexicalIndex


class IndexFormatError(RuntimeError):
    pass


class BackendUnavailable(RuntimeError):
    """The database cannot be reached or used (German message for the CLI and logs)."""


class ModelMismatch(RuntimeError):
    """The index holds vectors of another model or numerics; new ones must not join them."""


def model_mismatch(indexed: str, model: str) -> ModelMismatch:
    return ModelMismatch(
        f"Der Index wurde mit dem Modell „{indexed}“ eingebettet, eingestellt ist „{model}“. "
        "Vektoren verschiedener Modelle oder Genauigkeiten werden nicht gemischt: "
        "AMTSWISSEN_EMBED_PRECISION passend setzen oder einen neuen Index aufbauen.")


# Root of the documents that knowledge capture writes: the released note of a task
# (knowledge/service.py), one "<task id>.md" each.
NOTE_ROOT = "aufgabe:"


def document_id(root: str, source: str) -> str:
    """Stable across versions, so links and vector ids of other documents survive a replace."""
    return hashlib.sha256(f"{root}\0{source}".encode()).hexdigest()[:16]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def stored_name(sha256: str, suffix: str) -> str:
    """Where the content-addressed copy of an original lives (a path in the index folder,
    a key in PostgreSQL)."""
    return (Path("files") / sha256[:2] / f"{sha256}{suffix.lower()}").as_posix()


# --- what is written ---------------------------------------------------------------
@dataclass
class PieceRecord:
    embed_hash: str
    vector: np.ndarray


@dataclass
class ChunkRecord:
    text: str
    section: str
    page: int | None
    pieces: list[PieceRecord]


DOCUMENT_COLUMNS = ("id", "root", "source", "collection", "title", "kind", "sha256", "size", "pages", "stored_file",
                    "ingested_at", "problems", "abbr", "valid_from", "valid_until", "owner", "reviewed_at", "keywords")


# --- what is read ------------------------------------------------------------------
@dataclass
class Document:
    id: str
    root: str
    source: str
    collection: str
    title: str
    kind: str
    sha256: str
    size: int
    pages: int | None
    stored_file: str
    ingested_at: str
    problems: str = ""
    abbr: str = ""
    valid_from: str | None = None
    valid_until: str | None = None
    owner: str | None = None
    reviewed_at: str | None = None
    keywords: str = "[]"
    chunks: int = 0  # passages (in lists and details)
    version: int | None = None  # current version (in lists and details)

    @classmethod
    def of(cls, row) -> "Document":
        """From a driver row (mapping) with the document columns and optionally chunks, version."""
        keys = row.keys()
        values = {c: row[c] for c in DOCUMENT_COLUMNS}
        values["chunks"] = row["chunks"] if "chunks" in keys else 0
        values["version"] = row["version"] if "version" in keys else None
        return cls(**values)

    @property
    def keyword_list(self) -> list[str]:
        return json.loads(self.keywords or "[]")


@dataclass
class DocumentRecord(Document):
    """A document as it is written: its original file is copied into the index."""
    original: Path | None = None  # file to copy to `stored_file` when written (not a column)


@dataclass(frozen=True)
class Passage:
    id: int
    text: str
    section: str
    page: int | None
    document: Document


@dataclass(frozen=True)
class Version:
    id: int
    doc_id: str
    version: int
    event: str  # added, updated, removed
    sha256: str | None
    size: int | None
    stored_file: str | None
    at: str
    by: str


@dataclass(frozen=True)
class Section:
    """A passage's heading with its document's short name and title (citation matching)."""
    chunk_id: int
    section: str
    abbr: str
    title: str


@dataclass(frozen=True)
class Filter:
    """What a search may return. `today` decides which documents are past their gueltig_bis."""
    collection: str | None = None
    kind: str | None = None
    include_expired: bool = False
    today: str = field(default_factory=lambda: date.today().isoformat())
    # the collections the caller may read (access/): None = no restriction (CLI, evaluation)
    readable: frozenset[str] | None = None
    # released task notes (root NOTE_ROOT): True = only notes, False = none, None = both
    notes: bool | None = None


@dataclass
class Allowed:
    """The candidates a filtered search may return: passage ids (sorted) and their piece ids."""
    chunk_ids: np.ndarray
    piece_ids: np.ndarray
    filter: Filter | None = None


def filter_sql(flt: Filter, mark: str) -> tuple[list[str], list]:
    """The WHERE clauses (on documents `d`) and arguments of a filter; `mark`: "?" or "%s"."""
    where, args = [], []
    if flt.readable is not None:
        if not flt.readable:
            where.append("1 = 0")
        else:
            where.append(f"d.collection IN ({', '.join([mark] * len(flt.readable))})")
            args.extend(sorted(flt.readable))
    if flt.collection is not None:
        where.append(f"d.collection = {mark}")
        args.append(flt.collection)
    if flt.kind is not None:
        where.append(f"d.kind = {mark}")
        args.append(flt.kind)
    if flt.notes is not None:
        where.append(f"{'' if flt.notes else 'NOT '}(substr(d.root, 1, {len(NOTE_ROOT)}) = {mark})")
        args.append(NOTE_ROOT)
    if not flt.include_expired:
        where.append(f"(d.valid_until IS NULL OR d.valid_until = '' OR d.valid_until >= {mark})")
        args.append(flt.today)
    return where, args


class AllowedCache:
    """The allowed sets of a few recent (committed state, filter) pairs. The same handful of
    filters — one per kind of caller — comes with every question, and a committed state
    never changes: computing the set anew cost a restricted search 17 ms of its 66 ms
    (3 262 passages, bench/load.py), now a dictionary lookup."""

    SIZE = 32  # at 100 000 pieces an entry is under 1 MB

    def __init__(self):
        self._entries: dict[tuple, "Allowed | None"] = {}
        self._lock = threading.Lock()

    def get(self, state: object, flt: Filter, compute) -> "Allowed | None":
        key = (state, flt.collection, flt.kind, flt.include_expired, flt.today, flt.readable, flt.notes)
        try:
            return self._entries[key]
        except KeyError:
            pass
        value = compute(flt)
        with self._lock:
            if len(self._entries) >= self.SIZE:
                self._entries.clear()
            self._entries[key] = value
        return value


def review_overdue(reviewed_at: str | None, after_days: int) -> bool:
    return bool(reviewed_at) and date.fromisoformat(reviewed_at) < date.today() - timedelta(days=after_days)


# --- the interface -------------------------------------------------------------------
class Reader(Protocol):
    """One consistent state of the index, for one request."""

    lexicon: LexicalIndex  # vocabulary and analyzer for query understanding

    def counts(self, readable: frozenset[str] | None = None) -> tuple[int, int]: ...
    def collections(self) -> list[str]: ...
    def document(self, doc_id: str) -> Document | None: ...
    def list_documents(self, doc_id: str | None = None) -> list[Document]: ...
    def versions(self, doc_id: str) -> list[Version]: ...
    def passages(self, ids: Iterable[int]) -> dict[int, Passage]: ...
    def passages_of(self, doc_id: str) -> list[Passage]: ...
    def sections_like(self, marker: str, number: str) -> list[Section]: ...
    def abbreviations(self) -> dict[str, str]: ...
    def runs(self, limit: int = 50) -> list[dict]: ...
    def evaluations(self, limit: int = 30) -> list[dict]: ...
    def original(self, stored_file: str) -> Path | bytes | None: ...
    def allowed(self, flt: Filter) -> Allowed | None: ...
    def dense_top(self, vector: np.ndarray, n: int, allowed: Allowed | None) -> dict[int, float]: ...
    def dense_scores(self, vector: np.ndarray, chunk_ids: Iterable[int]) -> dict[int, float]: ...


class Session(Protocol):
    """A writer: its own connection. `lock()` serialises writers across processes."""

    def lock(self) -> AbstractContextManager[None]: ...
    def meta(self, key: str, default: str | None = None) -> str | None: ...
    def check_model(self, model: str) -> None: ...
    def document(self, doc_id: str) -> Document | None: ...
    def documents_under(self, root: str) -> dict[str, Document]: ...
    def versions(self, doc_id: str) -> list[Version]: ...
    def cached_vectors(self, hashes: list[str], model: str) -> dict[str, np.ndarray]: ...
    def cache_vectors(self, items: dict[str, np.ndarray], model: str) -> None: ...
    def apply(self, upserts: list[tuple[DocumentRecord, list[ChunkRecord]]], removals: list[str], model: str,
              dim: int, lexical: bool = True, by: str = "system") -> dict[str, str]: ...
    def purge_history(self, doc_id: str) -> int: ...
    def runs_naming(self, doc_id: str) -> list[int]: ...
    def record_run(self, started_at: str, by: str, sources: list[str], report: dict) -> int: ...
    def record_evaluation(self, name: str, report: dict) -> int: ...
    def record_review(self, doc_id: str, day: str) -> bool: ...
    def verify(self) -> list[str]: ...
    def checkpoint(self) -> bool: ...  # after an erasure: nothing of the removed text left readable
    def close(self) -> None: ...

    last_lexical_seconds: float


class Backend(Protocol):
    """One index: the embedded folder or a PostgreSQL database."""

    work_folder: Path  # this server's own working files (upload staging)

    def snapshot(self) -> AbstractContextManager[Reader]: ...
    def session(self) -> AbstractContextManager[Session]: ...
    def recorded_model(self) -> str | None: ...
    def describe(self) -> str: ...
    def close(self) -> None: ...


# --- shared by both backends ------------------------------------------------------------
def record_changes(session, upserts: list[tuple[DocumentRecord, list]], removals: list[str], by: str,
                   keep_original) -> tuple[dict[str, str], set[str]]:
    """The version records of one write, inside the writer's transaction: each removal
    ("removed", its stored originals forgotten) and each upsert ("added" or "updated", its
    original kept by `keep_original(doc)`). Returns each upsert's event and the stored files
    the removals no longer need."""
    at = now_iso()
    events: dict[str, str] = {}
    erased: set[str] = set()
    for doc_id in removals:
        session._record_version(doc_id, "removed", None, at, by)
        erased |= session._forget_files(doc_id)
    for doc, _ in upserts:
        events[doc.id] = "updated" if session.document(doc.id) is not None else "added"
        session._record_version(doc.id, events[doc.id], doc, at, by)
        if doc.original is not None:
            keep_original(doc)
    return events, erased


def erased_runs_report(report: dict, sources: list, doc_id: str) -> tuple[list, dict] | None:
    """A run record with the removed document's name replaced by "(gelöscht)": in the
    per-file outcomes (found by document id), in the failures and in the sources of
    upload runs. None if the run does not name the document."""
    gone = "(gelöscht)"
    names = {e.get("source") for e in report.get("files", []) if e.get("doc_id") == doc_id}
    if not names:
        return None
    for entry in report.get("files", []):
        if entry.get("doc_id") == doc_id:  # the id goes too: nothing links the entry to it any more
            entry["source"], entry["problems"], entry["doc_id"] = gone, "", None
    for failure in report.get("failed", []):
        if failure.get("source") in names:
            failure["source"], failure["reason"] = gone, ""
    # "upload:<collection><name>" or the file path given to the CLI; a folder keeps its path
    sources = [gone if any(str(s).endswith(n) for n in names) else s for s in sources]
    return sources, report


def names_document(report: dict, doc_id: str) -> bool:
    return any(e.get("doc_id") == doc_id for e in report.get("files", []))


def lexical_rows(rows: Iterable[tuple[int, str, str, str]]) -> list[tuple[int, str]]:
    """(chunk id, title, section, text) → (chunk id, text as the lexical index analyses it)."""
    from text.context import context_text

    return [(int(cid), context_text(title, section, text)) for cid, title, section, text in rows]

