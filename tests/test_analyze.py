from ingest.analyze import Analyzer, analyze, fold
from ingest.compounds import CompoundSplitter


def test_umlaut_digraph_and_sharp_s_folding_meet():
    assert analyze("Führerschein") == analyze("Fuehrerschein") == analyze("FÜHRERSCHEINE")
    assert analyze("Straße") == analyze("Strasse")
    assert fold("Größe") == "grosse"


def test_stopwords_and_question_words_dropped():
    assert analyze("Wie lange ist der Ausweis gültig?") == analyze("Ausweis gültig")


def test_hyphenated_compound_split_and_joined():
    terms = analyze("Melde-Register")
    assert analyze("Melderegister")[0] in terms
    assert analyze("Melde")[0] in terms and analyze("Register")[0] in terms


def test_compound_parts_added_with_a_splitter():
    vocab = {"wohnsitz": 5, "anmeldung": 40, "wohnung": 60, "einer": 99}
    a = Analyzer(CompoundSplitter(vocab))
    query = set(a.terms("Wohnsitzanmeldung"))
    doc = set(a.terms("Anmeldung einer Wohnung"))
    assert analyze("Anmeldung")[0] in query & doc
