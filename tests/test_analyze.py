from text.analyze import Analyzer, analyze, fold
from text.compounds import CompoundSplitter


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


def test_participles_and_zu_infinitives_meet_the_infinitive():
    vocab = {"melden": 9, "anmelden": 5, "meldet": 3, "gericht": 7, "richten": 2}
    a = Analyzer(CompoundSplitter(vocab))
    assert set(analyze("melden")) <= set(a.terms("gemeldet"))
    assert set(analyze("anmelden")) <= set(a.terms("anzumelden"))
    # a capitalised noun is not a participle: "Gericht" is not ge+richt
    assert a.terms("Gericht") == analyze("Gericht")


def test_stopwords_are_checked_before_umlaut_folding():
    # "ändern" folds to "andern", which is also a form of the stopword "ander"
    assert analyze("ändern") == analyze("Ändern") != []
    assert analyze("für fuer über ueber") == []
