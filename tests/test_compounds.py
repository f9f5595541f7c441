"""Splitting on the real vocabulary of the laws corpus."""

import pytest

from text.analyze import _FOLDED_STOPWORDS, fold, word_counts
from text.compounds import CompoundSplitter
from tests.conftest import LAWS


@pytest.fixture(scope="module")
def splitter():
    texts = [p.read_text(encoding="utf-8") for p in sorted(LAWS.glob("*.md"))]
    return CompoundSplitter(word_counts(texts), _FOLDED_STOPWORDS)


@pytest.mark.parametrize(
    "word, parts",
    [
        ("Wohnsitzanmeldung", ["wohnsitz", "anmeldung"]),
        ("Personalausweisgebühr", ["personalausweis", "gebuhr"]),
        ("Führerscheinentzug", ["fuhrerschein", "entzug"]),
        ("Gewerbeanmeldung", ["gewerbe", "anmeldung"]),
        ("Fahrerlaubnisbehörde", ["fahrerlaubnis", "behorde"]),
    ],
)
def test_compounds_split_at_known_parts_with_linking_elements(splitter, word, parts):
    assert splitter.split(fold(word)) == parts


@pytest.mark.parametrize("word", ["Verwaltung", "Beamter", "Beamtin", "Anmeldung", "Bescheinigung", "Unterschrift",
                                  "Standesamt", "Vorschriften"])
def test_ordinary_words_stay_whole(splitter, word):
    assert splitter.split(fold(word)) == [fold(word)]


def test_linking_s(splitter):
    # Gültigkeit|s|dauer
    assert splitter.split(fold("Gültigkeitsdauer")) == ["gultigkeit", "dauer"]
