"""The evidence stage (issue 14, ranking): the first ten of the hybrid ranking re-ordered by
how well each passage's best sentence answers (search/evidence.py)."""

import pytest

from search.evidence import EVIDENCE_TOP, evidence_score, reorder
from search.highlight import Question, mark
from search.searcher import Searcher
from tests.test_highlight import _law_passage


def test_the_passage_whose_sentence_answers_comes_before_a_slightly_closer_one():
    # dev q111 over the laws index: fusion put § 24 PStG (Findelkind, 0.948) before § 18 PStG
    # (0.907); only § 18 says by when a birth must be reported ("binnen einer Woche")
    question = Question.read("Bis wann muss eine Geburt beim Standesamt gemeldet werden?")
    marks = {24: mark(question, _law_passage("pstg.md", "§ 24 Findelkind")),
             18: mark(question, _law_passage("pstg.md", "§ 18 Anzeige"))}
    assert marks[18].typed and not marks[24].typed
    assert [cid for cid, _ in reorder([(24, 0.948), (18, 0.907)], marks)] == [18, 24]


def test_a_clearly_closer_passage_stays_first():
    question = Question.read("Bis wann muss eine Geburt beim Standesamt gemeldet werden?")
    marks = {24: mark(question, _law_passage("pstg.md", "§ 24 Findelkind")),
             18: mark(question, _law_passage("pstg.md", "§ 18 Anzeige"))}
    assert [cid for cid, _ in reorder([(24, 0.95), (18, 0.6)], marks)] == [24, 18]


def test_only_the_head_moves_and_scores_keep_falling():
    question = Question.read("Wie lange ist ein Reisepass gültig?")
    answering = mark(question, _law_passage("passg_1986.md", "§ 5 Gültigkeitsdauer"))
    ranked = [(i, 1.0 - i / 100) for i in range(EVIDENCE_TOP + 5)]
    out = reorder(ranked, {EVIDENCE_TOP - 1: answering})
    assert out[0][0] == EVIDENCE_TOP - 1  # the one passage whose sentence answers rises
    assert out[EVIDENCE_TOP:] == ranked[EVIDENCE_TOP:]  # below the head nothing moves
    scores = [s for _, s in out]
    assert scores == sorted(scores, reverse=True)
    assert evidence_score(0.5, None) == 0.5  # a passage without a marked sentence keeps its fused score


@pytest.fixture(scope="module")
def searchers(settings, embedder):
    return (Searcher(settings, embedder),
            Searcher(settings.model_copy(update={"evidence_rerank": False}), embedder))


QUESTIONS = ["Wie lange ist ein Perso gültig?", "Was kostet der Personalausweis für Jugendliche?",
             "Darf ich mir die PIN hinten auf den Ausweis schreiben?", "Ausweis verloren was tun"]


@pytest.mark.parametrize("query", QUESTIONS)
def test_the_stage_reorders_the_first_ten_of_the_hybrid_ranking_only(searchers, query):
    on, off = searchers
    with_stage = on.search(query, 10)
    scores = [r.score for r in with_stage.results]
    assert scores == sorted(scores, reverse=True)
    # a shorter list is the head of the longer one: the stage always sees the first ten
    assert [r.passage_id for r in on.search(query, 3).results] == [r.passage_id for r in with_stage.results[:3]]
    # dense and lexical rankings are left as they are (the weights fit the fused score's scale)
    for mode in ("dense", "lexical"):
        assert ([r.passage_id for r in on.search(query, 10, mode).results]
                == [r.passage_id for r in off.search(query, 10, mode).results])
