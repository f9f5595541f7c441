"""The answer box (issue 14): the top result's answering sentence, quoted with its source,
only when the search is confident; in the search response, the JSON API and the page."""

import pytest

from fastapi.testclient import TestClient

from search.searcher import Searcher
from service.api import create_app

CONFIDENT = "Wie lange ist ein Perso gültig?"
VAGUE = "Hundesteuer Ermäßigung"


@pytest.fixture(scope="module")
def searcher(settings, embedder):
    return Searcher(settings, embedder)


def test_a_confident_search_quotes_the_answering_sentence_with_its_source(searcher):
    response = searcher.search(CONFIDENT, 5)
    answer = response.answer
    assert answer is not None
    assert answer.text == "(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt."
    top = response.results[0]
    assert (answer.rank, answer.passage_id, answer.section, answer.document.id) == (
        1, top.passage_id, top.section, top.document.id)
    assert answer.section.endswith("§ 6 Gültigkeitsdauer des Ausweises; vorzeitige Beantragung; räumliche Beschränkungen")
    assert answer.text in top.text  # a quote, word for word
    assert "keine Rechtsauskunft" in answer.notice


def test_no_box_when_the_sentence_holds_little_of_the_question(searcher):
    assert searcher.search(VAGUE, 5).answer is None  # nothing in these laws is about dog tax
    # the fee list holds the amounts, but hardly the question's words: no box, the result stays marked
    # (on this two-law index the evidence stage puts § 31 PAuswG, "Kosten", before the fee list)
    response = searcher.search("Was kostet ein Personalausweis?", 5)
    fees = next(r for r in response.results if r.section.endswith("§ 1 Gebühren für Ausweise"))
    assert response.answer is None and "37 Euro" in fees.highlight


def test_the_box_can_be_switched_off(settings, embedder):
    off = Searcher(settings.model_copy(update={"answer_box": False}), embedder)
    response = off.search(CONFIDENT, 5)
    assert response.answer is None and response.results[0].highlight  # the marked sentence stays


@pytest.fixture(scope="module")
def client(settings, embedder):
    # the session's index (PAuswG, PAuswGebV, Meldeschein), readable without signing in
    with TestClient(create_app(settings.model_copy(update={"default_visibility": "oeffentlich"}), embedder)) as c:
        yield c


def test_the_api_returns_the_answer_beside_the_results(client):
    body = client.get("/api/search", params={"q": CONFIDENT}).json()
    assert body["answer"]["text"].startswith("(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren")
    assert body["answer"]["document"]["url"].startswith("/api/documents/")
    assert set(body) >= {"query", "took_ms", "results", "answer"}
    assert client.get("/api/search", params={"q": VAGUE}).json()["answer"] is None
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "Answer" in schema and "answer" in schema["SearchResponse"]["properties"]


def test_the_page_shows_the_box_above_the_results_as_a_quote(client):
    html = client.get("/", params={"q": CONFIDENT}).text
    box = html.index('class="answerbox"')
    assert box < html.index('class="results"')
    assert "Antwort aus der Quelle" in html and "<blockquote" in html
    assert "Wörtliches Zitat aus der Quelle, keine Rechtsauskunft" in html
    assert 'class="answerbox"' not in client.get("/", params={"q": VAGUE}).text


def test_every_marked_sentence_and_every_answer_is_a_piece_of_its_passage(searcher):
    for question in (CONFIDENT, "Was kostet ein Personalausweis?", "Wer muss einen Ausweis besitzen?",
                     "Meldeschein Hinweispflichten Beherbergung"):
        response = searcher.search(question, 10)
        for r in response.results:
            if r.highlight:  # a long list: its lead-in and the item, each as it stands in the passage
                assert all(part in r.text for part in r.highlight.split(" … ")), r.highlight
        if response.answer:
            assert response.answer.text == response.results[0].highlight
