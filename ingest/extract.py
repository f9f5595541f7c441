"""Step 1: read a file into page texts, or fail with a reason a knowledge officer understands."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | TEXT_SUFFIXES


class ExtractionError(Exception):
    """The file cannot be indexed; the message is shown to the user (German)."""


@dataclass
class Extracted:
    """Text of one file. `paginated` tells whether list positions are real pages."""

    kind: str  # "pdf", "markdown", "text"
    pages: list[str]
    paginated: bool
    title: str | None = None
    abbr: str | None = None  # official short name, for citations ("BMG")
    problems: list[str] = field(default_factory=list)  # pages that failed, etc.


def extract(path: Path) -> Extracted:
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return extract_pdf(path)
    if suffix in TEXT_SUFFIXES:
        return extract_text(path)
    raise ExtractionError(f"Dateiformat {suffix or '(ohne Endung)'} wird nicht unterstützt")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _front_matter(block: str) -> dict[str, str]:
    import yaml

    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k).lower(): " ".join(str(v).split()) for k, v in data.items() if v is not None}


def extract_text(path: Path) -> Extracted:
    text = _decode(path.read_bytes())
    if not text.strip():
        raise ExtractionError("Die Datei ist leer")
    kind = "text" if path.suffix.lower() == ".txt" else "markdown"
    title = abbr = None
    if kind == "markdown":
        m = FRONT_MATTER.match(text)
        if m:
            text = text[m.end() :]
            meta = _front_matter(m.group(1))
            title, abbr = meta.get("title"), meta.get("jurabk")
        if title is None:
            h = re.search(r"^#\s+(.+)$", text, re.M)
            title = h.group(1).strip() if h else None
    if not text.strip():
        raise ExtractionError("Die Datei enthält keinen Text")
    return Extracted(kind=kind, pages=[text], paginated=False, title=title, abbr=abbr)


def extract_pdf(path: Path) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    if path.stat().st_size == 0:
        raise ExtractionError("Die Datei ist leer")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            # Many PDFs are encrypted with an empty user password (only an
            # owner password restricts printing etc.); those can be read.
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - pypdf raises several types here
                raise ExtractionError(f"PDF ist verschlüsselt und kann nicht entschlüsselt werden ({exc})") from exc
            if not ok:
                raise ExtractionError("PDF ist passwortgeschützt")
        n_pages = len(reader.pages)
    except ExtractionError:
        raise
    except FileNotDecryptedError as exc:
        raise ExtractionError("PDF ist passwortgeschützt") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf signals broken files with many exception types
        raise ExtractionError(f"PDF ist beschädigt und kann nicht gelesen werden ({type(exc).__name__}: {exc})") from exc

    pages, problems = [], []
    for number in range(n_pages):
        try:
            pages.append(reader.pages[number].extract_text() or "")
        except Exception as exc:  # noqa: BLE001 - a broken page must not stop the document
            logger.warning("%s: Seite %d nicht lesbar: %s", path, number + 1, exc)
            problems.append(f"Seite {number + 1}: nicht lesbar ({type(exc).__name__})")
            pages.append("")
    if not any(p.strip() for p in pages):
        raise ExtractionError(
            "PDF enthält keinen auslesbaren Text (gescannt oder nur Bilder; Texterkennung nötig)"
        )
    for number, text in enumerate(pages, 1):
        if not text.strip() and not any(p.startswith(f"Seite {number}:") for p in problems):
            problems.append(f"Seite {number}: kein Text")
    title = None
    try:
        meta_title = reader.metadata.title if reader.metadata else None
        title = str(meta_title).strip() if meta_title and str(meta_title).strip() else None
    except Exception:  # noqa: BLE001 - unreadable metadata is common and harmless
        title = None
    return Extracted(kind="pdf", pages=pages, paginated=True, title=title, problems=problems)
