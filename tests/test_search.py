"""The search modes, citations and the optional reranking stage on the real test index."""

import pytest

from search.searcher import Searcher
from tests.conftest import MODEL_DIR


@pytest.fixture(scope="module")
def searcher(settings, embedder):
    return Searcher(settings, embedder)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_every_mode_finds_the_fee(searcher, mode):
    r = searcher.search("Was kostet ein Personalausweis?", 5, mode)
    assert any(x.document.source == "pauswgebv.md" and "37" in x.text for x in r.results)


def test_citation_brings_the_cited_section_first(searcher):
    r = searcher.search("§ 6 PAuswG", 3)
    assert r.results[0].section.endswith("§ 6 Gültigkeitsdauer des Ausweises; vorzeitige Beantragung; räumliche Beschränkungen")
    r = searcher.search("Paragraph 27 PAuswG Pflichten", 3)
    assert "§ 27 Pflichten des Ausweisinhabers" in r.results[0].section


def test_colloquial_question_reaches_the_official_term(searcher):
    # "Perso" and "verloren" never occur in the law; the synonym list maps them to
    # "Personalausweis" and "Verlust, Abhandenkommen". Without it the first hits are
    # § 17 and § 6a, which say nothing about a lost card.
    r = searcher.search("Perso verloren, was tun?", 5)
    first = r.results[0]
    assert first.document.source == "pauswg.md" and "Abhandenkommen" in first.text
    assert "§ 10 Einschaltung, Sperrung" in first.section  # block the online function, report the loss


def test_typo_in_a_rare_word_still_finds_it(searcher):
    r = searcher.search("Gültigkeitsdauer Personalauswies", 3, "lexical")
    assert "§ 6 Gültigkeitsdauer" in r.results[0].section


def test_reranker_from_a_local_folder_reorders_the_top(tmp_path, settings, embedder):
    """A tiny, untrained CrossEncoder built here: the plumbing, not its judgement, is under test."""
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(str(MODEL_DIR))
    config = BertConfig(vocab_size=tok.vocab_size + 100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=1)
    folder = tmp_path / "reranker"
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    reranked = Searcher(settings.model_copy(update={"reranker": folder, "rerank_top": 5}), embedder)
    plain = Searcher(settings, embedder)
    q = "Gebühr für den Personalausweis"
    first = plain.search(q, 5)
    second = reranked.search(q, 5)
    assert {r.text for r in first.results} == {r.text for r in second.results}
    scores = CrossEncoder(str(folder), device="cpu").predict([(q, r.text) for r in second.results])
    assert list(scores) == sorted(scores, reverse=True)
    assert [r.score for r in second.results] == [round(float(s), 4) for s in scores]
