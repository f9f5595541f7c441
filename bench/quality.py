"""Retrieval quality and latency, side by side in one run.

    .venv/bin/python bench/quality.py [--laws-index DIR] [--xquad-index DIR]

- dev questions (../shared/eval/dev.jsonl) over ../shared/corpus/laws plus the
  Meldeschein PDF: Hit@1/5/10 and MRR@10 per mode (dense, lexical, hybrid);
- XQuAD-de (../shared/eval/xquad-de): the 240 passages, text only (as MTEB),
  each written to a file and ingested by the real pipeline; nDCG@10 per mode;
- search latency p50/p95 per mode over the laws index (model loaded, warm).

Index folders that already exist are reused (ingest skips unchanged files), so
a second run only measures.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402
from index.local import IndexStore  # noqa: E402
from models.embedder import Embedder  # noqa: E402
from search.evaluate import evaluate, load_questions, marks_answer  # noqa: E402
from search.searcher import MODES, Searcher  # noqa: E402

SHARED = ROOT.parent / "shared"


def build(index: Path, sources: list[Path], embedder: Embedder, settings: Settings) -> dict:
    store = IndexStore(index)
    try:
        return ingest(sources, store, embedder, sizes=settings.chunk_sizes(), progress=False).to_dict()
    finally:
        store.close()


def xquad_files(folder: Path) -> dict[str, str]:
    """Write each passage to its own text file; returns file name → passage id."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for n, line in enumerate((SHARED / "eval/xquad-de/corpus.jsonl").read_text(encoding="utf-8").splitlines()):
        doc = json.loads(line)
        name = f"p{n:03d}.txt"
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != doc["text"]:
            path.write_text(doc["text"], encoding="utf-8")
        names[name] = doc["id"]
    return names


def xquad_questions() -> tuple[list[dict], dict[str, str]]:
    """The XQuAD-de questions as eval questions (gold answer spans as `answer_contains`) and
    the gold passage of each (question id → passage id)."""
    gold = {a["id"]: a["answers"] for a in map(json.loads, (SHARED / "eval/xquad-de/answers.jsonl").read_text(
        encoding="utf-8").splitlines())}
    qrels = {}
    for line in (SHARED / "eval/xquad-de/qrels.tsv").read_text().splitlines()[1:]:
        qid, did, rel = line.split("\t")
        if int(rel) > 0:
            qrels[qid] = did
    questions = [{"id": q["id"], "question": q["text"], "answer_contains": gold[q["id"]]}
                 for q in map(json.loads, (SHARED / "eval/xquad-de/queries.jsonl").read_text().splitlines())]
    return questions, qrels


def ndcg_at_10(searcher: Searcher, mode: str, names: dict[str, str]) -> dict[str, float]:
    """nDCG@10, and for the answer sentences (gold spans of answers.jsonl): the share of found
    gold passages whose marked sentence holds the gold answer, answer@1 (top result is the
    gold passage with the answer marked), and how often the answer box is shown and right."""
    queries, qrels = xquad_questions()
    total, found, marked, first, shown, right = 0.0, 0, 0, 0, 0, 0
    for q in queries:
        ranked: list[str] = []
        response = searcher.search(q["question"], 10, mode)
        results = response.results
        for r in results:
            pid = names.get(Path(r.document.source).name)
            if pid not in ranked:
                ranked.append(pid)
        answer = q
        if response.answer is not None:
            shown += 1
            right += (names.get(Path(response.answer.document.source).name) == qrels[q["id"]]
                      and marks_answer(answer, response.answer.text))
        if qrels[q["id"]] in ranked:
            total += 1 / math.log2(ranked.index(qrels[q["id"]]) + 2)
            hit = next(r for r in results if names.get(Path(r.document.source).name) == qrels[q["id"]])
            found += 1
            marked += marks_answer(answer, hit.highlight)
            first += hit is results[0] and marks_answer(answer, hit.highlight)
    return {"xquad_ndcg@10": total / len(queries), "xquad_hl": marked / max(found, 1), "xquad_a1": first / len(queries),
            "xquad_box_shown": shown / len(queries), "xquad_box_right": right / max(shown, 1)}


