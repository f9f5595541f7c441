from text.sentences import split_sentences


def test_legal_abbreviations_do_not_split():
    text = ("Die Meldebehörde darf nach § 34 Abs. 1 Nr. 2 Auskunft erteilen. Dies gilt z. B. für Behörden. "
            "Siehe Art. 3 i. V. m. Anlage 1. Neuer Satz hier.")
    assert split_sentences(text) == [
        "Die Meldebehörde darf nach § 34 Abs. 1 Nr. 2 Auskunft erteilen.",
        "Dies gilt z. B. für Behörden.",
        "Siehe Art. 3 i. V. m. Anlage 1.",
        "Neuer Satz hier.",
    ]


def test_dates_and_list_numbers():
    assert split_sentences("Ab dem 1. Januar 2021 gilt das. Danach nicht.") == [
        "Ab dem 1. Januar 2021 gilt das.", "Danach nicht."]


def test_a_numbered_list_stays_in_its_sentence_when_asked():
    text = ("(3) Die Ausnahme gilt nicht für 1. Spätaussiedler, wenn sie verteilt werden; "
            "2. Asylbewerber, die eine Unterkunft beziehen. Es gilt § 5 Absatz 1. Die Behörde entscheidet.")
    assert split_sentences(text, keep_lists=True) == [
        "(3) Die Ausnahme gilt nicht für 1. Spätaussiedler, wenn sie verteilt werden; "
        "2. Asylbewerber, die eine Unterkunft beziehen.",
        "Es gilt § 5 Absatz 1.",  # a reference ends its sentence
        "Die Behörde entscheidet.",
    ]
    # chunking cuts at the items, as before
    assert split_sentences(text)[0] == "(3) Die Ausnahme gilt nicht für 1."


def test_a_markdown_escaped_date_does_not_end_a_sentence():
    assert split_sentences(r"Verordnung vom 3\. März 2015 geändert. Neu.") == [
        r"Verordnung vom 3\. März 2015 geändert.", "Neu."]


def test_a_year_ends_a_sentence_even_when_lists_are_kept():
    assert split_sentences("Die Regelung gilt bis 2030. Danach entfällt sie.", keep_lists=True) == [
        "Die Regelung gilt bis 2030.", "Danach entfällt sie."]
