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
