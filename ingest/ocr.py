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


def largest_image_pixels(page) -> int:
    """Pixels of the largest image a pypdf page draws (directly or inside a form), read from the
    image dictionaries without decoding: a 100,000 × 100,000 image would take poppler's memory."""
    largest, todo, seen = 0, [page.get("/Resources")], 0
    while todo and seen < 200:
        resources = todo.pop()
        seen += 1
        try:
            xobjects = resources.get_object().get("/XObject") if resources is not None else None
            for ref in (xobjects.get_object().values() if xobjects is not None else ()):
                obj = ref.get_object()
                if obj.get("/Subtype") == "/Image":
                    largest = max(largest, int(obj.get("/Width", 0)) * int(obj.get("/Height", 0)))
                elif obj.get("/Subtype") == "/Form":
                    todo.append(obj.get("/Resources"))
        except Exception:  # noqa: BLE001 - a damaged resource dictionary has no images worth counting
            continue
    return largest


def _bounded(memory_bytes: int, command: list[str]) -> list[str]:
    """The command with its address space capped (util-linux `prlimit`; a preexec_fn is unsafe
    in a threaded server), so a decompression bomb inside a page image makes pdftoppm fail
    instead of taking the server's memory."""
    prlimit = shutil.which("prlimit")
    return [prlimit, f"--as={memory_bytes}", *command] if prlimit else command


def ocr_page(pdf: Path, page_number: int, timeout: float = TIMEOUT_SECONDS,
             memory_bytes: int = 2048 * 1024 * 1024) -> str:
    """Text of one page (1-based), read by tesseract in German. Each of the two
    programs gets at most `timeout` seconds and `memory_bytes` of address space."""
    reason = ocr_status()
    if reason:
        raise OcrUnavailable(reason)
    timeout = max(0.1, min(timeout, TIMEOUT_SECONDS))
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "page"
        subprocess.run(_bounded(memory_bytes,
            # 300 dpi, but never more than MAX_PIXELS on the long side (some PDFs have huge pages)
            ["pdftoppm", "-r", str(DPI), "-scale-to", str(MAX_PIXELS), "-gray", "-png", "-f", str(page_number),
             "-l", str(page_number), "-singlefile", str(pdf), str(prefix)]),
            check=True, capture_output=True, timeout=timeout,
        )
        result = subprocess.run(
            _bounded(memory_bytes, ["tesseract", str(prefix.with_suffix(".png")), "stdout", "-l", "deu", "--psm", "3"]),
            check=True, capture_output=True, text=True, timeout=timeout,
        )
    return result.stdout
