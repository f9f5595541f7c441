"""Calibrate `weak_similarity`: below which cosine of the nearest piece a question has no good
result and goes to the knowledge officers' queue (issue 15).

Answerable questions: the 60 dev questions over the laws + Meldeschein index (those whose
answer is in the first five). Questions the corpus cannot answer: every fourth XQuAD-de
question (Wikipedia topics: Super Bowl, Amazonas, Ökologie …) asked against the same
index. Prints the share of each that a threshold flags.

    .venv/bin/python bench/weak_questions.py --laws-index /tmp/fresh-laws
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from amtswissen.settings import Settings  # noqa: E402
from quality import SHARED, xquad_questions  # noqa: E402
from search.evaluate import is_hit, load_questions  # noqa: E402
from search.searcher import Searcher  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws-index", type=Path, default=Path("data/bench-laws-index"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = Settings()
    searcher = Searcher(settings.model_copy(update={"index": args.laws_index}), settings.embedder())
    found, missed = [], []
    for q in load_questions(SHARED / "eval/dev.jsonl"):
        response = searcher.search(q["question"], 5, notes=False)
        hit = any(is_hit(q, r.document.source, r.text) for r in response.results)
        (found if hit else missed).append(response.similarity)
    queries, _ = xquad_questions()
    foreign = [searcher.search(q["question"], 5, notes=False).similarity for q in queries[::4]]
    found, missed, foreign = map(np.array, (found, missed, foreign))
    print(f"answerable dev questions (answer in the first five): {len(found)}, lowest similarity {found.min():.3f}")
    print(f"dev questions whose answer is not in the first five: {len(missed)}, {np.sort(missed).round(3)}")
    print(f"XQuAD-de questions against the laws index: {len(foreign)}, median {np.median(foreign):.3f}, "
          f"95th percentile {np.percentile(foreign, 95):.3f}")
    print("\n| threshold | answerable flagged | not answered in five flagged | foreign flagged |\n|---|---|---|---|")
    for t in np.arange(0.80, 0.8751, 0.005):
        print(f"| {t:.3f} | {np.mean(found < t):.3f} | {np.mean(missed < t):.3f} | {np.mean(foreign < t):.3f} |")


if __name__ == "__main__":
    main()
