from pathlib import Path

from ingest.chunk import ChunkSizes, chunk_document
from ingest.clean import clean_pages
from ingest.extract import extract
from tests.conftest import LAWS, MELDESCHEIN


def _chunks(path: Path, sizes=ChunkSizes()):
    e = extract(path)
    return chunk_document(clean_pages(e.pages, e.paginated), e.kind, e.paginated, sizes)


def test_markdown_law_chunks_by_paragraph_with_heading_path():
    chunks = _chunks(LAWS / "pauswg.md")
    six = [c for c in chunks if c.section.endswith("§ 6 Gültigkeitsdauer des Ausweises; vorzeitige Beantragung; räumliche Beschränkungen")]
    assert six, "§ 6 must be its own section"
    assert six[0].section.startswith("Abschnitt 1 - Allgemeine Vorschriften > § 6")
    assert six[0].text.startswith("(1) Personalausweise werden für eine Gültigkeitsdauer von zehn Jahren ausgestellt")
    assert all(c.page is None for c in chunks)
    # the document title (single H1) is not repeated in every heading path
    assert not any(c.section.startswith("Gesetz über Personalausweise") for c in chunks)


def test_chunks_respect_length_and_never_mix_sections():
    chunks = _chunks(LAWS / "pauswg.md", ChunkSizes(passage=150, piece=60, overlap=10))
    assert max(len(c.text.split()) for c in chunks) <= 150
    assert max(len(p.split()) for c in chunks for p in c.pieces) <= 60
    # pieces cover their passage: every sentence of the passage is in some piece
    for c in chunks:
        assert all(any(s in p for p in c.pieces) for s in c.text.split("\n\n") if len(s.split()) <= 60)
    paragraph_one = [c for c in chunks if "§ 1 Ausweispflicht" in c.section]
    assert all("§ 2" not in c.section for c in paragraph_one)
    # 43 § headings in PAuswG, one of them \"(weggefallen)\" without text
    assert len({c.section for c in chunks if c.section}) == 42


def test_pdf_chunks_keep_pages_and_numbered_headings():
    chunks = _chunks(MELDESCHEIN)
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)
    assert chunks[0].page == 1 and chunks[-1].page == 4
    adressbuch = next(c for c in chunks if "Adressbuchverlage zu widersprechen" in c.text)
    assert adressbuch.page == 2
    assert "1.5 Widerspruch gegen die Übermittlung von Daten an Adressbuchverlage" in adressbuch.section
