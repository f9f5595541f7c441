"""Scale benchmark: all federal laws (../shared/corpus/federal-laws.jsonl.gz, 6,636 laws)
into a fresh index through the real ingest path, in batches, with figures per stage and
query latency at milestones. Run it in the background; it is not part of `make test`.

    .venv/bin/python bench/scale.py [--index data/scale-index] [--limit N] [--batch 100]

It resumes after an interruption: laws already in the index (same content) are skipped by
the ingest itself, and embeddings already computed are taken from the index's cache.
Figures go to stdout and, as JSON lines, to <index>/../scale-<index name>.jsonl.

Printed: pieces/s overall and per stage (lesen = extract+chunk, einbetten, schreiben =
SQLite+vectors, lexikalisch), wall time, peak RSS, index size on disk, hybrid query
latency p50/p95 with the dev questions at 10k / 100k pieces and at the end, recall@10 of
the vector index against exact search, cold start and RSS of `amtswissen serve`, and the
time to re-ingest one changed law.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402
from ingest.names import clean_filename  # noqa: E402
from ingest.pipeline import STAGES, IngestReport, SourceFile, sync  # noqa: E402
from index.local import IndexStore  # noqa: E402
from index.vectors import VectorIndex  # noqa: E402

SHARED = ROOT.parent / "shared"
LAWS = SHARED / "corpus" / "federal-laws.jsonl.gz"
DEV = SHARED / "eval" / "dev.jsonl"
MILESTONES = (10_000, 100_000)


def write_sources(folder: Path, limit: int | None) -> list[Path]:
    """The laws as Markdown files (written once; the ingest reads files like any other)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with gzip.open(LAWS, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                break
            law = json.loads(line)
            path = folder / clean_filename(law["id"] + ".md")
            if not path.exists():
                path.write_text(law["text"], encoding="utf-8")
            paths.append(path)
    return paths


def rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def query_latency(settings: Settings, embedder) -> dict:
    """Hybrid search as the API runs it, every dev question twice (first round warms up)."""
    from search.searcher import Searcher

    searcher = Searcher(settings, embedder)
    qs = questions()
    for q in qs:
        searcher.search(q, k=10)
    times = []
    for q in qs:
        started = time.perf_counter()
        searcher.search(q, k=10)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1)}


def vector_recall(store: IndexStore, embedder, k: int = 10) -> dict:
    """Recall@k of an IVF over the index's real vectors against exact search, and the
    search time of both (median over the dev questions). Below the exact limit the index
    is flat; the IVF is then built here only to measure what it would give."""
    index = store.load_faiss()
    ids = index.ids()
    exact = VectorIndex.empty(index.d)
    exact.add(ids, index.vectors(ids))
    ivf = index if index.kind == "ivf" else exact.grown(exact_limit=0)
    queries = np.stack([embedder.embed_query(q) for q in questions()])

    def timed(vi: VectorIndex) -> tuple[np.ndarray, float]:
        found, times = [], []
        for q in queries:
            started = time.perf_counter()
            found.append(vi.search(q.reshape(1, -1), k)[1][0])
            times.append(1000 * (time.perf_counter() - started))
        return np.array(found), statistics.median(times)

    want, exact_ms = timed(exact)
    got, ivf_ms = timed(ivf)
    recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, want)]))
    return {"index": index.kind, "vectors": len(ids), "ivf_lists": ivf.ivf.nlist, "ivf_probes": ivf.ivf.nprobe,
            "ivf_recall_at_10": round(recall, 4), "exact_ms": round(exact_ms, 2), "ivf_ms": round(ivf_ms, 2)}


