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
