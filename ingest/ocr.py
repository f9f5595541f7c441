"""Text recognition (OCR) for PDF pages without a usable text layer.

Uses the system's `pdftoppm` (poppler-utils) to render a page and `tesseract`
with German language data to read it. Both are optional at run time: without
them a page that needs OCR is reported, and the rest of the document indexed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

DPI = 300
TIMEOUT_SECONDS = 120
MAX_PIXELS = 3508  # A4 at 300 dpi


class OcrUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=1)
def ocr_status() -> str | None:
    """None when OCR works here, else the reason (German, for the ingest report)."""
    if not shutil.which("pdftoppm"):
        return "Texterkennung nicht verfügbar (pdftoppm aus poppler-utils fehlt)"
    if not shutil.which("tesseract"):
        return "Texterkennung nicht verfügbar (tesseract ist nicht installiert)"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30).stdout.split()
    if "deu" not in langs:
        return "Texterkennung nicht verfügbar (deutsche Sprachdaten tesseract-ocr-deu fehlen)"
    return None


def ocr_page(pdf: Path, page_number: int) -> str:
    """Text of one page (1-based), read by tesseract in German."""
    reason = ocr_status()
    if reason:
        raise OcrUnavailable(reason)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "page"
        subprocess.run(
            # 300 dpi, but never more than MAX_PIXELS on the long side (some PDFs have huge pages)
            ["pdftoppm", "-r", str(DPI), "-scale-to", str(MAX_PIXELS), "-gray", "-png", "-f", str(page_number),
             "-l", str(page_number), "-singlefile", str(pdf), str(prefix)],
            check=True, capture_output=True, timeout=TIMEOUT_SECONDS,
        )
        result = subprocess.run(
            ["tesseract", str(prefix.with_suffix(".png")), "stdout", "-l", "deu", "--psm", "3"],
            check=True, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
        )
    return result.stdout