def cold_start(settings: Settings) -> dict:
    """Seconds from starting `amtswissen serve` until /api/health answers, and its RSS
    after answering the dev questions."""
    port = 8765
    env = {**os.environ, "AMTSWISSEN_INDEX": str(settings.index), "AMTSWISSEN_PORT": str(port)}
    started = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "amtswissen"), "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 300:
                    return {"error": "Server nicht gestartet"}
                time.sleep(0.1)
        ready = time.perf_counter() - started
        first = time.perf_counter()
        for i, q in enumerate(questions()):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q={urllib.request.quote(q)}&k=10"):
                pass
            if i == 0:
                first = time.perf_counter() - first
        return {"ready_s": round(ready, 2), "first_query_s": round(first, 2), "rss_mb": round(rss_mb(proc.pid))}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def reingest_one(settings: Settings, store: IndexStore, embedder, path: Path) -> dict:
    """A changed law (one paragraph appended) into the full index: the write path's cost."""
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "\n\n## § 999 Schlussbemerkung\n\nDiese Vorschrift dient nur der Messung.\n",
                        encoding="utf-8")
        started = time.perf_counter()
        report = sync([SourceFile(path, str(path.parent), path.name)], [], store, embedder, progress=False)
        seconds = time.perf_counter() - started
    finally:
        path.write_text(original, encoding="utf-8")
    return {"seconds": round(seconds, 2), "updated": report.updated, "stages": report.to_dict()["stages"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=ROOT / "data" / "scale-index")
    parser.add_argument("--limit", type=int, default=None, help="only the first N laws")
    parser.add_argument("--batch", type=int, default=100, help="laws per ingest call")
    args = parser.parse_args()
    settings = Settings(index=args.index)
    embedder = settings.embedder()
    log_path = args.index.parent / f"scale-{args.index.name}.jsonl"

    def record(kind: str, **data) -> None:
        line = {"kind": kind, "at": time.strftime("%Y-%m-%d %H:%M:%S"), **data}
        print(json.dumps(line, ensure_ascii=False), flush=True)
        with log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")

    sources = write_sources(args.index.parent / "scale-sources", args.limit)
    record("start", laws=len(sources), embedder=embedder.id, backend=embedder.backend, precision=embedder.precision,
           threads=embedder.threads, cpu=os.cpu_count())
    store = IndexStore(args.index)
    total = IngestReport()
    from tqdm import tqdm

    pieces_before = store.db.execute("SELECT COUNT(*) FROM pieces").fetchone()[0]
    started = time.perf_counter()
    reached = {m for m in MILESTONES if pieces_before >= m}
    bar = tqdm(total=len(sources), unit="Gesetz", desc="Bundesrecht", disable=not sys.stderr.isatty())
    for i in range(0, len(sources), args.batch):
        batch = sources[i:i + args.batch]
        report = sync([SourceFile(p, str(p.parent), p.name) for p in batch], [], store, embedder,
                      settings.default_collection, settings.chunk_sizes(), progress=False, by="bench:scale")
        for name in STAGES:
            total.stages[name] += report.stages[name]
        total.added += report.added
        total.unchanged += report.unchanged
        total.chunks += report.chunks
        bar.update(len(batch))
        pieces = store.db.execute("SELECT COUNT(*) FROM pieces").fetchone()[0]
        bar.set_postfix(Stücke=pieces)
        for m in MILESTONES:
            if pieces >= m and m not in reached:
                reached.add(m)
                record("milestone", pieces=pieces, **query_latency(settings, embedder),
                       vectors=vector_recall(store, embedder))
    bar.close()
    wall = time.perf_counter() - started
    pieces = store.db.execute("SELECT COUNT(*) FROM pieces").fetchone()[0]
    embedded = total.chunks
    record("ingest", wall_s=round(wall, 1), laws_added=total.added, laws_unchanged=total.unchanged,
           pieces=pieces, pieces_embedded=embedded,
           pieces_per_s=round(embedded / wall, 1) if wall and embedded else None,
           stages={k: round(v, 1) for k, v in total.stages.items()},
           per_stage_pieces_per_s={k: round(embedded / v, 1) for k, v in total.stages.items() if v and embedded},
           peak_rss_mb=round(peak_rss_mb()), disk_mb=round(disk_mb(args.index)))
    record("final", pieces=pieces, **query_latency(settings, embedder), vectors=vector_recall(store, embedder),
           reingest=reingest_one(settings, store, embedder, sources[len(sources) // 2]))
    store.close()
    record("serve", **cold_start(settings))


if __name__ == "__main__":
    main()
