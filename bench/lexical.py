"""The segmented lexical index against a full rebuild, side by side on one index's passages:
cost of a one-document change (new segment vs. rebuilding everything, as before issue 10),
query time (segments scored at query time vs. bm25s' precomputed scores, the previous
implementation), and agreement of the top 10.

    .venv/bin/python bench/lexical.py [--index data/bench-laws-index] [--rounds 5]

The index must exist (bench/quality.py builds data/bench-laws-index).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.lexical import EMPTY, B, K1, LexicalIndex  # noqa: E402
from index.local import IndexStore  # noqa: E402
from search.query import QueryParser, Synonyms  # noqa: E402
from amtswissen.settings import Settings  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def median_seconds(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=ROOT / "data" / "bench-laws-index")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    store = IndexStore(args.index, create=False)
    rows = store._lexical_rows()
    doc = store.db.execute("SELECT doc_id, COUNT(*) n FROM chunks GROUP BY doc_id ORDER BY n DESC LIMIT 1 OFFSET 5").fetchone()
    changed = store._lexical_rows(doc_ids=[doc["doc_id"]])
    changed_ids = {c for c, _ in changed}
    rest = [r for r in rows if r[0] not in changed_ids]
    new = [(10_000_000 + c, t + " Ergänzung") for c, t in changed]
    print(f"{len(rows)} Abschnitte; geändert wird ein Dokument mit {len(changed)} Abschnitten, {args.rounds} Runden")

    base = LexicalIndex.build(rest + changed)
    rebuild = median_seconds(lambda: LexicalIndex.build(rest + new), args.rounds)
    update = median_seconds(lambda: base.updated(new, changed), args.rounds)
    print(f"  Änderung: Neubau {rebuild:.2f} s, Segment {update * 1000:.0f} ms ({rebuild / update:.0f}× schneller)")

    current = base.updated(new, changed)
    fresh = LexicalIndex.build(rest + new)
    import bm25s

    reference = bm25s.BM25(k1=K1, b=B)
    reference.index([fresh.analyzer.terms(t) or [EMPTY] for _, t in rest + new], show_progress=False)
    data, indices, indptr = (reference.scores[k] for k in ("data", "indices", "indptr"))

    def bm25s_scores(terms: dict[str, float]) -> np.ndarray:  # the loop the index ran before
        out = np.zeros(len(rest) + len(new), dtype=np.float32)
        for term, weight in terms.items():
            tid = reference.vocab_dict.get(term)
            if tid is not None:
                np.add.at(out, indices[indptr[tid]:indptr[tid + 1]], weight * data[indptr[tid]:indptr[tid + 1]])
        return out

    parser_ = QueryParser(Synonyms(Settings().synonyms))
    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [parser_.parse(q, current).terms for q in questions]
    seg_ms = 1000 * median_seconds(lambda: [current.scores(q) for q in queries], args.rounds) / len(queries)
    old_ms = 1000 * median_seconds(lambda: [bm25s_scores(q) for q in queries], args.rounds) / len(queries)
    overlap = []
    for q in queries:
        a = {h.chunk_id for h in current.search(q, 10)}
        b = {h.chunk_id for h in fresh.search(q, 10)}
        overlap.append(len(a & b) / max(len(a | b), 1) if a or b else 1.0)
    print(f"  Anfrage (BM25 allein, Median je Frage): Segmente {seg_ms:.2f} ms, bm25s vorberechnet {old_ms:.2f} ms")
    print(f"  Top 10 nach der Änderung gleich dem Neubau: Jaccard Mittel {np.mean(overlap):.3f}, "
          f"gleich bei {sum(o == 1.0 for o in overlap)}/{len(overlap)} Fragen")
    store.close()


if __name__ == "__main__":
    main()