def latency(searcher: Searcher, mode: str, questions: list[str]) -> tuple[float, float]:
    searcher.search(questions[0], 10, mode)  # warm
    times = []
    for q in questions:
        t = time.perf_counter()
        searcher.search(q, 10, mode)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--laws-index", type=Path, default=ROOT / "data" / "bench-laws-index")
    parser.add_argument("--xquad-index", type=Path, default=ROOT / "data" / "bench-xquad-index")
    parser.add_argument("--skip-xquad", action="store_true")
    parser.add_argument("--no-ingest", action="store_true", help="measure on the laws index as it is")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = Settings()
    embedder = settings.embedder()

    if not args.no_ingest:
        t = time.perf_counter()
        sources = [SHARED / "corpus/laws", SHARED / "corpus/pdfs/de_meldeschein_hinweispflichten.pdf"]
        report = build(args.laws_index, sources, embedder, settings)
        print(f"laws index: {report['added'] + report['updated']} ingested, {report['unchanged']} unchanged, "
              f"{report['chunks']} pieces embedded, {time.perf_counter() - t:.0f} s")
    questions = load_questions(SHARED / "eval/dev.jsonl")
    laws = Searcher(settings.model_copy(update={"index": args.laws_index}), embedder)

    rows = {}
    for mode in MODES:
        r = evaluate(questions, lambda q, k: laws.search(q, k, mode))
        p50, p95 = latency(laws, mode, [q["question"] for q in questions])
        rows[mode] = {"hit@1": r.hit_at[1], "hit@5": r.hit_at[5], "hit@10": r.hit_at[10], "mrr@10": r.mrr_at_10,
                      "hl": r.highlight_precision, "a1": r.answer_at_1, "box_shown": r.answer_box_shown,
                      "box_right": r.answer_box_right, "p50_ms": p50, "p95_ms": p95}

    if not args.skip_xquad:
        names = xquad_files(args.xquad_index.with_name(args.xquad_index.name + "-files"))
        t = time.perf_counter()
        report = build(args.xquad_index, [args.xquad_index.with_name(args.xquad_index.name + "-files")], embedder,
                       settings)
        print(f"xquad index: {report['added'] + report['updated']} ingested, {report['chunks']} pieces embedded, "
              f"{time.perf_counter() - t:.0f} s")
        xquad = Searcher(settings.model_copy(update={"index": args.xquad_index}), embedder)
        for mode in MODES:
            rows[mode].update(ndcg_at_10(xquad, mode, names))

    print("\n| mode | dev Hit@1 | dev Hit@5 | dev Hit@10 | dev MRR@10 | XQuAD-de nDCG@10 | latency p50 | p95 |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, m in rows.items():
        x = f"{m['xquad_ndcg@10']:.3f}" if "xquad_ndcg@10" in m else "–"
        print(f"| {mode} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['hit@10']:.3f} | {m['mrr@10']:.3f} | {x} | "
              f"{m['p50_ms']:.0f} ms | {m['p95_ms']:.0f} ms |")
    print("\nanswer sentences (the marked sentence holds an answer phrase / the gold answer):")
    print("\n| mode | dev highlight precision | dev answer@1 | dev box shown / right | XQuAD-de highlight precision "
          "| XQuAD-de answer@1 | XQuAD-de box shown / right |")
    print("|---|---|---|---|---|---|---|")
    for mode, m in rows.items():
        xh = (f"{m['xquad_hl']:.3f} | {m['xquad_a1']:.3f} | {m['xquad_box_shown']:.3f} / {m['xquad_box_right']:.3f}"
              if "xquad_hl" in m else "– | – | –")
        print(f"| {mode} | {m['hl']:.3f} | {m['a1']:.3f} | {m['box_shown']:.3f} / {m['box_right']:.3f} | {xh} |")
    print(f"\nsettings: fusion={settings.fusion}, lexical_weight={settings.lexical_weight}, "
          f"passage/piece/overlap words={settings.passage_words}/{settings.piece_words}/{settings.overlap_words}")


if __name__ == "__main__":
    main()
