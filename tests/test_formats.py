"""Office formats, e-mail, broken text layers and OCR, on real files."""

import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest

from ingest.extract import extract
from amtswissen.settings import Settings
from ingest.chunk import ChunkSizes
from ingest.pipeline import SourceFile, ingest, prepare_document
from ingest.repair import join_letter_spacing, repair_page, unshift_line
from index.local import IndexStore
from ingest import ocr
from search.searcher import Searcher
from tests.conftest import BGBL, LAWS, MODEL_DIR, PDFS, needs_ocr


def _docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Fundsachen im Bürgerbüro", level=1)
    d.add_paragraph("Fundsachen werden sechs Monate aufbewahrt.")
    d.add_heading("Versteigerung", level=2)
    d.add_paragraph("Danach werden sie öffentlich versteigert.")
    d.save(path)
    return path


def _odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Hundesteuer"))
    doc.text.addElement(P(text="Die Hundesteuer wird jährlich im Voraus erhoben."))
    doc.save(str(path))
    return path


def test_docx_keeps_headings(tmp_path):
    e = extract(_docx(tmp_path / "fund.docx"))
    assert e.kind == "markdown"
    assert "## Fundsachen im Bürgerbüro" in e.pages[0]
    assert "### Versteigerung\n\nDanach werden sie öffentlich versteigert." in e.pages[0]


def test_odt_keeps_headings(tmp_path):
    e = extract(_odt(tmp_path / "hund.odt"))
    assert "## Hundesteuer\n\nDie Hundesteuer wird jährlich im Voraus erhoben." in e.pages[0]


def test_html_drops_scripts_and_keeps_headings(tmp_path):
    page = tmp_path / "seite.html"
    page.write_text("<html><head><title>Anmeldung</title><script>var x=1;</script></head><body>"
                    "<nav>Menü</nav><h1>Wohnung anmelden</h1><p>Innerhalb von <b>zwei Wochen</b>.</p></body></html>",
                    encoding="utf-8")
    e = extract(page)
    assert e.title == "Anmeldung"
    assert e.pages[0] == "## Wohnung anmelden\n\nInnerhalb von zwei Wochen."


def test_email_body_and_attachments(tmp_path):
    msg = EmailMessage()
    msg["Subject"] = "Neue Regelung Fundsachen"
    msg["From"] = "amt@example.org"
    msg.set_content("Liebe Kolleginnen,\n\nab sofort gilt die neue Frist.\n")
    msg.add_attachment(_docx(tmp_path / "a.docx").read_bytes(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="regel.docx")
    msg.add_attachment(b"\x00\x01kaputt", maintype="application", subtype="pdf", filename="kaputt.pdf")
    path = tmp_path / "mail.eml"
    path.write_bytes(msg.as_bytes())
    e = extract(path)
    assert e.title == "Neue Regelung Fundsachen"
    assert "ab sofort gilt die neue Frist" in e.pages[0]
    assert "## Anhang: regel.docx" in e.pages[0] and "sechs Monate aufbewahrt" in e.pages[0]
    assert any("kaputt.pdf" in p for p in e.problems)


def test_letter_spaced_and_vertical_text_repaired():
    assert join_letter_spacing("-  A l l g e m e i n e  F a s s u n g  -") == "-  Allgemeine  Fassung  -"
    from pypdf import PdfReader

    raw = PdfReader(BGBL / "f_fev_2010_bgbl1_2010_j2279-1_0010.pdf").pages[0].extract_text()
    assert "Vorderseite des ersten Umschlagblattes" not in raw
    assert "Vorderseite des ersten Umschlagblattes" in repair_page(raw)


def test_shifted_font_encoding_repaired():
    assert unshift_line("Cmbuu!2;!Bousbh!obdi") == "Blatt 1: Antrag nach"
    assert unshift_line("Antrag auf Festsetzung") == "Antrag auf Festsetzung"


def _prepare(tmp_path, path: Path):
    return prepare_document(SourceFile(path, str(path.parent), path.name), "x" * 64, "default", ChunkSizes())




@needs_ocr
def test_scanned_gewerbeanmeldung_is_found_after_ocr(tmp_path, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(BGBL / "g_gewanzv_2014_bgbl1_2019_j0916-1_0010.pdf", folder)
    shutil.copy(LAWS / "pauswgebv.md", folder)
    shutil.copy(LAWS / "gastg.md", folder)
    store = IndexStore(tmp_path / "index")
    report = ingest([folder], store, embedder)
    assert report.added == 3 and report.failed == []
    searcher = Searcher(Settings(index=tmp_path / "index", model=MODEL_DIR), embedder)
    results = searcher.search("Gewerbeanmeldung Anzeige Beginn des Betriebes", 3).results
    assert results[0].document.source == "g_gewanzv_2014_bgbl1_2019_j0916-1_0010.pdf"
    assert results[0].page == 1


def test_without_ocr_a_scanned_page_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    ocr.ocr_status.cache_clear()
    try:
        with pytest.raises(Exception) as info:
            _prepare(tmp_path, PDFS / "ocrmypdf_c02-22.pdf")
        assert "tesseract" in str(info.value) or "pdftoppm" in str(info.value)
    finally:
        monkeypatch.undo()
        ocr.ocr_status.cache_clear()
