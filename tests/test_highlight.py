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
