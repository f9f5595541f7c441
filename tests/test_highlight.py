from search.highlight import best_sentences

SECTION_6 = (
    "(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt.\n"
    "(2) Vor Ablauf der Gültigkeit eines Personalausweises kann ein neuer Personalausweis beantragt werden, "
    "wenn ein berechtigtes Interesse an der Neuausstellung dargelegt wird.\n"
    "(3) Die Gültigkeitsdauer eines Personalausweises darf nicht verlängert werden."
)


def test_duration_question_marks_the_duration_sentence():
    assert best_sentences("Wie lange ist ein Perso gültig?", SECTION_6) == (
        "(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt.")


def test_terms_pick_the_sentence():
    assert best_sentences("Kann man den Ausweis verlängern?", SECTION_6) == (
        "(3) Die Gültigkeitsdauer eines Personalausweises darf nicht verlängert werden.")


def test_no_overlap_gives_none():
    assert best_sentences("Hundesteuer", SECTION_6) is None


def test_question_terms_are_marked_in_the_passage_and_html_is_escaped():
    from search.highlight import mark_terms

    html = str(mark_terms("Ist der Perso gültig?", "Die Gültigkeit <b>endet</b>; gültig bis 2030."))
    assert '<mark class="term">Gültigkeit</mark>' in html
    assert '<mark class="term">gültig</mark>' in html
    assert "&lt;b&gt;endet&lt;/b&gt;" in html and "<b>" not in html


def _law_passage(law: str, section: str) -> str:
    from pathlib import Path

    from ingest.chunk import ChunkSizes, chunk_document
    from tests.conftest import LAWS

    text = Path(LAWS / law).read_text(encoding="utf-8")
    return next(c.text for c in chunk_document([text], "markdown", False, ChunkSizes()) if c.section.endswith(section))


def test_a_sentence_around_its_numbered_list_is_one_sentence():
    # PStG § 18: "(1) Die Geburt … muss dem Standesamt, …, 1. … 2. … binnen einer Woche angezeigt werden."
    marked = best_sentences("Bis wann muss eine Geburt beim Standesamt gemeldet werden?",
                            _law_passage("pstg.md", "§ 18 Anzeige"))
    assert marked.startswith("(1) Die Geburt eines Kindes") and "binnen einer Woche angezeigt werden" in marked


def test_the_sentence_stating_the_asked_for_duration_comes_first():
    # StVG § 2a: several sentences name the probation period; the one that says how long it lasts answers
    marked = best_sentences("Probezeit Führerschein wie lange", _law_passage("stvg.md", "§ 2a Fahrerlaubnis auf Probe"))
    assert "die Probezeit dauert zwei Jahre" in marked


def test_the_duration_for_the_asked_age_is_marked_with_the_rule_it_qualifies():
    # PassG § 5: ten years in general, six for under-24s; the second sentence answers the question
    marked = best_sentences("Wie lange ist ein Reisepass gültig, wenn man jünger als 24 ist?",
                            _law_passage("passg_1986.md", "§ 5 Gültigkeitsdauer"))
    assert "sind sie sechs Jahre gültig" in marked


def test_a_short_list_is_marked_whole_with_its_lead_in():
    # PAuswGebV § 1: "folgende Gebühren …: 1. 22,80 Euro …, 2. 37 Euro in allen anderen Fällen."
    marked = best_sentences("Was kostet ein Personalausweis für Erwachsene?",
                            _law_passage("pauswgebv.md", "§ 1 Gebühren für Ausweise"))
    assert marked.startswith("(1) Für die Ausstellung eines Personalausweises sind folgende Gebühren zu erheben:")
    assert "37 Euro in allen anderen Fällen" in marked


def test_a_long_list_is_marked_as_its_lead_in_and_the_item_that_answers():
    # VwVfG § 20 (1): "… darf für eine Behörde nicht tätig werden, 1. wer selbst Beteiligter ist; 2. …"
    passage = _law_passage("vwvfg.md", "§ 20 Ausgeschlossene Personen")
    marked = best_sentences("Darf jemand, der in der Sache ein Gutachten abgegeben hat, für die Behörde tätig werden?",
                            passage)
    lead, item = marked.split(" … ")
    assert lead == "(1) In einem Verwaltungsverfahren darf für eine Behörde nicht tätig werden,"
    assert item.startswith("6.  wer außerhalb seiner amtlichen Eigenschaft") and "Gutachten" in item
    # two items answer alike (2. and 4. name an "Angehöriger" of a "Beteiligten"): the whole list
    marked = best_sentences("Darf ein Angehöriger eines Beteiligten im Verfahren für die Behörde tätig werden?", passage)
    assert " … " not in marked and "2.  wer Angehöriger eines Beteiligten ist;" in marked


