"""The PostgreSQL backend: catalog, versions, runs, embedding cache, originals and the
vectors of the pieces in one database (pgvector, HNSW for cosine), for installations
with several application servers, backups and replicas (docs/betrieb-postgresql.md).

Consistency comes from PostgreSQL itself: a write is one transaction (a reader in
another process never sees half a document), a reader works in one REPEATABLE READ
snapshot per request, and writers are serialised by an advisory lock.

The lexical side is the project's own BM25 index (index/lexical.py), kept in each
application process. The writer analyses each passage once (German analysis with
compounds split by the vocabulary of the moment, as the folder's segments are) and
stores its term frequencies beside the text (`chunks.terms`); a process builds its
index from these rows without analysing, and on the first request after a write (a
version counter in `meta` says when) adds the new passages as a segment and deletes
the removed ones. So the scores equal the embedded backend's, every process holds the
same index, and a query costs a few milliseconds in numpy. PostgreSQL full text was
the alternative: its ranking (ts_rank) is not BM25, and our analysis would still have
to be stored. The word counts the compound splitter learns from live in the table
`words`, kept exact by every write. Figures: README "Zwei Backends".
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from psycopg.types.json import Json

from index.base import (DOCUMENT_COLUMNS, AllowedCache, filter_sql, record_changes, Allowed, ChunkRecord, Document, DocumentRecord, Filter, Passage, Section, Version,
                        BackendUnavailable, erased_runs_report, lexical_rows, model_mismatch,
                        names_document, now_iso)
from index.lexical import LexicalIndex, Segment, analyzer_for, passage_terms
from index.vectors import EXACT_FILTERED
from text.analyze import word_counts
from text.context import context_text

logger = logging.getLogger(__name__)

WRITER_LOCK = 0x616D7473  # advisory lock of the writer ("amts")
MIGRATION_LOCK = 0x616D7474
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64  # pgvector's defaults (docs/betrieb-postgresql.md: memory)
ANALYZE_AFTER = 500  # passages written by one session before it refreshes the planner statistics

# Each step runs once, in order, in one transaction, recorded in schema_migrations.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE documents (
    id text PRIMARY KEY, root text NOT NULL, source text NOT NULL, collection text NOT NULL, title text NOT NULL,
    kind text NOT NULL, sha256 text NOT NULL, size bigint NOT NULL, pages integer, stored_file text NOT NULL,
    ingested_at text NOT NULL, problems text NOT NULL DEFAULT '', abbr text NOT NULL DEFAULT '',
    valid_from text, valid_until text, owner text, reviewed_at text, keywords text NOT NULL DEFAULT '[]',
    UNIQUE (root, source)
);
CREATE INDEX documents_collection ON documents (collection, kind);
CREATE TABLE chunks (
    id bigserial PRIMARY KEY,
    doc_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord integer NOT NULL, text text NOT NULL, section text NOT NULL, page integer,
    -- the passage as the lexical index holds it (term → frequency, length), analysed once by
    -- the writer: application processes build their BM25 index from it without analysing
    terms json, length real  -- NULL while the ingest that wrote them runs (see apply)
);
CREATE INDEX chunks_doc ON chunks (doc_id);
CREATE INDEX chunks_unanalysed ON chunks (id) WHERE terms IS NULL;
-- the embedded pieces of a passage with their vectors; the column gets its dimension
-- (and the HNSW index) with the first vectors written
CREATE TABLE pieces (
    id bigserial PRIMARY KEY,
    chunk_id bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    embed_hash text NOT NULL,
    embedding vector NOT NULL
);
CREATE INDEX pieces_chunk ON pieces (chunk_id);
CREATE INDEX pieces_hash ON pieces (embed_hash);
CREATE TABLE versions (
    id bigserial PRIMARY KEY, doc_id text NOT NULL, version integer NOT NULL, event text NOT NULL,
    sha256 text, size bigint, stored_file text, at text NOT NULL, by text NOT NULL
);
CREATE INDEX versions_doc ON versions (doc_id);
CREATE TABLE runs (
    id bigserial PRIMARY KEY, started_at text NOT NULL, finished_at text NOT NULL, by text NOT NULL,
    sources json NOT NULL, report json NOT NULL  -- json, not jsonb: the report keeps its key order
);
CREATE TABLE evaluations (id bigserial PRIMARY KEY, at text NOT NULL, name text NOT NULL, report json NOT NULL);
CREATE TABLE embeddings (hash text NOT NULL, model text NOT NULL, vector bytea NOT NULL, PRIMARY KEY (hash, model));
-- originals, content-addressed: every application server serves them, none needs a shared disk
CREATE TABLE files (name text PRIMARY KEY, content bytea NOT NULL);
-- folded word counts of all passages: the compound splitter's vocabulary
CREATE TABLE words (word text PRIMARY KEY, n bigint NOT NULL);
INSERT INTO meta (key, value) VALUES ('version', '0');
"""),
]


