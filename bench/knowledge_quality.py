"""Released notes in the index: do they disturb the law questions, do they answer the
procedure questions, and how should they be ranked? Side by side in one run.

    .venv/bin/python bench/knowledge_quality.py [--laws-index DIR]

- the laws + Meldeschein index of bench/quality.py (built there; reused here) is
  copied, and the demo Bürgerbüro (data/wissen: 8 tasks, 6 released notes) is set
  up in the copy by the real import and release;
- dev questions (../shared/eval/dev.jsonl) and the procedure questions of the demo
  notes (data/wissen/fragen.jsonl, same hit rule: the note's file and an answer
  phrase of the named section): Hit@1/5 and MRR@10 per mode
  - without notes (the laws index as it is),
  - with notes in their own list (what the service does; search/searcher.py),
  - with notes in one mixed list, with a boost of 0 … 0.2 added to their scores
    (the boost re-sorts the top 40 of the mixed list);
- how often the notes list is shown (the gate) for dev and procedure questions,
  and the search latency with and without the notes list.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from access.service import AccessService  # noqa: E402
from amtswissen.settings import Settings  # noqa: E402
from index.base import NOTE_ROOT  # noqa: E402
from knowledge.demo import install_demo  # noqa: E402
from knowledge.service import Knowledge  # noqa: E402
from knowledge.store import KnowledgeStore  # noqa: E402
from search.evaluate import evaluate, load_questions  # noqa: E402
from search.results import SearchResponse  # noqa: E402
from search.searcher import MODES, Searcher  # noqa: E402

SHARED = ROOT.parent / "shared"
BOOSTS = (0.0, 0.05, 0.1, 0.2)
SECTION_BOOSTS = (0.0, 0.05, 0.1, 0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--laws-index", type=Path, default=ROOT / "data" / "bench-laws-index")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if not (args.laws_index / "amtswissen.sqlite").exists():
        raise SystemExit(f"{args.laws_index} fehlt: erst bench/quality.py laufen lassen")
    settings = Settings()
    embedder = settings.embedder()
    dev = load_questions(SHARED / "eval/dev.jsonl")
    procedure = load_questions(ROOT / "data/wissen/fragen.jsonl")
    held_out = load_questions(ROOT / "data/wissen/fragen-zurueckgehalten.jsonl")

    with tempfile.TemporaryDirectory() as tmp:
        notes_index = Path(tmp) / "laws-notes"
        shutil.copytree(args.laws_index, notes_index)
        with_notes = settings.model_copy(update={"index": notes_index})
        access = AccessService.from_settings(with_notes)
        searcher = Searcher(with_notes, embedder)
        knowledge = Knowledge(KnowledgeStore(access.store.db), access, searcher.backend, embedder, with_notes)
        report = install_demo(knowledge)
        print(f"demo: {report.tasks_added} tasks, {report.released} notes released, problems: {report.problems}")
        searcher.backend.close()
        access.close()

        plain = Searcher(settings.model_copy(update={"index": args.laws_index}), embedder)
        lanes = Searcher(with_notes, embedder)
        rows, sections = [], []
        for mode in MODES:
            rows.append(("ohne Notizen", mode, evaluate(dev, lambda q, k: plain.search(q, k, mode)), None, None))
            d = evaluate(dev, lambda q, k: lanes.search(q, k, mode))
            p = evaluate(procedure + held_out, lambda q, k: lanes.search(q, k, mode))
            shown = (sum(bool(lanes.search(q["question"], 10, mode).notes) for q in dev),
                     sum(bool(lanes.search(q["question"], 10, mode).notes) for q in procedure + held_out))
            rows.append(("Notizen als eigene Liste", mode, d, p, shown))
        deep = {q["question"]: lanes.search(q["question"], 40, "hybrid", notes=False).results
                for q in dev + procedure + held_out}
        for boost in BOOSTS:
            def mixed(q: str, k: int, boost: float = boost) -> SearchResponse:
                found = sorted(deep[q], key=lambda r: -(r.score + (boost if _is_note(lanes, r.document.id) else 0)))
                return SearchResponse(query=q, took_ms=0, results=[r.model_copy(update={"rank": i})
                                                                   for i, r in enumerate(found[:k], 1)])
            rows.append((f"eine Liste, note_boost {boost:g}", "hybrid", evaluate(dev, mixed),
                         evaluate(procedure + held_out, mixed), None))
        for boost in SECTION_BOOSTS:
            s = Searcher(with_notes.model_copy(update={"note_section_boost": boost}), embedder)
            sections.append((boost, evaluate(procedure, lambda q, k: s.search(q, k)),
                             evaluate(held_out, lambda q, k: s.search(q, k))))
        p50_lanes, p95_lanes = latency(lanes, [q["question"] for q in dev], True)
        p50_one, p95_one = latency(lanes, [q["question"] for q in dev], False)

    print(f"\nVerfahren: the {len(procedure)} + {len(held_out)} procedure questions (both sets); in the notes list "
          "Hit@5 means within its 3 places")
    print("\n| Rangfolge | Modus | dev Hit@1 | dev Hit@5 | dev MRR@10 | Verfahren Hit@1 | Verfahren Hit@5 "
          "| Verfahren MRR@10 | Notizliste gezeigt (dev / Verfahren) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, mode, d, p, shown in rows:
        proc = (f"{p.hit_at[1]:.3f} | {p.hit_at[5]:.3f} | {p.mrr_at_10:.3f}" if p else "– | – | –")
        seen = f"{shown[0]}/{len(dev)} / {shown[1]}/{len(procedure) + len(held_out)}" if shown else "–"
        print(f"| {name} | {mode} | {d.hit_at[1]:.3f} | {d.hit_at[5]:.3f} | {d.mrr_at_10:.3f} | {proc} | {seen} |")
    print("\nthe notes list, hybrid, by the boost for the section of the asked-for kind (search/intent.py):")
    print(f"\n| note_section_boost | Verfahren ({len(procedure)}) Hit@1 | Hit@3 | MRR | zurückgehalten ({len(held_out)}) "
          "Hit@1 | Hit@3 | MRR |")
    print("|---|---|---|---|---|---|---|")
    for boost, p, h in sections:
        print(f"| {boost:g} | {p.hit_at[1]:.3f} | {p.hit_at[5]:.3f} | {p.mrr_at_10:.3f} | {h.hit_at[1]:.3f} | "
              f"{h.hit_at[5]:.3f} | {h.mrr_at_10:.3f} |")
    print(f"\nlatency hybrid over the dev questions, laws + notes index: with the notes list p50 {p50_lanes:.0f} ms "
          f"p95 {p95_lanes:.0f} ms; one list p50 {p50_one:.0f} ms p95 {p95_one:.0f} ms")
    print("\nprocedure questions not answered at rank 1 of the notes list (hybrid, settings as configured):")
    for q in next(r for r in rows if r[0] == "Notizen als eigene Liste" and r[1] == "hybrid")[3].questions:
        if q.first_hit_rank != 1:
            print(f"  {q.id} rank {q.first_hit_rank}: {q.question}")
    print(json.dumps({"dev": len(dev), "procedure": len(procedure)}))


def latency(searcher: Searcher, questions: list[str], notes: bool) -> tuple[float, float]:
    searcher.search(questions[0], 10, notes=notes)  # warm
    times = []
    for _ in range(3):
        for q in questions:
            t = time.perf_counter()
            searcher.search(q, 10, notes=notes)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def _is_note(searcher: Searcher, doc_id: str) -> bool:
    with searcher.snapshot() as reader:
        doc = reader.document(doc_id)
    return doc is not None and doc.root.startswith(NOTE_ROOT)


if __name__ == "__main__":
    main()