def test_a_question_for_a_list_gets_the_whole_list():
    marked = best_sentences("Welche Unterlagen muss ich dem Antrag auf eine Fahrerlaubnis beifügen?",
                            _law_passage("fev_2010.md", "§ 21 Antrag auf Erteilung einer Fahrerlaubnis"))
    assert marked.startswith("(3) Dem Antrag sind folgende Unterlagen beizufügen:")
    assert "ein Nachweis über die Schulung in Erster Hilfe" in marked  # item 5: the list is not cut at "3\."


def test_an_exception_is_found_through_a_german_ellipsis():
    # BMG § 27 (2): "… muss sich für diese Wohnung weder an- noch abmelden" answers "muss … anmelden?"
    marked = best_sentences("Muss sich jemand, der für fünf Monate eine Ferienwohnung bezieht, anmelden?",
                            _law_passage("bmg.md", "§ 27 Ausnahmen von der Meldepflicht"))
    assert "nicht länger als sechs Monate dauernden Aufenthalt" in marked and "weder an- noch abmelden" in marked


def test_the_sentence_that_qualifies_the_rule_is_marked_with_it():
    # PAuswG § 9 (1): the rule ("nicht durch einen Bevollmächtigten") and its exception ("Dies gilt nicht …")
    marked = best_sentences("Kann sich die antragstellende Person durch einen Bevollmächtigten vertreten lassen?",
                            _law_passage("pauswg.md", "§ 9 Ausstellung des Ausweises"))
    assert marked.startswith("Die antragstellende Person und ihr gesetzlicher Vertreter können sich")
    assert "nicht durch einen Bevollmächtigten vertreten lassen. Dies gilt nicht für eine handlungs-" in marked


def test_a_threshold_question_marks_the_number():
    marked = best_sentences("Ab wie vielen Beschäftigten braucht man einen Datenschutzbeauftragten?",
                            _law_passage("bdsg_2018.md", "§ 38 Datenschutzbeauftragte nichtöffentlicher Stellen"))
    assert "mindestens 20 Personen ständig" in marked


def test_an_age_is_not_a_duration():
    from search.highlight import ANSWER_TYPES

    duration = next(t for t in ANSWER_TYPES if t.name == "Dauer")
    assert duration.states.search("innerhalb von sechs Wochen")
    assert not duration.states.search("wenn es zehn Jahre oder älter ist")
    assert not duration.states.search("die noch nicht 16 Jahre alt sind")


def test_words_of_no_weight_mark_nothing_and_do_not_fail():
    from search.highlight import Question, mark

    # a one-passage index: every word is in every passage, rarity can be nil
    question = Question.read("Wie lange ist ein Perso gültig?", rarity=lambda term: 0.0)
    assert mark(question, SECTION_6) is None


def test_a_list_after_any_lead_in_word_is_split_but_a_date_is_not():
    from search.highlight import list_items

    lead, items = list_items("Ordnungswidrig handelt, wer\n\n1. a tut,\n\n2. b tut,\n\n3. c tut.")
    assert lead == "Ordnungswidrig handelt, wer" and items == ["1. a tut,", "2. b tut,", "3. c tut."]
    assert list_items("Die Frist läuft bis zum 31. Dezember 2016 und am 1. Januar 2020 ab.") is None


def test_cue_words_are_whole_words():
    from search.highlight import Question

    assert [t.name for t in Question.read("Gilt der Ausweis in der Europäischen Union?").types] == []
    assert [t.name for t in Question.read("Gibt es eine Alternative zum Daueraufenthalt?").types] == []
    assert [t.name for t in Question.read("Wie viel Euro kostet der Pass?").types] == ["Betrag"]


def test_a_synonyms_official_word_helps_find_but_does_not_lower_the_share_of_the_question():
    from search.highlight import Question, mark

    plain = mark(Question.read("Hat das Amt am Samstag geöffnet?"), "Das Amt ist am Samstag geöffnet.")
    widened = mark(Question.read("Hat das Amt am Samstag geöffnet?", expansions=["Sonnabend"]),
                   "Das Amt ist am Samstag geöffnet.")
    assert plain.coverage == widened.coverage == 1.0


def test_a_corrected_typo_counts_as_the_word():
    from search.highlight import Question, mark

    text = "(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt."
    typo = mark(Question.read("Wie lange ist ein Personalauswies gültig?",
                              corrections={"Personalauswies": "personalausweis"}), text)
    right = mark(Question.read("Wie lange ist ein Personalausweis gültig?"), text)
    assert typo.coverage == right.coverage


def test_a_line_ending_in_an_abbreviation_goes_on():
    from search.highlight import sentences_of

    assert sentences_of("Die Frist nach § 5 Abs.\n2 beträgt zwei Wochen.\nNeu.") == [
        "Die Frist nach § 5 Abs.\n2 beträgt zwei Wochen.", "Neu."]
