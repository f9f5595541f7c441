"""Query understanding on the real lexical index of the test corpus."""

import pytest

from text.analyze import analyze
from index.lexical import LexicalIndex
from index.local import IndexStore
from search.query import Citation, QueryParser, Synonyms, everyday_weight, parse_citations, section_pattern
from amtswissen.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def lexical(index_dir):
    return IndexStore(index_dir).load_lexical()


@pytest.fixture(scope="module")
def parser():
    return QueryParser(Synonyms(PROJECT_ROOT / "data" / "synonyme.txt"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("§ 17 BMG", [Citation("§", "17", "BMG")]),
        ("§17 Abs. 2", [Citation("§", "17", None)]),
        ("Was steht in Paragraph 6 PAuswG?", [Citation("§", "6", "PAuswG")]),
        ("Art. 3", [Citation("Art", "3", None)]),
        ("§ 23a Abs. 1 Satz 2 des BMG", [Citation("§", "23a", "BMG")]),
        ("Perso verloren", []),
    ],
)
def test_citations_are_parsed(text, expected):
    assert parse_citations(text) == expected


def test_section_pattern_matches_the_heading_not_a_longer_number():
    p = section_pattern(Citation("§", "6", None))
    assert p.search("Abschnitt 1 - Allgemeine Vorschriften > § 6 Gültigkeitsdauer des Ausweises")
    assert not p.search("Abschnitt 1 > § 6a Versagung und Entziehung")
    assert not p.search("Abschnitt 2 > § 16 (weggefallen)")


def test_synonyms_stand_in_for_words_the_documents_never_use(parser, lexical):
    assert "perso" not in lexical.terms
    parsed = parser.parse("Perso verloren", lexical)
    assert "Personalausweis" in parsed.expansions
    assert parsed.terms[analyze("Personalausweis")[0]] == 1.0
    assert parsed.dense_text.startswith("Personalausweis ")  # read in place of "Perso"


def test_synonyms_of_known_words_only_add(parser, lexical):
    assert analyze("Ausweis")[0] in lexical.terms
    parsed = parser.parse("Ausweis abholen", lexical)
    assert parsed.terms[analyze("Ausweis")[0]] == 1.0
    assert parsed.terms[analyze("Personalausweis")[0]] < 1.0  # the expansion weighs less than the question
    # the embedding model reads the known word as typed, with no list of official terms appended
    assert parsed.dense_text.startswith("Ausweis ") and "Personalausweis" not in parsed.dense_text


def test_synonym_list_is_reread_when_edited(tmp_path, lexical):
    path = tmp_path / "syn.txt"
    path.write_text("ausweis = Reisedokument\n", encoding="utf-8")
    syn = Synonyms(path)
    assert syn.expansions(set(analyze("Ausweis"))) == ["Reisedokument"]
    path.write_text("ausweis = Reisedokument\n# Kommentar\nstempel = Siegel, Dienstsiegel\n", encoding="utf-8")
    import os
    os.utime(path, (path.stat().st_mtime + 5, path.stat().st_mtime + 5))
    assert syn.expansions(set(analyze("Stempel"))) == ["Siegel", "Dienstsiegel"]


def test_typos_in_rare_words_are_corrected_against_the_index(parser, lexical):
    parsed = parser.parse("Personalauswies Gültigkeitsdauer", lexical)
    assert parsed.corrections == {"Personalauswies": analyze("Personalausweis")[0]}
    assert analyze("Personalausweis")[0] in parsed.terms


def test_known_and_short_words_are_not_corrected(parser, lexical):
    assert parser.parse("Ausweis Gebühr", lexical).corrections == {}
    assert parser.parse("Pass", lexical).corrections == {}


def test_unknown_compound_is_carried_by_its_parts(parser, lexical):
    parsed = parser.parse("Personalausweisgebühr", lexical)
    assert parsed.terms[analyze("Gebühr")[0]] == 1.0


def test_ordinary_german_words_are_not_taken_for_typos(parser):
    # "verpasst" and "Schwager" are one edit from "verlasst" and "schräg" in this text
    # (as they are in the laws); they are ordinary German words, not typos
    lexical = LexicalIndex.build([
        (1, "Wer die Wohnung verlasst, meldet sich ab. Die Antragsfrist beginnt am Tag des Auszugs."),
        (2, "Das Lichtbild darf nicht schräg aufgenommen sein. Der Personalausweis wird ausgestellt."),
    ])
    assert parser.parse("Frist verpasst", lexical).corrections == {}
    assert parser.parse("Schwager Lichtbild", lexical).corrections == {}
    # a real typo next to the same vocabulary is still corrected
    assert parser.parse("Personalauswies Lichtbild", lexical).corrections == {"Personalauswies": analyze("Personalausweis")[0]}


def test_words_of_everyday_speech_weigh_less_than_words_of_the_trade(parser, lexical):
    assert everyday_weight("Meldebescheinigung") == 1.0
    assert everyday_weight("Personalausweis") == 1.0
    assert everyday_weight("sagen") < 0.6
    assert everyday_weight("morgen") < everyday_weight("Gültigkeit")
    parsed = parser.parse("Personalausweis morgen abholen", lexical)
    assert parsed.terms[analyze("Personalausweis")[0]] == 1.0
    assert parsed.terms[analyze("morgen")[0]] < 0.6
