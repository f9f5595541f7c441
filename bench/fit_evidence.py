"""Fit the weights of the evidence stage (search/evidence.py) and show what it changes.

The stage's inputs are recorded as the searcher hands them over (the first ten of the
hybrid ranking with their marked sentences), on XQuAD-de and on the dev questions. A
logistic regression (standardised features, scikit-learn's default C = 1) is fitted on
the even-numbered XQuAD-de questions only; the odd-numbered ones and the dev questions
show what it does to questions it never saw. Prints the weights in the form
search/evidence.py keeps them, and Hit@1 / Hit@5 / MRR@10 with and without the stage.

    .venv/bin/python bench/fit_evidence.py --laws-index /tmp/fresh-laws --xquad-index /tmp/fresh-xquad

The indexes come from bench/quality.py (`--laws-index`, `--xquad-index`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import search.searcher as searcher_module  # noqa: E402
from amtswissen.settings import Settings  # noqa: E402
from quality import SHARED, xquad_files, xquad_questions  # noqa: E402
from search.evaluate import is_hit, load_questions  # noqa: E402
from search.searcher import Searcher  # noqa: E402

FEATURES = ("fused", "coverage", "matched", "typed")


def record(searcher: Searcher, question: str) -> list[tuple[int, list[float]]]:
    """(passage id, features) of the first ten as the evidence stage receives them, in the
    first stage's order (the stage itself is bypassed while recording)."""
    seen: list = []

    def capture(ranked, marks, top=10):
        for cid, score in ranked[:top]:
            m = marks.get(cid)
            seen.append((cid, [score, m.coverage if m else 0.0, m.score if m else 0.0, float(m.typed) if m else 0.0]))
        return ranked

    original = searcher_module.reorder
    searcher_module.reorder = capture
    try:
        searcher.search(question, 10, "hybrid", notes=False)
    finally:
        searcher_module.reorder = original
    return seen


def metrics(groups: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray | None) -> dict[str, float]:
    h1 = h5 = mrr = 0.0
    for x, y in groups:
        order = np.arange(len(y)) if weights is None else np.argsort(-(x @ weights), kind="stable")
        ranks = [i for i, j in enumerate(order, 1) if y[j]]
        if ranks:
            h1 += ranks[0] == 1
            h5 += ranks[0] <= 5
            mrr += 1 / ranks[0]
    n = len(groups)
    return {"Hit@1": h1 / n, "Hit@5": h5 / n, "MRR@10": mrr / n}


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws-index", type=Path, default=Path("data/bench-laws-index"))
    parser.add_argument("--xquad-index", type=Path, default=Path("data/bench-xquad-index"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = Settings()
    embedder = settings.embedder()

    names = xquad_files(args.xquad_index.parent / (args.xquad_index.name + "-files"))
    queries, qrels = xquad_questions()
    xquad = Searcher(settings.model_copy(update={"index": args.xquad_index}), embedder)
    xq = [record(xquad, q["question"]) for q in queries]
    # gold per candidate: the candidate's document is the gold paragraph
    with xquad.snapshot() as reader:
        groups_xq = []
        for q, rows in zip(queries, xq):
            found = reader.passages([cid for cid, _ in rows])
            y = np.array([float(names.get(Path(found[cid].document.source).name) == qrels[q["id"]]) for cid, _ in rows])
            groups_xq.append((np.array([f for _, f in rows]).reshape(-1, len(FEATURES)), y))
    laws = Searcher(settings.model_copy(update={"index": args.laws_index}), embedder)
    dev = [(q, record(laws, q["question"])) for q in load_questions(SHARED / "eval/dev.jsonl")]
    groups_dev = []
    with laws.snapshot() as reader:
        for q, rows in dev:
            found = reader.passages([cid for cid, _ in rows])
            y = np.array([float(is_hit(q, found[cid].document.source, found[cid].text)) for cid, _ in rows])
            groups_dev.append((np.array([f for _, f in rows]).reshape(-1, len(FEATURES)), y))

    train, held = groups_xq[::2], groups_xq[1::2]
    x = np.vstack([g[0] for g in train if len(g[1])])
    y = np.concatenate([g[1] for g in train if len(g[1])])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(scaler.transform(x), y)
    raw = model.coef_[0] / scaler.scale_
    weights = raw / raw[0]
    print("weights (fused = 1):", ", ".join(f"{n} {w:.4f}" for n, w in zip(FEATURES, weights)))
    for label, groups in (("XQuAD-de, held-out odd half", held), ("XQuAD-de, all", groups_xq),
                          ("dev (60)", groups_dev)):
        before, after = metrics(groups, None), metrics(groups, weights)
        print(f"{label:28} " + "  ".join(f"{k} {before[k]:.3f} → {after[k]:.3f}" for k in before))


if __name__ == "__main__":
    main()
