"""The embedded backend: one index folder — SQLite for documents, passages, versions,
runs and cached embeddings, FAISS for the vectors of the current pieces, the lexical
index in segments beside them. No server.

Crash safety: SQLite is the source of truth and changes in one transaction.
The FAISS and lexical indexes are written first under a new generation number
(`vectors-<generation>.faiss`, `lexical-<generation>/`); the SQLite commit that
switches `generation` makes them current. A crash before the commit leaves the
previous generation in force; orphans are overwritten next time. If a file of
the current generation is missing or unreadable, it is rebuilt from SQLite.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from text.analyze import word_counts
from index.base import (Allowed, AllowedCache, filter_sql, record_changes, ChunkRecord, Document, DocumentRecord, Filter, IndexFormatError, Passage,
                        Section, Version, erased_runs_report, lexical_rows, model_mismatch,
                        names_document, now_iso)
from index.vectors import EXACT_LIMIT, VectorIndex
from index.lexical import SEGMENTS, LexicalIndex, referenced_segments

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    root TEXT NOT NULL,            -- folder (or file) the document was ingested from
    source TEXT NOT NULL,          -- path relative to root, POSIX separators
    collection TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    pages INTEGER,
    stored_file TEXT NOT NULL,     -- copy of the original inside the index folder
    ingested_at TEXT NOT NULL,
    problems TEXT NOT NULL DEFAULT '',
    abbr TEXT NOT NULL DEFAULT '',  -- short name for citations ("PAuswG")
    valid_from TEXT,                -- knowledge officers' metadata (ingest/metadata.py)
    valid_until TEXT,
    owner TEXT,
    reviewed_at TEXT,
    keywords TEXT NOT NULL DEFAULT '[]',
    UNIQUE (root, source)
);
-- filtered searches start from the matching documents (without it SQLite scans all pieces:
-- 63 ms for a small collection at 100k pieces, bench/backends.py)
CREATE INDEX IF NOT EXISTS documents_collection ON documents(collection, kind);
-- passages as the reader sees them (and the lexical index reads them)
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT NOT NULL,
    page INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
-- the smaller pieces of a passage that are embedded; their ids are the FAISS ids
CREATE TABLE IF NOT EXISTS pieces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    embed_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pieces_chunk ON pieces(chunk_id);
-- every change of a document: who, when, which content; only the current one is searchable
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event TEXT NOT NULL,           -- added, updated, removed
    sha256 TEXT,
    size INTEGER,
    stored_file TEXT,
    at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS versions_doc ON versions(doc_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    by TEXT NOT NULL,
    sources TEXT NOT NULL,         -- JSON list
    report TEXT NOT NULL           -- JSON: counts and per-file outcome
);
-- evaluation runs of reference questions (officer area), for the trend over time
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    name TEXT NOT NULL,
    report TEXT NOT NULL           -- JSON of search.evaluate.EvalReport
);
CREATE TABLE IF NOT EXISTS embeddings (
    hash TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (hash, model)
);
"""

DB_NAME = "amtswissen.sqlite"
PENDING_WORDS = "lexical_pending_words"  # meta: word counts of passages gone since the last lexical update
SCHEMA_VERSION = "3"


@contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """One writer at a time per index folder (CLI, API and other processes share it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "ingest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class IndexStore:
    """One index folder. Writers must be serialised (one ingest at a time)."""

    def __init__(self, folder: Path, create: bool = True, reader: bool = False):
        self.folder = Path(folder)
        self.exact_limit = EXACT_LIMIT  # vectors searched exactly; an IVF above (index/vectors.py)
        self.last_lexical_seconds = 0.0  # of the last apply (stage figures of the ingest report)
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
        elif not (self.folder / DB_NAME).exists():
            raise FileNotFoundError(f"Kein Index in {self.folder}")
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE for writes, BEGIN for a read snapshot)
        self.db = sqlite3.connect(self.folder / DB_NAME, timeout=30, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        if reader:
            return
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, so the text of a deleted document
        # leaves no trace in free pages (DSGVO Art. 17); cost measured in bench/erase.py.
        self.db.execute("PRAGMA secure_delete=ON")
        version = self._existing_schema_version()
        if version not in (None, SCHEMA_VERSION):
            self.db.close()
            raise IndexFormatError(
                f"Der Index in {self.folder} hat ein älteres Format ({version}); bitte den Ordner löschen "
                "und neu einlesen (`amtswissen ingest ...`)."
            )
        self.db.executescript(SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def _existing_schema_version(self) -> str | None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row:
            return row[0]
        return "1" if "documents" in tables else None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def snapshot(self) -> Iterator["IndexStore"]:
        """A consistent view for reading: documents, chunks and generation as of one moment,
        even while a writer commits (SQLite WAL snapshot isolation)."""
        self.db.execute("BEGIN")
        try:
            yield self
        finally:
            self.db.execute("ROLLBACK")

    # --- reading -----------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    @property
    def generation(self) -> int:
        return int(self.meta("generation", "0"))

    @contextmanager
    def lock(self) -> Iterator[None]:
        with writer_lock(self.folder):
            yield

    def documents_under(self, root: str) -> dict[str, Document]:
        rows = self.db.execute("SELECT * FROM documents WHERE root = ?", (root,)).fetchall()
        return {r["source"]: Document.of(r) for r in rows}

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return Document.of(row) if row else None

    def check_model(self, model: str) -> None:
        """Refuse vectors of another model or numerics than those already in the index."""
        indexed = self.meta("model")
        if indexed and indexed != model and self.db.execute("SELECT 1 FROM pieces LIMIT 1").fetchone():
            raise model_mismatch(indexed, model)

    def counts(self, readable: frozenset[str] | None = None) -> tuple[int, int]:
        """Documents and passages, of the readable collections only when given."""
        if readable is None:
            docs = self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            return docs, chunks
        where, args = filter_sql(Filter(readable=readable, include_expired=True), "?")
        docs = self.db.execute(f"SELECT COUNT(*) FROM documents d WHERE {' AND '.join(where)}", args).fetchone()[0]
        chunks = self.db.execute(f"SELECT COUNT(*) FROM chunks c JOIN documents d ON d.id = c.doc_id "
                                 f"WHERE {' AND '.join(where)}", args).fetchone()[0]
        return docs, chunks

    def allowed(self, flt: Filter) -> Allowed | None:
        """The passages and pieces a search with this filter may return, or None when the
        filter excludes nothing (then retrieval runs unrestricted)."""
        where, args = filter_sql(flt, "?")
        if not where:
            return None
        sql_where = " AND ".join(where)
        matching, total = self.db.execute(f"SELECT COUNT(*) FILTER (WHERE {sql_where}), COUNT(*) FROM documents d",
                                          args).fetchone()
        if matching == total:
            return None  # the filter excludes nothing: search unrestricted
        rows = self.db.execute(
            "SELECT c.id, p.id FROM chunks c JOIN documents d ON d.id = c.doc_id JOIN pieces p ON p.chunk_id = c.id "
            f"WHERE {sql_where}", args).fetchall()
        chunks = np.array(sorted({r[0] for r in rows}), dtype=np.int64)
        pieces = np.array([r[1] for r in rows], dtype=np.int64)
        return Allowed(chunks, pieces, flt)

    def chunks_of_pieces(self, piece_ids: list[int]) -> dict[int, int]:
        """piece id → passage (chunk) id."""
        if not piece_ids:
            return {}
        marks = ",".join("?" * len(piece_ids))
        rows = self.db.execute(f"SELECT id, chunk_id FROM pieces WHERE id IN ({marks})", [int(i) for i in piece_ids])
        return {r[0]: r[1] for r in rows}

    def pieces_of_chunks(self, chunk_ids: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        if not chunk_ids:
            return out
        marks = ",".join("?" * len(chunk_ids))
        for r in self.db.execute(f"SELECT id, chunk_id FROM pieces WHERE chunk_id IN ({marks})", [int(i) for i in chunk_ids]):
            out.setdefault(r[1], []).append(r[0])
        return out

    def passages(self, ids: Iterable[int]) -> dict[int, Passage]:
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"""SELECT c.id AS chunk_id, c.text, c.section, c.page, d.*
                FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})""", ids).fetchall()
        return {r["chunk_id"]: _passage(r) for r in rows}

    def passages_of(self, doc_id: str) -> list[Passage]:
        rows = self.db.execute("""SELECT c.id AS chunk_id, c.text, c.section, c.page, d.* FROM chunks c
                                  JOIN documents d ON d.id = c.doc_id WHERE c.doc_id = ? ORDER BY c.ord""",
                               (doc_id,)).fetchall()
        return [_passage(r) for r in rows]

    def collections(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT collection FROM documents ORDER BY 1")]

    def sections_like(self, marker: str, number: str) -> list[Section]:
        """Passages whose heading may cite `marker` `number` (the caller matches exactly)."""
        rows = self.db.execute("SELECT c.id, c.section, d.abbr, d.title FROM chunks c JOIN documents d "
                               "ON d.id = c.doc_id WHERE c.section LIKE ?", (f"%{marker}%{number}%",))
        return [Section(r[0], r[1], r[2] or "", r[3]) for r in rows]

    def abbreviations(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT id, abbr FROM documents WHERE abbr != ''")}

    def original(self, stored_file: str) -> Path | None:
        path = (self.folder / stored_file).resolve()
        return path if path.is_relative_to(self.folder.resolve()) and path.is_file() else None

    def cached_vectors(self, hashes: list[str], model: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT hash, vector FROM embeddings WHERE model = ? AND hash IN ({marks})", [model, *part]
            ):
                found[row["hash"]] = np.frombuffer(row["vector"], dtype=np.float32)
        return found

    def cache_vectors(self, items: dict[str, np.ndarray], model: str) -> None:
        """Committed at once: embedding work survives a crashed ingest."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR IGNORE INTO embeddings (hash, model, vector) VALUES (?, ?, ?)",
                [(h, model, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )

    # --- FAISS -------------------------------------------------------------------
    def lexical_path(self, generation: int) -> Path:
        return self.folder / f"lexical-{generation}"

    def _lexical_rows(self, chunk_ids: list[int] | None = None, doc_ids: list[str] | None = None
                      ) -> list[tuple[int, str]]:
        """(chunk id, text as analysed) of all passages, or of the given ones."""
        sql = "SELECT c.id, d.title, c.section, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id"
        keys: list = []
        if chunk_ids is not None:
            keys, sql = chunk_ids, sql + " WHERE c.id IN ({marks})"
        elif doc_ids is not None:
            keys, sql = doc_ids, sql + " WHERE c.doc_id IN ({marks})"
        out: list[tuple[int, str]] = []
        for i in range(0, max(len(keys), 1), 500):
            part = keys[i:i + 500]
            if (chunk_ids is not None or doc_ids is not None) and not part:
                break
            out += lexical_rows(self.db.execute(sql.format(marks=",".join("?" * len(part))) + " ORDER BY c.id", part))
        return out

    def _latest_lexical(self) -> LexicalIndex | None:
        """The newest saved lexical generation not newer than the current one (a long ingest
        writes vectors in batches and the lexical index only with its last batch)."""
        current = self.generation
        found = [(gen, path) for path, gen in self._lexical_generations() if gen <= current]
        for _, path in sorted(found, reverse=True):
            try:
                return LexicalIndex.load(path)
            except (OSError, ValueError, KeyError):
                continue
        return None

    def load_lexical(self, gone: list[tuple[int, str]] = (), expunge: bool = False) -> LexicalIndex:
        """The lexical index of the passages now in SQLite (this connection's view): the
        newest saved generation brought up to date — passages it lacks added as a segment,
        passages no longer present deleted — or, with none saved, built from scratch.
        `gone`: texts of passages this transaction removes, so word counts stay exact."""
        saved = self._latest_lexical()
        if saved is None:
            return LexicalIndex.build(self._lexical_rows())
        present = {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        indexed = saved.live_chunk_ids()
        missing, gone_ids = sorted(present - indexed), indexed - present
        if not missing and not gone_ids:
            return saved
        known = [(c, t) for c, t in gone if c in gone_ids]
        # words of passages that left in batches without a lexical update (kept in meta)
        pending = Counter(json.loads(self.meta(PENDING_WORDS) or "{}"))
        return saved.updated(self._lexical_rows(chunk_ids=missing) if missing else [], known,
                             gone_ids - {c for c, _ in known}, expunge=expunge, gone_words=pending)

    def faiss_path(self, generation: int) -> Path:
        return self.folder / f"vectors-{generation}.faiss"

    def load_faiss(self, mmap: bool = False) -> VectorIndex:
        """The vectors of the current generation (rebuilt from SQLite if the file is gone).
        `mmap` for readers only (see index/vectors.py)."""
        path = self.faiss_path(self.generation)
        if path.exists():
            try:
                return VectorIndex.load(path, mmap=mmap)
            except RuntimeError:
                pass
        return self._rebuild_faiss()

    def _rebuild_faiss(self) -> VectorIndex:
        dim = int(self.meta("dim", "0") or 0)
        model = self.meta("model", "")
        index = VectorIndex.empty(dim or 1)
        rows = self.db.execute(
            "SELECT p.id, e.vector FROM pieces p JOIN embeddings e ON e.hash = p.embed_hash AND e.model = ?", (model,)
        ).fetchall()
        if rows and dim:
            ids = np.array([r["id"] for r in rows], dtype=np.int64)
            vecs = np.stack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows])
            index.add(ids, vecs)
        return index.grown(self.exact_limit)

    # --- writing -----------------------------------------------------------------

    def store_file(self, path: Path, rel: str) -> bool:
        """Copy the original, so links keep working after the source moves (unique temporary
        name: two uploads of the same content may arrive at once). True if it was copied now."""
        target = self.folder / rel
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return True

    def apply(
        self,
        upserts: list[tuple[DocumentRecord, list[ChunkRecord]]],
        removals: list[str],
        model: str,
        dim: int,
        lexical: bool = True,
        by: str = "system",
    ) -> dict[str, str]:
        """Replace/insert/remove documents atomically (SQLite, FAISS and BM25 together).
        Call it under the writer lock. Returns each upserted document's event ("added"/"updated").

        `lexical=False` skips the BM25 rebuild for an intermediate batch of a long
        ingest; a reader then builds it from SQLite if it needs it before the final batch.

        A removal erases: the text (zeroed by secure_delete, WAL checkpointed), the cached
        vectors no other passage uses, the stored originals of all its versions, and every
        older FAISS/BM25 generation that still holds its pieces.
        """
        if not upserts and not removals and not lexical:
            return {}
        if upserts:
            self.check_model(model)
        index = self.load_faiss()
        if index.d != dim and index.ntotal == 0:
            index = VectorIndex.empty(dim)
        db = self.db
        copied: list[Path] = []  # originals this write brought in: gone again if it fails

        def keep_original(doc: DocumentRecord) -> None:
            if self.store_file(doc.original, doc.stored_file):
                copied.append(self.folder / doc.stored_file)

        generation = self.generation + 1
        try:
            db.execute("BEGIN IMMEDIATE")
            events, erased_files = record_changes(self, upserts, removals, by, keep_original)
            old_ids: list[int] = []
            removed_hashes: set[str] = set()  # texts of removed documents: their cached vectors may go
            for doc_id in removals + [d.id for d, _ in upserts]:
                for piece_id, embed_hash in db.execute(
                        "SELECT p.id, p.embed_hash FROM pieces p JOIN chunks c ON c.id = p.chunk_id WHERE c.doc_id = ?",
                        (doc_id,)):
                    old_ids.append(piece_id)
                    if doc_id in removals:
                        removed_hashes.add(embed_hash)
            # texts of the passages leaving, for the lexical index's word counts; a batch that
            # does not update the lexical index keeps their word counts for the one that does
            # (in this transaction, so a rollback forgets them too)
            leaving = self._lexical_rows(doc_ids=removals + [d.id for d, _ in upserts])
            if not lexical:
                pending_words = Counter(json.loads(self.meta(PENDING_WORDS) or "{}"))
                pending_words.update(word_counts(t for _, t in leaving))
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           (PENDING_WORDS, json.dumps(pending_words, ensure_ascii=False)))
            for doc_id in removals + [d.id for d, _ in upserts]:
                db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))  # cascades to chunks and pieces
            new_ids, new_vecs = [], []
            for doc, chunks in upserts:
                db.execute(
                    """INSERT INTO documents (id, root, source, collection, title, kind, sha256, size, pages,
                       stored_file, ingested_at, problems, abbr, valid_from, valid_until, owner, reviewed_at, keywords)
                       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (doc.id, doc.root, doc.source, doc.collection, doc.title, doc.kind, doc.sha256, doc.size,
                     doc.pages, doc.stored_file, doc.ingested_at, doc.problems, doc.abbr, doc.valid_from,
                     doc.valid_until, doc.owner, doc.reviewed_at, doc.keywords),
                )
                for ord_, c in enumerate(chunks):
                    chunk_id = db.execute(
                        "INSERT INTO chunks (doc_id, ord, text, section, page) VALUES (?,?,?,?,?)",
                        (doc.id, ord_, c.text, c.section, c.page),
                    ).lastrowid
                    for piece in c.pieces:
                        cur = db.execute("INSERT INTO pieces (chunk_id, embed_hash) VALUES (?, ?)",
                                         (chunk_id, piece.embed_hash))
                        db.execute(
                            "INSERT OR IGNORE INTO embeddings (hash, model, vector) VALUES (?,?,?)",
                            (piece.embed_hash, model, np.asarray(piece.vector, dtype=np.float32).tobytes()),
                        )
                        new_ids.append(cur.lastrowid)
                        new_vecs.append(piece.vector)
            self._drop_unused_vectors(removed_hashes)
            if old_ids:
                index.remove(old_ids)
            if new_ids:
                index.add(np.array(new_ids, dtype=np.int64), np.stack(new_vecs))
            index = index.grown(self.exact_limit)
            index.save(self.faiss_path(generation))
            # Brought up to date from the last saved generation (this connection sees its own
            # uncommitted rows): new passages become a segment; a removal rewrites the
            # segments that held the removed passages (index/lexical.py).
            began = time.perf_counter()
            if lexical:
                self.load_lexical(leaving, expunge=bool(removals)).save(self.lexical_path(generation))
                db.execute("DELETE FROM meta WHERE key = ?", (PENDING_WORDS,))
            else:  # one left by a write that crashed before its commit must not become current
                shutil.rmtree(self.lexical_path(generation), ignore_errors=True)
            self.last_lexical_seconds = time.perf_counter() - began
            meta = [("generation", str(generation))]
            if new_ids or not self.meta("model"):  # a removal says nothing about the model
                meta += [("model", model), ("dim", str(dim))]
            for key, value in meta:
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            for path in copied:
                path.unlink(missing_ok=True)
            # files of the generation that did not happen: its number is handed out again
            self.faiss_path(generation).unlink(missing_ok=True)
            shutil.rmtree(self.lexical_path(generation), ignore_errors=True)
            raise
        if removals:
            self._erase(erased_files, keep_generation=generation)
        else:
            self._drop_old_generations(generation)
        return events

    # --- erasure ---------------------------------------------------------------------
    def _drop_unused_vectors(self, hashes: set[str]) -> None:
        """Cached vectors of erased passages, unless another current passage has the same text."""
        for h in hashes:
            if self.db.execute("SELECT 1 FROM pieces WHERE embed_hash = ? LIMIT 1", (h,)).fetchone() is None:
                self.db.execute("DELETE FROM embeddings WHERE hash = ?", (h,))

    def _forget_files(self, doc_id: str) -> set[str]:
        """Stored originals of all versions of a document; its version records keep hash and size only."""
        files = {r[0] for r in self.db.execute(
            "SELECT stored_file FROM versions WHERE doc_id = ? AND stored_file IS NOT NULL", (doc_id,))}
        row = self.document(doc_id)
        if row is not None:
            files.add(row.stored_file)
        self.db.execute("UPDATE versions SET stored_file = NULL WHERE doc_id = ?", (doc_id,))
        return files

    def _erase(self, files: set[str], keep_generation: int) -> None:
        """After a committed removal: delete originals nothing refers to any more, every
        generation but the current one, and checkpoint the WAL so no old page survives there.
        A reader that still wanted the previous generation rebuilds it from its SQLite snapshot."""
        for rel in files:
            used = self.db.execute(
                "SELECT 1 FROM documents WHERE stored_file = ? UNION SELECT 1 FROM versions WHERE stored_file = ?",
                (rel, rel)).fetchone()
            path = (self.folder / rel).resolve()
            if used is None and path.is_relative_to((self.folder / "files").resolve()):
                path.unlink(missing_ok=True)
        self._drop_old_generations(keep_generation, keep_previous=False)
        self.checkpoint()

    def checkpoint(self) -> bool:
        """Move the WAL into the database and truncate it; retried while readers finish."""
        for _ in range(10):
            busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return True
            time.sleep(0.1)
        return False

    def purge_history(self, doc_id: str) -> int:
        """Erase a document's version history: for a current document, every version but the
        current one (records and stored originals); for a removed one, all its records, and its
        name in the ingest runs. Returns the number of version records erased. Under the writer lock."""
        row = self.document(doc_id)
        keep = self.current_version(doc_id) if row is not None else None
        db = self.db
        files: set[str] = set()
        try:
            db.execute("BEGIN IMMEDIATE")
            where, args = ("doc_id = ? AND version != ?", (doc_id, keep)) if row is not None else ("doc_id = ?", (doc_id,))
            files = {r[0] for r in db.execute(f"SELECT stored_file FROM versions WHERE {where} AND stored_file IS NOT NULL", args)}
            files.discard(row.stored_file if row is not None else None)
            erased = db.execute(f"DELETE FROM versions WHERE {where}", args).rowcount
            if row is None:
                self._redact_runs(doc_id)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._erase(files, keep_generation=self.generation)
        return erased

    def runs_naming(self, doc_id: str) -> list[int]:
        """Runs whose report names this document (also one that never became current: a refused upload)."""
        return [r["id"] for r in self.db.execute("SELECT id, report FROM runs").fetchall()
                if names_document(json.loads(r["report"]), doc_id)]

    def _redact_runs(self, doc_id: str) -> None:
        """The removed document's name in the run history becomes "(gelöscht)" (index/base.py)."""
        for run in self.db.execute("SELECT id, sources, report FROM runs").fetchall():
            redacted = erased_runs_report(json.loads(run["report"]), json.loads(run["sources"]), doc_id)
            if redacted is not None:
                sources, report = redacted
                self.db.execute("UPDATE runs SET sources = ?, report = ? WHERE id = ?",
                                (json.dumps(sources, ensure_ascii=False), json.dumps(report, ensure_ascii=False),
                                 run["id"]))

    def verify(self) -> list[str]:
        """Disagreements between SQLite, FAISS and the lexical index of the current generation
        (empty = consistent)."""
        problems = []
        pieces = {r[0] for r in self.db.execute("SELECT id FROM pieces")}
        chunks = {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        index = self.load_faiss()
        in_faiss = set(index.ids().tolist()) if index.ntotal else set()
        if in_faiss != pieces:
            problems.append(f"FAISS hat {len(in_faiss)} Vektoren, SQLite {len(pieces)} Stücke")
        # the live passages: replaced ones stay in their segment, marked deleted, until it is merged
        lexical = {int(i) for i in self.load_lexical().live_chunk_ids() if i >= 0}
        if lexical != chunks:
            problems.append(f"BM25 kennt {len(lexical)} Abschnitte, SQLite {len(chunks)}")
        orphans = self.db.execute("SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)").fetchone()[0]
        if orphans:
            problems.append(f"{orphans} Abschnitte ohne Dokument")
        return problems

    def _record_version(self, doc_id: str, event: str, doc: DocumentRecord | None, at: str, by: str) -> None:
        previous = self.current_version(doc_id)
        version = previous if event == "removed" else previous + 1
        self.db.execute(
            "INSERT INTO versions (doc_id, version, event, sha256, size, stored_file, at, by) VALUES (?,?,?,?,?,?,?,?)",
            (doc_id, version, event, doc.sha256 if doc else None, doc.size if doc else None,
             doc.stored_file if doc else None, at, by),
        )

    def versions(self, doc_id: str) -> list[Version]:
        return [Version(**dict(r)) for r in
                self.db.execute("SELECT * FROM versions WHERE doc_id = ? ORDER BY id", (doc_id,)).fetchall()]

    def current_version(self, doc_id: str) -> int:
        return self.db.execute("SELECT MAX(version) FROM versions WHERE doc_id = ?", (doc_id,)).fetchone()[0] or 0

    def list_documents(self, doc_id: str | None = None) -> list[Document]:
        """Documents with their passage count and current version (one, if doc_id is given)."""
        where, args = ("WHERE d.id = ?", (doc_id,)) if doc_id else ("", ())
        return [Document.of(r) for r in self.db.execute(
            f"""SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) AS chunks,
                       (SELECT MAX(version) FROM versions v WHERE v.doc_id = d.id) AS version
                FROM documents d {where} ORDER BY d.collection, d.title""",
            args,
        ).fetchall()]

    def record_run(self, started_at: str, by: str, sources: list[str], report: dict) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (started_at, finished_at, by, sources, report) VALUES (?,?,?,?,?)",
            (started_at, now_iso(), by, json.dumps(sources, ensure_ascii=False), json.dumps(report, ensure_ascii=False)),
        )
        return cur.lastrowid

    def record_review(self, doc_id: str, day: str) -> bool:
        """"Geprüft, unverändert": the document's zuletzt geprüft, without a new version."""
        return self.db.execute("UPDATE documents SET reviewed_at = ? WHERE id = ?", (day, doc_id)).rowcount > 0

    def record_evaluation(self, name: str, report: dict) -> int:
        cur = self.db.execute("INSERT INTO evaluations (at, name, report) VALUES (?, ?, ?)",
                              (now_iso(), name, json.dumps(report, ensure_ascii=False)))
        return cur.lastrowid

    def evaluations(self, limit: int = 30) -> list[dict]:
        rows = self.db.execute("SELECT * FROM evaluations ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r["id"], "at": r["at"], "name": r["name"], "report": json.loads(r["report"])} for r in rows]

    def runs(self, limit: int = 50) -> list[dict]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r["id"], "started_at": r["started_at"], "finished_at": r["finished_at"], "by": r["by"],
                 "sources": json.loads(r["sources"]), "report": json.loads(r["report"])} for r in rows]

    def _drop_old_generations(self, current: int, keep_previous: bool = True) -> None:
        # Keep the previous generation: a reader may have read its number a moment ago
        # (after an erasure it is dropped too; such a reader rebuilds from SQLite).
        oldest = current - 1 if keep_previous else current
        # the newest lexical generation stays even if older: batches of a long ingest build on it
        # and so does the newest a reader of the previous generation builds on
        saved = [g for _, g in self._lexical_generations()]
        keep_lexical = {max((g for g in saved if g <= current), default=None)}
        if keep_previous:
            keep_lexical.add(max((g for g in saved if g <= oldest), default=None))
        for path in [*self.folder.glob("vectors-*.faiss"), *self.folder.glob("lexical-*")]:
            gen = self._generation_of(path)
            if gen is None or gen in keep_lexical and path.name.startswith("lexical-"):
                continue
            if gen < oldest or gen > current:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        # segments no remaining generation refers to (replaced by merges, or erased)
        used = referenced_segments(self.folder.glob("lexical-*"))
        for seg in (self.folder / SEGMENTS).glob("*") if (self.folder / SEGMENTS).is_dir() else ():
            if seg.name not in used:
                shutil.rmtree(seg, ignore_errors=True)

    def _lexical_generations(self) -> list[tuple[Path, int]]:
        """Saved lexical generations (those with a manifest) and their numbers."""
        out = []
        for path in self.folder.glob("lexical-*"):
            gen = self._generation_of(path)
            if gen is not None and (path / "manifest.json").exists():
                out.append((path, gen))
        return out

    @staticmethod
    def _generation_of(path: Path) -> int | None:
        try:
            return int(path.name.split("-")[1].split(".")[0])
        except (ValueError, IndexError):
            return None


