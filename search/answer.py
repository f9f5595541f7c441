"""The answer box: one quoted sentence above the results, only when the search is confident.

A wrong answer in a box is worse than none (staff read it as the answer), so the box
is shown only for the top result, and only when
- both retrievers put it first (the embedding model and BM25 on the German-analysed
  text) and its marked sentence holds at least `answer_min_coverage` of the question's
  words, weighted by rarity (search/highlight.py); or
- its marked sentence states what the question asks for (a duration, an amount, a
  deadline …) and holds at least ANSWER_TYPED_COVERAGE of the question's words.
A quote longer than ANSWER_MAX_WORDS (a long list, a table without sentence ends) is no
answer at a glance: no box. Calibrated on the 60 dev questions (bench/quality.py, README
„Antwortsätze“): shown for about two in five, right in nine of ten of those; on XQuAD-de,
which it was not tuned on, right in about four of five by the stricter gold-span rule.
Everything else keeps the marked sentence in its result, without a box.
"""

from __future__ import annotations

from amtswissen.settings import Settings
from search.highlight import Marked
from search.results import Answer, SearchResult

ANSWER_TYPED_COVERAGE = 0.6
ANSWER_MAX_WORDS = 80


def answer_box(results: list[SearchResult], top_marked: Marked | None, agreed_first: int | None,
               settings: Settings) -> Answer | None:
    """The top result's answering sentence as an Answer, or None when not confident."""
    if not settings.answer_box or not results or top_marked is None:
        return None
    if len(top_marked.text.split()) > ANSWER_MAX_WORDS:
        return None
    top = results[0]
    agreed = agreed_first == top.passage_id and top_marked.coverage >= settings.answer_min_coverage
    if not agreed and not (top_marked.typed and top_marked.coverage >= ANSWER_TYPED_COVERAGE):
        return None
    return Answer(text=top_marked.text, rank=top.rank, passage_id=top.passage_id, section=top.section,
                  page=top.page, document=top.document)