def migrate(url: str) -> int:
    """Bring the schema up to the newest migration; returns the schema version. Safe to run
    from several processes at once (advisory lock); never drops data."""
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BackendUnavailable(f"PostgreSQL nicht erreichbar: {str(exc).strip()}") from exc
    newest = max(v for v, _ in MIGRATIONS)
    with conn:
        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # a read replica: migrated on the primary
            applied = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] \
                if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] else None
            if applied != newest:
                raise BackendUnavailable(f"Das Replikat hat Schema {applied}, erwartet {newest}: "
                                         "`amtswissen migrate` gegen den Primärserver ausführen.")
            return newest
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                         "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in MIGRATIONS:
                if version not in done:
                    try:
                        conn.execute(sql)
                    except psycopg.errors.FeatureNotSupported as exc:  # pragma: no cover - a server without pgvector
                        raise BackendUnavailable(f"pgvector fehlt auf dem Server: {exc}") from exc
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        return newest


class PostgresBackend:
    """A connection pool on one database; the lexical index of this process beside it."""

    def __init__(self, url: str, work_folder: Path, pool_size: int = 10, ef_search: int = 100):
        from pgvector.psycopg import register_vector
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.url = url
        self.work_folder = Path(work_folder)
        self.ef_search = ef_search
        self.schema_version = migrate(url)
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True, configure=register_vector,
                                   kwargs={"autocommit": True, "row_factory": dict_row})
        self._lexicon: tuple[int, str, LexicalIndex] | None = None  # (version, epoch, index)
        self._lexicon_lock = threading.Lock()
        self._allowed = AllowedCache()

    @contextmanager
    def snapshot(self) -> Iterator["PostgresReader"]:
        with self.pool.connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                meta = {r["key"]: r["value"] for r in conn.execute(
                    "SELECT key, value FROM meta WHERE key IN ('version', 'lexical_epoch', 'dim')")}
                lexicon = self._current_lexicon(conn, int(meta.get("version", 0)), meta.get("lexical_epoch", "0"))
                yield PostgresReader(conn, lexicon, self.ef_search, int(meta["dim"]) if "dim" in meta else None,
                                     (self._allowed, int(meta.get("version", 0))))
            finally:
                conn.execute("ROLLBACK")

    def _current_lexicon(self, conn, version: int, epoch: str) -> LexicalIndex:
        """The lexical index of the snapshot's state: the one this process holds, brought up
        to date with the passages written since (by any process) — or built anew from the
        stored analysis when a long ingest re-analysed its passages at its end (new epoch)."""
        held = self._lexicon
        if held is not None and held[0] == version:
            return held[2]
        with self._lexicon_lock:
            held = self._lexicon
            if held is not None and held[0] == version:
                return held[2]
            words = _words(conn)
            if held is None or held[1] != epoch:
                lexicon = LexicalIndex([_segment(conn, words)], [], words)
            else:  # passages written since: a segment of their stored analysis; removed ones deleted
                indexed = held[2].live_chunk_ids()
                present = {r["id"] for r in conn.execute("SELECT id FROM chunks")}
                missing, gone = sorted(present - indexed), indexed - present
                lexicon = held[2].updated(_segment(conn, words, missing), [], gone, words=words) \
                    if missing or gone else held[2]
            if held is None or held[0] < version:  # a slow request must not put an older state back
                self._lexicon = (version, epoch, lexicon)
            return lexicon

    @contextmanager
    def session(self) -> Iterator["PostgresSession"]:
        with self.pool.connection() as conn:
            yield PostgresSession(conn)

    def recorded_model(self) -> str | None:
        with self.pool.connection() as conn:
            return _meta(conn, "model") or None

    def describe(self) -> str:
        return f"PostgreSQL (Migration {self.schema_version})"

    def close(self) -> None:
        self.pool.close()


