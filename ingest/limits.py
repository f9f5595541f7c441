"""Bounds on the work one document may cause, so a hostile or broken file cannot
hold the writer or the server's memory hostage (a 20,000-page PDF of empty pages
was OCRed for hours; a 1 MB DOCX unpacked to 1 GiB).

A document that crosses a bound is refused as a whole with a reason in the
ingest report; the previous version, if any, stays in the index.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.errors import ExtractionError

MIB = 1024 * 1024


class LimitExceeded(ExtractionError):
    """The document crosses a configured bound (the message names the bound and its setting)."""


@dataclass(frozen=True)
class IngestLimits:
    max_pages: int = 2000  # pages of one PDF (AMTSWISSEN_MAX_PAGES)
    max_ocr_pages: int = 200  # pages of one PDF that need text recognition
    max_ocr_seconds: float = 900.0  # text recognition time for one document
    max_unpacked_bytes: int = 50 * MIB  # one XML part of DOCX/ODT, all attachments of an e-mail (unpacked)
    max_read_seconds: float = 300.0  # reading the text of one document (PDF pages, office XML)
    max_attachments: int = 200  # attachments of one e-mail that are read
    max_image_pixels: int = 100_000_000  # an embedded page image that OCR would have to decode
    ocr_memory_bytes: int = 2048 * MIB  # address space of one pdftoppm/tesseract process

    def pages(self, n: int) -> None:
        if n > self.max_pages:
            raise LimitExceeded(f"Das PDF hat {n:,} Seiten; erlaubt sind höchstens {self.max_pages:,} "
                                "(Einstellung AMTSWISSEN_MAX_PAGES)".replace(",", "."))

    def too_slow(self) -> str:
        return (f"Das Lesen des Dokuments dauerte länger als {self.max_read_seconds:.0f} s "
                "(Einstellung AMTSWISSEN_MAX_READ_SECONDS)")

    def unpacked(self, size: int, what: str) -> None:
        if size > self.max_unpacked_bytes:
            raise LimitExceeded(f"{what} wäre entpackt {size / MIB:.0f} MB groß; erlaubt sind höchstens "
                                f"{self.max_unpacked_bytes / MIB:.0f} MB (Einstellung AMTSWISSEN_MAX_UNPACKED_MB)")
