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