def _meta(conn, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
    return row["value"] if row else default


def _words(conn) -> Counter:
    return Counter({r["word"]: r["n"] for r in conn.execute("SELECT word, n FROM words")})


def _segment(conn, words: Counter, chunk_ids: list[int] | None = None) -> Segment:
    """A lexical segment of the stored analysis of all passages, or of the given ones.
    Passages of a long ingest that is still running have none yet (its last write analyses
    them all with the vocabulary of the whole ingest): they are analysed here, for now."""
    sql = ("SELECT c.id, c.terms, c.length, CASE WHEN c.terms IS NULL THEN d.title END AS title, "
           "CASE WHEN c.terms IS NULL THEN c.section END AS section, "
           "CASE WHEN c.terms IS NULL THEN c.text END AS text FROM chunks c JOIN documents d ON d.id = c.doc_id")
    rows = conn.execute(sql + " WHERE c.id = ANY(%s) ORDER BY c.id", (chunk_ids,)) if chunk_ids is not None \
        else conn.execute(sql + " ORDER BY c.id")
    analyzer = None
    counts = []
    for r in rows:
        if r["terms"] is None:
            analyzer = analyzer or analyzer_for(words)
            counts.append((r["id"], *passage_terms(context_text(r["title"], r["section"], r["text"]), analyzer)))
        else:
            counts.append((r["id"], r["terms"], r["length"]))
    return Segment.from_counts(counts)


def _lexical_rows(conn, chunk_ids: list[int] | None = None, doc_ids: list[str] | None = None
                  ) -> list[tuple[int, str]]:
    """(chunk id, text as the lexical index analyses it) of all passages, or of the given ones."""
    sql = "SELECT c.id, d.title, c.section, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id"
    if chunk_ids is not None:
        rows = conn.execute(sql + " WHERE c.id = ANY(%s) ORDER BY c.id", (list(chunk_ids),))
    elif doc_ids is not None:
        rows = conn.execute(sql + " WHERE c.doc_id = ANY(%s) ORDER BY c.id", (list(doc_ids),))
    else:
        rows = conn.execute(sql + " ORDER BY c.id")
    return lexical_rows((r["id"], r["title"], r["section"], r["text"]) for r in rows)


def _no_nul(value):
    """PostgreSQL's text refuses NUL bytes (SQLite keeps them); they never carry meaning."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _passage(row) -> Passage:
    return Passage(row["chunk_id"], row["text"], row["section"], row["page"], Document.of(row))


class _Catalog:
    """Reads shared by reader snapshots and writer sessions."""

    conn: object

    def meta(self, key: str, default: str | None = None) -> str | None:
        return _meta(self.conn, key, default)

    def document(self, doc_id: str) -> Document | None:
        row = self.conn.execute("SELECT * FROM documents WHERE id = %s", (doc_id,)).fetchone()
        return Document.of(row) if row else None

    def versions(self, doc_id: str) -> list[Version]:
        return [Version(**r) for r in self.conn.execute("SELECT * FROM versions WHERE doc_id = %s ORDER BY id",
                                                          (doc_id,))]

    def current_version(self, doc_id: str) -> int:
        row = self.conn.execute("SELECT MAX(version) AS v FROM versions WHERE doc_id = %s", (doc_id,)).fetchone()
        return row["v"] or 0

    def runs(self, limit: int = 50) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT id, started_at, finished_at, by, sources, report FROM runs ORDER BY id DESC LIMIT %s", (limit,))]

    def evaluations(self, limit: int = 30) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT id, at, name, report FROM evaluations ORDER BY id DESC LIMIT %s", (limit,))]


class PostgresReader(_Catalog):
    def __init__(self, conn, lexicon: LexicalIndex, ef_search: int, dim: int | None,
                 cache: tuple[AllowedCache, int] | None = None):
        self.cache = cache  # the backend's allowed sets, and the version of this snapshot
        self.conn = conn
        self.lexicon = lexicon
        self.ef_search = ef_search
        self.dim = dim  # of the stored vectors (None: none written yet)

    def counts(self, readable: frozenset[str] | None = None) -> tuple[int, int]:
        """Documents and passages, of the readable collections only when given."""
        if readable is None:
            row = self.conn.execute("SELECT (SELECT COUNT(*) FROM documents) AS d, (SELECT COUNT(*) FROM chunks) AS c"
                                    ).fetchone()
            return row["d"], row["c"]
        where, args = filter_sql(Filter(readable=readable, include_expired=True), "%s")
        sql_where = " AND ".join(where)
        row = self.conn.execute(f"SELECT (SELECT COUNT(*) FROM documents d WHERE {sql_where}) AS d, "
                                f"(SELECT COUNT(*) FROM chunks c JOIN documents d ON d.id = c.doc_id "
                                f"WHERE {sql_where}) AS c", args + args).fetchone()
        return row["d"], row["c"]

    def collections(self) -> list[str]:
        return [r["collection"] for r in self.conn.execute(
            'SELECT collection FROM documents GROUP BY collection ORDER BY collection COLLATE "C"')]

    def list_documents(self, doc_id: str | None = None) -> list[Document]:
        where, args = ("WHERE d.id = %s", (doc_id,)) if doc_id else ("", ())
        return [Document.of(r) for r in self.conn.execute(
            f"""SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) AS chunks,
                       (SELECT MAX(version) FROM versions v WHERE v.doc_id = d.id) AS version
                FROM documents d {where}
                ORDER BY d.collection COLLATE "C", d.title COLLATE "C" """, args)]

    def passages(self, ids: Iterable[int]) -> dict[int, Passage]:
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        rows = self.conn.execute("""SELECT c.id AS chunk_id, c.text, c.section, c.page, d.* FROM chunks c
                                    JOIN documents d ON d.id = c.doc_id WHERE c.id = ANY(%s)""", (ids,))
        return {r["chunk_id"]: _passage(r) for r in rows}

    def passages_of(self, doc_id: str) -> list[Passage]:
        rows = self.conn.execute("""SELECT c.id AS chunk_id, c.text, c.section, c.page, d.* FROM chunks c
                                    JOIN documents d ON d.id = c.doc_id WHERE c.doc_id = %s ORDER BY c.ord""",
                                 (doc_id,))
        return [_passage(r) for r in rows]

    def sections_like(self, marker: str, number: str) -> list[Section]:
        rows = self.conn.execute("SELECT c.id, c.section, d.abbr, d.title FROM chunks c JOIN documents d "
                                 "ON d.id = c.doc_id WHERE c.section ILIKE %s", (f"%{marker}%{number}%",))
        return [Section(r["id"], r["section"], r["abbr"] or "", r["title"]) for r in rows]

    def abbreviations(self) -> dict[str, str]:
        return {r["id"]: r["abbr"] for r in self.conn.execute("SELECT id, abbr FROM documents WHERE abbr != ''")}

    def original(self, stored_file: str) -> bytes | None:
        row = self.conn.execute("SELECT content FROM files WHERE name = %s", (stored_file,)).fetchone()
        return bytes(row["content"]) if row else None

    def allowed(self, flt: Filter) -> Allowed | None:
        """The passages and pieces of this filter, or None when it excludes nothing (cached
        per committed version: every write raises it)."""
        if self.cache is not None:
            cache, version = self.cache
            return cache.get(version, flt, self._allowed)
        return self._allowed(flt)

    def _allowed(self, flt: Filter) -> Allowed | None:
        where, args = filter_sql(flt, "%s")
        if not where:
            return None
        sql_where = " AND ".join(where)
        row = self.conn.execute(f"SELECT COUNT(*) FILTER (WHERE {sql_where}) AS matching, COUNT(*) AS total "
                                "FROM documents d", args).fetchone()
        if row["matching"] == row["total"]:
            return None
        rows = self.conn.execute("SELECT c.id AS chunk, p.id AS piece FROM chunks c JOIN documents d ON d.id = c.doc_id "
                                 f"JOIN pieces p ON p.chunk_id = c.id WHERE {sql_where}", args).fetchall()
        chunks = np.array(sorted({r["chunk"] for r in rows}), dtype=np.int64)
        return Allowed(chunks, np.array([r["piece"] for r in rows], dtype=np.int64), flt)

    def dense_top(self, vector: np.ndarray, n: int, allowed: Allowed | None) -> dict[int, float]:
        """Passages by their best piece. Unfiltered: the HNSW index. Filtered: the filter is a
        WHERE of the query; up to EXACT_FILTERED pieces they are ranked exactly (the `+ 0`
        keeps the planner off the index), above that pgvector's iterative index scan
        goes on until enough pieces of the filter are found."""
        vector = np.asarray(vector, dtype=np.float32)
        if self.dim != vector.shape[0] or (allowed is not None and not len(allowed.piece_ids)):
            return {}
        self.conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(self.ef_search, min(n, 1000))),))
        if n > 1000:  # ef_search ends at 1000: the iterative scan delivers the rest
            self.conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        if allowed is None:
            rows = self.conn.execute("SELECT chunk_id, 1 - (embedding <=> %s) AS score FROM pieces "
                                     "ORDER BY embedding <=> %s LIMIT %s", (vector, vector, n))
        else:
            where, args = filter_sql(allowed.filter, "%s")
            order = "(embedding <=> %s) + 0" if len(allowed.piece_ids) <= EXACT_FILTERED else "embedding <=> %s"
            if len(allowed.piece_ids) > EXACT_FILTERED:
                self.conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            rows = self.conn.execute(
                "SELECT chunk_id, 1 - (embedding <=> %s) AS score FROM pieces WHERE chunk_id IN "
                f"(SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {' AND '.join(where)}) "
                f"ORDER BY {order} LIMIT %s", (vector, *args, vector, n))
        passages: dict[int, float] = {}
        for r in rows:
            score = float(r["score"])
            if score > passages.get(r["chunk_id"], -2.0):
                passages[r["chunk_id"]] = score
        return passages

    def dense_scores(self, vector: np.ndarray, chunk_ids: Iterable[int]) -> dict[int, float]:
        ids = [int(i) for i in chunk_ids]
        vector = np.asarray(vector, dtype=np.float32)
        if not ids or self.dim != vector.shape[0]:
            return {}
        rows = self.conn.execute("SELECT chunk_id, MAX(1 - (embedding <=> %s)) AS score FROM pieces "
                                 "WHERE chunk_id = ANY(%s) GROUP BY chunk_id", (vector, ids))
        return {r["chunk_id"]: float(r["score"]) for r in rows}


class PostgresSession(_Catalog):
    """A writer on one pooled connection (autocommit; transactions are explicit)."""

    def __init__(self, conn):
        self.conn = conn
        self.last_lexical_seconds = 0.0  # the lexical index is brought up to date by the readers
        self._vacuum_due = False
        self._written = 0  # passages written since this session last refreshed the statistics

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.conn.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
        try:
            yield
        finally:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))

    def close(self) -> None:  # the pool takes the connection back
        pass

    def check_model(self, model: str) -> None:
        indexed = self.meta("model")
        if indexed and indexed != model and self.conn.execute("SELECT 1 FROM pieces LIMIT 1").fetchone():
            raise model_mismatch(indexed, model)

    def documents_under(self, root: str) -> dict[str, Document]:
        return {r["source"]: Document.of(r) for r in self.conn.execute("SELECT * FROM documents WHERE root = %s",
                                                                        (root,))}

    def cached_vectors(self, hashes: list[str], model: str) -> dict[str, np.ndarray]:
        rows = self.conn.execute("SELECT hash, vector FROM embeddings WHERE model = %s AND hash = ANY(%s)",
                                 (model, list(dict.fromkeys(hashes))))
        return {r["hash"]: np.frombuffer(r["vector"], dtype=np.float32) for r in rows}

    def cache_vectors(self, items: dict[str, np.ndarray], model: str) -> None:
        """Committed at once: embedding work survives a crashed ingest."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany("INSERT INTO embeddings (hash, model, vector) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                            [(h, model, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()])

    def _ensure_dimension(self, dim: int) -> None:
        """Give the vector column its dimension and the HNSW index with the first vectors (and
        a new one when an emptied index gets vectors of another model)."""
        if self.meta("dim") == str(dim):
            return
        self.conn.execute("DROP INDEX IF EXISTS pieces_embedding")
        self.conn.execute(f"ALTER TABLE pieces ALTER COLUMN embedding TYPE vector({int(dim)})")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS pieces_embedding ON pieces USING hnsw "
                          f"(embedding vector_cosine_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")

    def apply(self, upserts: list[tuple[DocumentRecord, list[ChunkRecord]]], removals: list[str], model: str,
              dim: int, lexical: bool = True, by: str = "system") -> dict[str, str]:
        """Replace/insert/remove documents in one transaction. Call it under the writer lock.
        `lexical=False` (a batch of a long ingest): its passages are stored unanalysed; the
        next write with `lexical=True` analyses every such passage with the vocabulary of
        that moment (the folder's final batch does the same)."""
        if not upserts and not removals:
            if lexical:  # the last write of an ingest whose documents all came in earlier batches
                with self.conn.transaction():
                    if self._analyse_pending(analyzer_for(_words(self.conn))):
                        self._new_lexical_epoch()
                self._after_write([], lexical)
            return {}
        if upserts:
            self.check_model(model)
            dim_set = self.meta("dim")
            if dim_set and int(dim_set) != dim and self.conn.execute("SELECT 1 FROM pieces LIMIT 1").fetchone():
                raise model_mismatch(self.meta("model") or "?", model)
        conn = self.conn
        changed = removals + [d.id for d, _ in upserts]
        with conn.transaction(), conn.cursor() as cur:
            events, erased_files = record_changes(
                self, upserts, removals, by,
                lambda doc: cur.execute("INSERT INTO files (name, content) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                        (doc.stored_file, doc.original.read_bytes())))
            # word counts of the new state, then the analysis of the new passages with them
            # (as the folder's lexical index splits compounds by the vocabulary of the write)
            delta = Counter()
            delta.subtract(word_counts(t for _, t in _lexical_rows(conn, doc_ids=changed)))
            texts = {(doc.id, i): _no_nul(context_text(doc.title, c.section, c.text))
                     for doc, chunks in upserts for i, c in enumerate(chunks)}
            delta.update(word_counts(texts.values()))
            # a batch of a long ingest stores its passages unanalysed; the ingest's last write
            # analyses them all with the vocabulary of the whole ingest, as the folder does
            analyzer = analyzer_for(_words(conn) + delta) if lexical else None
            removed_hashes = [r["embed_hash"] for r in conn.execute(
                "SELECT p.embed_hash FROM pieces p JOIN chunks c ON c.id = p.chunk_id WHERE c.doc_id = ANY(%s)",
                (removals,))]
            cur.execute("DELETE FROM documents WHERE id = ANY(%s)", (changed,))  # cascades to chunks and pieces
            if upserts:
                self._ensure_dimension(dim)
            for doc, chunks in upserts:
                cur.execute(f"INSERT INTO documents ({', '.join(DOCUMENT_COLUMNS)}) VALUES "
                            f"({', '.join(['%s'] * len(DOCUMENT_COLUMNS))})",
                            [_no_nul(getattr(doc, c)) for c in DOCUMENT_COLUMNS])
                pieces, cache = [], []
                for ord_, c in enumerate(chunks):
                    terms, length = passage_terms(texts[(doc.id, ord_)], analyzer) if analyzer else (None, None)
                    chunk_id = conn.execute("INSERT INTO chunks (doc_id, ord, text, section, page, terms, length) "
                                            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                                            (doc.id, ord_, _no_nul(c.text), _no_nul(c.section), c.page,
                                             None if terms is None else Json(terms), length)).fetchone()["id"]
                    for piece in c.pieces:
                        vector = np.asarray(piece.vector, dtype=np.float32)
                        pieces.append((chunk_id, piece.embed_hash, vector))
                        cache.append((piece.embed_hash, model, vector.tobytes()))
                cur.executemany("INSERT INTO pieces (chunk_id, embed_hash, embedding) VALUES (%s, %s, %s)", pieces)
                cur.executemany("INSERT INTO embeddings (hash, model, vector) VALUES (%s, %s, %s) "
                                "ON CONFLICT DO NOTHING", cache)
            delta = [(w, n) for w, n in delta.items() if n]
            if delta:
                cur.executemany("INSERT INTO words (word, n) VALUES (%s, %s) "
                                "ON CONFLICT (word) DO UPDATE SET n = words.n + EXCLUDED.n", delta)
                cur.execute("DELETE FROM words WHERE word = ANY(%s) AND n <= 0", ([w for w, _ in delta],))
            # cached vectors of erased passages, unless a current passage has the same text
            cur.execute("DELETE FROM embeddings e WHERE e.hash = ANY(%s) AND NOT EXISTS "
                        "(SELECT 1 FROM pieces p WHERE p.embed_hash = e.hash)", (removed_hashes,))
            self._drop_unreferenced_files(erased_files)
            if analyzer is not None and self._analyse_pending(analyzer):
                self._new_lexical_epoch()
            else:
                cur.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'version'")
            if upserts or not self.meta("model"):  # a removal says nothing about the model
                for key, value in (("model", model), ("dim", str(dim))):
                    cur.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))
        self._written += sum(len(chunks) for _, chunks in upserts)
        self._vacuum_due = self._vacuum_due or bool(removals)
        self._after_write(removals, lexical)
        return events

    def _after_write(self, removals: list[str], lexical: bool) -> None:
        """Maintenance after a committed write; its failure must not undo the write's report."""
        try:
            if removals:  # erasure: as the folder checkpoints its WAL (folder syncs remove too)
                self.checkpoint()
            if lexical and self._written >= ANALYZE_AFTER:
                # fresh statistics: with stale ones the planner scans all pieces for a small
                # collection (measured: filtered vector query 3 ms → 0.07 ms at 10k pieces)
                self.conn.execute("ANALYZE documents, chunks, pieces")
                self._written = 0
        except Exception:  # noqa: BLE001 - logged; autovacuum catches up
            logger.exception("Wartung nach dem Schreiben (VACUUM/ANALYZE) fehlgeschlagen")

    def _new_lexical_epoch(self) -> None:
        """Readers build their lexical index anew (the stored analysis of old rows changed)."""
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('lexical_epoch', %s) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (uuid.uuid4().hex,))
        self.conn.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'version'")

    def _analyse_pending(self, analyzer) -> bool:
        """Analyse the passages earlier batches stored without; True if there were any."""
        rows = self.conn.execute("SELECT c.id, d.title, c.section, c.text FROM chunks c JOIN documents d "
                                 "ON d.id = c.doc_id WHERE c.terms IS NULL").fetchall()
        with self.conn.cursor() as cur:
            cur.executemany("UPDATE chunks SET terms = %s, length = %s WHERE id = %s",
                            [(Json(terms), length, cid) for cid, (terms, length) in
                             ((cid, passage_terms(text, analyzer)) for cid, text in lexical_rows(
                                 (r["id"], r["title"], r["section"], r["text"]) for r in rows))])
        return bool(rows)

    def _record_version(self, doc_id: str, event: str, doc: DocumentRecord | None, at: str, by: str) -> None:
        previous = self.current_version(doc_id)
        self.conn.execute(
            "INSERT INTO versions (doc_id, version, event, sha256, size, stored_file, at, by) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (doc_id, previous if event == "removed" else previous + 1, event, doc.sha256 if doc else None,
             doc.size if doc else None, doc.stored_file if doc else None, at, by))

    def _forget_files(self, doc_id: str) -> set[str]:
        files = {r["stored_file"] for r in self.conn.execute(
            "SELECT stored_file FROM versions WHERE doc_id = %s AND stored_file IS NOT NULL", (doc_id,))}
        doc = self.document(doc_id)
        if doc is not None:
            files.add(doc.stored_file)
        self.conn.execute("UPDATE versions SET stored_file = NULL WHERE doc_id = %s", (doc_id,))
        return files

    def _drop_unreferenced_files(self, names: set[str]) -> None:
        self.conn.execute("DELETE FROM files f WHERE f.name = ANY(%s) "
                          "AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.stored_file = f.name) "
                          "AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.stored_file = f.name)", (list(names),))

    def checkpoint(self) -> bool:
        """After an erasure: VACUUM frees the dead rows of the removed document, so its text is
        no longer readable through the database (its bytes leave the files when reused or by
        VACUUM FULL; rows an open snapshot still sees wait for the next VACUUM;
        docs/betrieb-postgresql.md). Once per erasure: vacuuming the HNSW index reads it whole."""
        if self._vacuum_due:
            self.conn.execute("VACUUM documents, chunks, pieces, embeddings, files, words, versions, runs")
            self._vacuum_due = False
        return True

    def purge_history(self, doc_id: str) -> int:
        doc = self.document(doc_id)
        with self.conn.transaction():
            if doc is not None:
                keep = self.current_version(doc_id)
                where, args = "doc_id = %s AND version != %s", (doc_id, keep)
            else:
                where, args = "doc_id = %s", (doc_id,)
            files = {r["stored_file"] for r in self.conn.execute(
                f"SELECT stored_file FROM versions WHERE {where} AND stored_file IS NOT NULL", args)}
            files.discard(doc.stored_file if doc is not None else None)
            erased = self.conn.execute(f"DELETE FROM versions WHERE {where}", args).rowcount
            if doc is None:
                self._redact_runs(doc_id)
            self._drop_unreferenced_files(files)
        self._vacuum_due = True
        self.checkpoint()
        return erased

    def runs_naming(self, doc_id: str) -> list[int]:
        return [r["id"] for r in self.conn.execute("SELECT id, report FROM runs") if names_document(r["report"], doc_id)]

    def _redact_runs(self, doc_id: str) -> None:
        for run in self.conn.execute("SELECT id, sources, report FROM runs").fetchall():
            redacted = erased_runs_report(run["report"], run["sources"], doc_id)
            if redacted is not None:
                self.conn.execute("UPDATE runs SET sources = %s, report = %s WHERE id = %s",
                                  (Json(redacted[0]), Json(redacted[1]), run["id"]))

    def record_run(self, started_at: str, by: str, sources: list[str], report: dict) -> int:
        return self.conn.execute(
            "INSERT INTO runs (started_at, finished_at, by, sources, report) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (started_at, now_iso(), by, Json(sources), Json(report))).fetchone()["id"]

    def record_review(self, doc_id: str, day: str) -> bool:
        """"Geprüft, unverändert": the document's zuletzt geprüft, without a new version."""
        return self.conn.execute("UPDATE documents SET reviewed_at = %s WHERE id = %s", (day, doc_id)).rowcount > 0

    def record_evaluation(self, name: str, report: dict) -> int:
        return self.conn.execute("INSERT INTO evaluations (at, name, report) VALUES (%s, %s, %s) RETURNING id",
                                 (now_iso(), name, Json(report))).fetchone()["id"]

    def verify(self) -> list[str]:
        problems = []
        dim = self.meta("dim")
        if dim:
            wrong = self.conn.execute("SELECT COUNT(*) AS n FROM pieces WHERE vector_dims(embedding) != %s",
                                      (int(dim),)).fetchone()["n"]
            if wrong:
                problems.append(f"{wrong} Vektoren mit falscher Dimension")
        orphans = self.conn.execute("SELECT COUNT(*) AS n FROM chunks c WHERE NOT EXISTS "
                                    "(SELECT 1 FROM documents d WHERE d.id = c.doc_id)").fetchone()["n"]
        if orphans:
            problems.append(f"{orphans} Abschnitte ohne Dokument")
        rows = _lexical_rows(self.conn)
        expected = word_counts(t for _, t in rows)
        stored = Counter({r["word"]: r["n"] for r in self.conn.execute("SELECT word, n FROM words")})
        if expected != stored:
            problems.append("Die Wortzählung (Tabelle words) weicht von den Abschnitten ab")
        return problems

