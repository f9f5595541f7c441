"""Would sentence vectors pay for themselves? Gain in answer sentences against ingest cost.

    .venv/bin/python bench/sentence_vectors.py [--laws-index DIR] [--xquad-index DIR]

Uses the indexes bench/quality.py builds. For every question whose answering passage is
found (dev questions by the hit rule, XQuAD-de by the gold passage), the passage's
sentences are embedded here and the marked sentence chosen twice: by the question's
words alone (what a search does) and with the embedding model's cosine added
(search.highlight.mark's `similarity`). Printed: highlight precision both ways, and
what embedding every sentence at ingest would cost on the laws index: sentences
against pieces, and the time to embed a sample of each, side by side.
"""

from __future__ import annotations

import argparse
import logging
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402
from bench.quality import SHARED, xquad_files, xquad_questions  # noqa: E402
from search.evaluate import is_hit, load_questions, marks_answer  # noqa: E402
from search.highlight import Question, mark, sentences_of  # noqa: E402
from search.searcher import Searcher  # noqa: E402


def compare(searcher: Searcher, questions: list[dict], found) -> tuple[int, int, int]:
    """(questions with the passage found, marked right by words, marked right with cosine)."""
    embedder = searcher.embedder
    n = by_words = with_cosine = 0
    for q in questions:
        hit = next((r for r in searcher.search(q["question"], 10).results if found(q, r)), None)
        if hit is None:
            continue
        with searcher.snapshot() as reader:
            parsed = searcher.parser.parse(q["question"], reader.lexicon)
            question = Question.read(q["question"], reader.lexicon.analyzer, reader.lexicon.rarity, parsed.expansions)
        sentences = sentences_of(hit.text)
        cosine = (embedder.embed_passages(sentences, progress=False) @ embedder.embed_query(parsed.dense_text)).tolist()
        plain, dense = mark(question, hit.text), mark(question, hit.text, similarity=cosine)
        n += 1
        by_words += marks_answer(q, plain.text if plain else None)
        with_cosine += marks_answer(q, dense.text if dense else None)
    return n, by_words, with_cosine


def embed_seconds(embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.embed_passages(texts, progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--laws-index", type=Path, default=ROOT / "data" / "bench-laws-index")
    parser.add_argument("--xquad-index", type=Path, default=ROOT / "data" / "bench-xquad-index")
    parser.add_argument("--sample", type=int, default=400, help="texts per kind for the embedding time")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = Settings()
    embedder = settings.embedder()

    laws = Searcher(settings.model_copy(update={"index": args.laws_index}), embedder)
    dev = compare(laws, load_questions(SHARED / "eval/dev.jsonl"), lambda q, r: is_hit(q, r.document.source, r.text))
    names = xquad_files(args.xquad_index.with_name(args.xquad_index.name + "-files"))
    xquad_qs, qrels = xquad_questions()
    xquad = Searcher(settings.model_copy(update={"index": args.xquad_index}), embedder)
    xq = compare(xquad, xquad_qs, lambda q, r: names.get(Path(r.document.source).name) == qrels[q["id"]])

    print("| set | passages found | highlight precision, words | with sentence cosine |")
    print("|---|---|---|---|")
    for name, (n, words, cosine) in (("dev", dev), ("XQuAD-de", xq)):
        print(f"| {name} | {n} | {words / n:.3f} | {cosine / n:.3f} |")

    db = sqlite3.connect(f"file:{args.laws_index / 'amtswissen.sqlite'}?mode=ro", uri=True)
    passages = [r[0] for r in db.execute("SELECT text FROM chunks")]
    pieces = db.execute("SELECT COUNT(*) FROM pieces").fetchone()[0]
    db.close()
    sentences = [s for text in passages for s in sentences_of(text)]
    rng = random.Random(14)
    sample_sentences = rng.sample(sentences, min(args.sample, len(sentences)))
    # pieces as embedded: up to piece_words words of a passage (without the title in front)
    words = [w for text in rng.sample(passages, min(args.sample, len(passages))) for w in [text.split()]]
    sample_pieces = [" ".join(w[: settings.piece_words]) for w in words]
    runs = [(embed_seconds(embedder, sample_pieces), embed_seconds(embedder, sample_sentences)) for _ in range(3)]
    per_piece = statistics.median(p for p, _ in runs) / len(sample_pieces)
    per_sentence = statistics.median(s for _, s in runs) / len(sample_sentences)
    print(f"\nlaws index: {len(passages)} passages, {pieces} pieces, {len(sentences)} sentences")
    print(f"embedding (median of 3 runs over {len(sample_pieces)} texts each): {1000 * per_piece:.1f} ms per piece, "
          f"{1000 * per_sentence:.1f} ms per sentence")
    print(f"ingest embedding time: pieces {pieces * per_piece:.0f} s, sentences in addition "
          f"{len(sentences) * per_sentence:.0f} s (+{100 * len(sentences) * per_sentence / (pieces * per_piece):.0f} %)")


if __name__ == "__main__":
    main()