def _passage(row) -> Passage:
    return Passage(row["chunk_id"], row["text"], row["section"], row["page"], Document.of(row))


def recorded_model(folder: Path) -> str | None:
    """The embedding model an existing index folder was built with (None: no index yet)."""
    try:
        store = IndexStore(folder, create=False, reader=True)
    except (FileNotFoundError, sqlite3.Error):
        return None
    try:
        return store.meta("model") or None
    except sqlite3.Error:  # a folder with a database but no schema yet
        return None
    finally:
        store.close()


@dataclass
class _Generation:
    number: int
    vectors: VectorIndex
    lexical: LexicalIndex
    allowed: AllowedCache = field(default_factory=AllowedCache)  # a generation is one committed state


class LocalReader:
    """A read snapshot of the folder: the SQLite rows and the FAISS and lexical files of
    one committed generation. Catalog reads go to the store's connection."""

    _CATALOG = {"counts", "collections", "document", "list_documents", "versions", "passages", "passages_of",
                "sections_like", "abbreviations", "runs", "evaluations", "original"}

    def __init__(self, store: IndexStore, generation: _Generation):
        self._store = store
        self._gen = generation
        self.lexicon = generation.lexical

    def __getattr__(self, name: str):
        if name in self._CATALOG:
            return getattr(self._store, name)
        raise AttributeError(name)

    def allowed(self, flt: Filter) -> Allowed | None:
        return self._gen.allowed.get(self._gen.number, flt, self._store.allowed)

    def dense_top(self, vector: np.ndarray, n: int, allowed: Allowed | None) -> dict[int, float]:
        """Passages by their best-matching piece (cosine), among the allowed ones."""
        vectors = self._gen.vectors
        if vectors.ntotal == 0 or vector.shape[0] != vectors.d or (allowed is not None and not len(allowed.piece_ids)):
            return {}
        scores, ids = vectors.search(vector.reshape(1, -1).astype(np.float32), min(n, vectors.ntotal),
                                     None if allowed is None else allowed.piece_ids)
        hits = [(int(i), float(sc)) for sc, i in zip(scores[0], ids[0]) if i >= 0]
        owner = self._store.chunks_of_pieces([i for i, _ in hits])
        passages: dict[int, float] = {}
        for piece_id, score in hits:
            chunk_id = owner.get(piece_id)
            if chunk_id is not None and score > passages.get(chunk_id, -1.0):
                passages[chunk_id] = score
        return passages

    def dense_scores(self, vector: np.ndarray, chunk_ids: Iterable[int]) -> dict[int, float]:
        """Cosine of these passages (their best piece), from the stored piece vectors."""
        vectors = self._gen.vectors
        if vectors.ntotal == 0 or vector.shape[0] != vectors.d:
            return {}
        out = {}
        for chunk_id, piece_ids in self._store.pieces_of_chunks(sorted(chunk_ids)).items():
            try:
                out[chunk_id] = max(float(vectors.reconstruct(p) @ vector) for p in piece_ids)
            except RuntimeError:
                continue
        return out


class LocalBackend:
    """The index folder as a backend: one read connection per server thread, the loaded
    generation shared by all, and live pick-up of a generation an ingest committed (by
    this process or another) on the next request."""

    def __init__(self, folder: Path):
        self.folder = self.work_folder = Path(folder)
        IndexStore(self.folder, create=True).close()  # creates the schema if the folder is new
        self._local = threading.local()
        self._reload_lock = threading.Lock()
        self._gen: _Generation | None = None

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

    @contextmanager
    def snapshot(self) -> Iterator[LocalReader]:
        """This thread's connection inside a read snapshot: the generation and the rows read
        during one request belong to the same committed state."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = IndexStore(self.folder, create=False, reader=True)
        with store.snapshot():
            yield LocalReader(store, self._current(store))

    @contextmanager
    def session(self) -> Iterator[IndexStore]:
        store = IndexStore(self.folder)
        try:
            yield store
        finally:
            store.close()

    def recorded_model(self) -> str | None:
        return recorded_model(self.folder)

    def describe(self) -> str:
        return f"Index-Ordner {self.folder} (SQLite-Schema {SCHEMA_VERSION})"

    def close(self) -> None:
        store = getattr(self._local, "store", None)
        if store is not None:
            store.close()
            self._local.store = None
