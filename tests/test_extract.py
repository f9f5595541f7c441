import pytest

from ingest.extract import ExtractionError, extract
from tests.conftest import LAWS, MELDESCHEIN, PDFS


def test_pdf_pages_are_kept_in_order():
    e = extract(MELDESCHEIN)
    assert e.kind == "pdf" and e.paginated and len(e.pages) == 4
    assert "Adressbuchverlage" in e.pages[1]
    assert "Auskunftssperre" in e.pages[3]


def test_markdown_title_from_front_matter():
    e = extract(LAWS / "pauswgebv.md")
    assert e.title == "Verordnung über Gebühren für Personalausweise und eID-Karten für Unionsbürger und Angehörige des Europäischen Wirtschaftsraums"
    assert not e.paginated and e.pages[0].lstrip().startswith("# ")


@pytest.mark.parametrize(
    "name, reason",
    [
        ("ocrmypdf_invalid.pdf", "beschädigt"),
        ("sf_unreadablemetadata.pdf", "beschädigt"),
        ("pypdf_r4-aes-user-password.pdf", "passwortgeschützt"),
        ("pypdf_r2-user-password.pdf", "passwortgeschützt"),
    ],
)
def test_bad_pdfs_fail_with_a_reason(name, reason):
    with pytest.raises(ExtractionError) as info:
        extract(PDFS / name)
    assert reason in str(info.value)


def test_scanned_pdf_gives_pages_without_text_for_the_ocr_step():
    e = extract(PDFS / "ocrmypdf_c02-22.pdf")
    assert e.paginated and e.pages and not any(p.strip() for p in e.pages)


def test_owner_password_only_pdf_is_readable():
    e = extract(PDFS / "pypdf_r6-owner-password.pdf")
    assert "pdf encryption test" in e.pages[0]


def test_empty_and_unsupported_files(tmp_path):
    (tmp_path / "leer.pdf").write_bytes(b"")
    (tmp_path / "leer.md").write_text("  \n")
    (tmp_path / "bild.png").write_bytes(b"\x89PNG")
    for name, reason in [("leer.pdf", "leer"), ("leer.md", "leer"), ("bild.png", "nicht unterstützt")]:
        with pytest.raises(ExtractionError, match=reason):
            extract(tmp_path / name)


def test_whole_pdf_folder_is_processed_without_a_traceback(tmp_path, embedder, monkeypatch):
    """Every odd, broken, encrypted or scanned PDF: indexed, or failed with a reason.
    OCR is switched off here to keep the run short; tests/test_formats.py covers it."""
    from ingest import ocr
    from ingest.pipeline import ingest
    from index.local import IndexStore

    monkeypatch.setattr(ocr, "ocr_status", lambda: "Texterkennung nicht verfügbar (im Test abgeschaltet)")
    monkeypatch.setattr("ingest.pipeline.ocr_status", ocr.ocr_status)
    store = IndexStore(tmp_path / "index")
    report = ingest([PDFS], store, embedder)
    reasons = {f.source: f.reason for f in report.failed}
    from ingest.extract import SUPPORTED_SUFFIXES

    files = [f for f in PDFS.iterdir() if f.suffix.lower() in SUPPORTED_SUFFIXES]  # 40 PDFs and PDFS.md
    assert report.added + len(reasons) == len(files) == 41
    assert "beschädigt" in reasons["ocrmypdf_invalid.pdf"] and "beschädigt" in reasons["sf_unreadablemetadata.pdf"]
    assert "passwortgeschützt" in reasons["pypdf_r4-aes-user-password.pdf"]
    assert "Texterkennung nicht verfügbar" in reasons["ocrmypdf_c02-22.pdf"]
    assert all(reason for reason in reasons.values())
    assert store.verify() == []


def test_filled_form_fields_count_as_text():
    filled = extract(PDFS / "de_meldeschein_filled_by_script.pdf")
    text = "\n".join(filled.pages)
    assert "Neue Wohnung (Straße/Platz, Hausnummer, Stockwerk): Leopoldstraße 50" in text
    blank = "\n".join(extract(PDFS / "de_muenchen_meldeschein_form.pdf").pages)
    assert "Leopoldstraße 50" not in blank and "Meldeschein" in blank
