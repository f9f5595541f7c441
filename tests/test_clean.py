from ingest.clean import clean_pages, drop_page_furniture, is_usable, join_hyphenation, normalize_unicode


def test_hyphenation_joined_but_compounds_and_suspended_hyphens_kept():
    assert join_hyphenation("Verwal-\ntung") == "Verwaltung"
    assert join_hyphenation("EU-\nRecht") == "EU-Recht"
    assert join_hyphenation("Melde-\nund Passwesen") == "Melde- und Passwesen"


def test_ligatures_and_soft_hyphens():
    assert normalize_unicode("Auﬂage ﬁnal Ge\u00adbühr") == "Auflage final Gebühr"


def test_repeated_headers_and_footers_dropped():
    bodies = ["Anmeldung der Wohnung", "Abmeldung ins Ausland", "Auskunftssperre beantragen", "Gebühren"]
    pages = [f"Landeshauptstadt München\n{b}\nmehr Text zu {b}\nSeite {i} von 4" for i, b in enumerate(bodies, 1)]
    cleaned = drop_page_furniture(pages)
    assert all("Landeshauptstadt" not in p and "von 4" not in p for p in cleaned)
    assert cleaned[1] == "Abmeldung ins Ausland\nmehr Text zu Abmeldung ins Ausland"


def test_usable_text_rejects_glyph_garbage():
    assert is_usable("Die Meldebehörde erteilt Auskunft über Personen.")
    assert not is_usable("/g437/g258 /c03 /c03")
    assert not is_usable('"7+%-')


def test_clean_pages_collapses_spaces():
    assert clean_pages(["THE   SIEGE   OF  VICKSBURG"], paginated=False) == ["THE SIEGE OF VICKSBURG"]
