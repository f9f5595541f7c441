"""Retrieval quality on a question file (format and hit rule of ../shared/eval/README.md)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from search.results import SearchResponse


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().casefold()


def is_hit(question: dict, source: str, text: str) -> bool:
    """Right document (by file name) and the passage contains one of the answer phrases."""
    if PurePosixPath(source).name != question["doc"]:
        return False
    body = _norm(text)
    return any(_norm(p) in body for p in question["answer_contains"])


def marks_answer(question: dict, highlight: str | None) -> bool:
    """The marked sentence contains one of the answer phrases (same normalisation as the hit rule)."""
    if not highlight:
        return False
    marked = _norm(highlight)
    return any(_norm(p) in marked for p in question["answer_contains"])


@dataclass
class QuestionOutcome:
    id: str
    question: str
    first_hit_rank: int | None  # 1-based, None when not in the list
    top_source: str | None
    top_section: str | None
    marked_answer: bool | None = None  # the first hit passage's marked sentence holds the answer (None: no hit)


@dataclass
class EvalReport:
    k: int
    n: int = 0
    hit_at: dict[int, float] = field(default_factory=dict)
    mrr_at_10: float = 0.0
    # answer sentences: of the questions whose answering passage was found, the share whose
    # marked sentence (highlight) holds an answer phrase; and the share of all questions whose
    # top result is a hit with the answer marked (issue 14)
    highlight_precision: float = 0.0
    answer_at_1: float = 0.0
    # the answer box: the share of questions it is shown for, and of those the share where it
    # quotes a hit passage (right document, answer in the passage) with the answer phrase
    answer_box_shown: float = 0.0
    answer_box_right: float = 0.0
    by_group: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    questions: list[QuestionOutcome] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "k": self.k,
            "hit@1": self.hit_at.get(1),
            "hit@5": self.hit_at.get(5),
            "hit@10": self.hit_at.get(10),
            "mrr@10": self.mrr_at_10,
            "highlight_precision": self.highlight_precision,
            "answer@1": self.answer_at_1,
            "answer_box_shown": self.answer_box_shown,
            "answer_box_right": self.answer_box_right,
            "by": self.by_group,
            "questions": [q.__dict__ for q in self.questions],
        }


def load_questions(path: Path) -> list[dict]:
    questions = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        q = json.loads(line)
        for key in ("question", "doc", "answer_contains"):
            if key not in q:
                raise ValueError(f"Zeile {n}: Feld '{key}' fehlt")
        questions.append(q)
    return questions


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "hit@1": round(sum(1 for r in ranks if r and r <= 1) / n, 4),
        "hit@5": round(sum(1 for r in ranks if r and r <= 5) / n, 4),
        "hit@10": round(sum(1 for r in ranks if r and r <= 10) / n, 4),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4),
    }


def evaluate(questions: list[dict], search: Callable[[str, int], SearchResponse], k: int = 10) -> EvalReport:
    report = EvalReport(k=k)
    ranks: list[int | None] = []
    marked: list[bool] = []
    answered_first = 0
    boxes: list[bool] = []
    groups: dict[str, dict[str, list[int | None]]] = defaultdict(lambda: defaultdict(list))
    for q in questions:
        response = search(q["question"], max(k, 10))
        # a question answered by a task note is looked up in the notes list (ranked among
        # the notes only); every other question in the documents list, as before notes existed
        lane = response.results
        hit = next((r for r in lane if is_hit(q, r.document.source, r.text)), None)
        if hit is None:
            lane = response.notes
            hit = next((r for r in lane if is_hit(q, r.document.source, r.text)), None)
        rank = hit.rank if hit is not None else None
        ranks.append(rank)
        if hit is not None:
            marked.append(marks_answer(q, hit.highlight))
            answered_first += rank == 1 and marked[-1]
        if response.answer is not None:
            quoted = next((r for r in response.results if r.passage_id == response.answer.passage_id), None)
            boxes.append(quoted is not None and is_hit(q, quoted.document.source, quoted.text)
                         and marks_answer(q, response.answer.text))
        for key in ("style", "difficulty"):
            if key in q:
                groups[key][q[key]].append(rank)
        top = response.results[0] if response.results else None
        report.questions.append(
            QuestionOutcome(q.get("id", ""), q["question"], rank, top.document.source if top else None,
                            top.section if top else None, marked[-1] if hit is not None else None)
        )
    m = _metrics(ranks)
    report.n = len(ranks)
    report.hit_at = {1: m["hit@1"], 5: m["hit@5"], 10: m["hit@10"]}
    report.mrr_at_10 = m["mrr@10"]
    report.highlight_precision = round(sum(marked) / len(marked), 4) if marked else 0.0
    report.answer_at_1 = round(answered_first / len(ranks), 4) if ranks else 0.0
    report.answer_box_shown = round(len(boxes) / len(ranks), 4) if ranks else 0.0
    report.answer_box_right = round(sum(boxes) / len(boxes), 4) if boxes else 0.0
    report.by_group = {key: {v: _metrics(r) for v, r in sorted(vals.items())} for key, vals in groups.items()}
    return report
