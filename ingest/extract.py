"""Step 1: read a file into page texts, or fail with a reason a knowledge officer understands."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import ExtractionError
from ingest.limits import IngestLimits, LimitExceeded

logger = logging.getLogger(__name__)

PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
OFFICE_SUFFIXES = {".docx", ".odt", ".html", ".htm", ".eml"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | TEXT_SUFFIXES | OFFICE_SUFFIXES


@dataclass
class Extracted:
    """Text of one file. `paginated` tells whether list positions are real pages."""

    kind: str  # "pdf", "markdown", "text"
    pages: list[str]
    paginated: bool
    title: str | None = None
    abbr: str | None = None  # official short name, for citations ("BMG")
    front_matter: dict = field(default_factory=dict)  # Markdown front matter, raw
    problems: list[str] = field(default_factory=list)  # pages that failed, etc.


def extract(path: Path, limits: IngestLimits = IngestLimits()) -> Extracted:
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return extract_pdf(path, limits)
    if suffix in TEXT_SUFFIXES:
        return extract_text(path)
    if suffix in OFFICE_SUFFIXES:
        return extract_office(path, limits)
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
    front: dict = {}
    if kind == "markdown":
        m = FRONT_MATTER.match(text)
        if m:
            text = text[m.end() :]
            meta = _front_matter(m.group(1))
            title, abbr = meta.get("title"), meta.get("jurabk")
            front = meta
        if title is None:
            h = re.search(r"^#\s+(.+)$", text, re.M)
            title = h.group(1).strip() if h else None
    if not text.strip():
        raise ExtractionError("Die Datei enthält keinen Text")
    return Extracted(kind=kind, pages=[text], paginated=False, title=title, abbr=abbr, front_matter=front)


def _form_fields(page) -> str:
    """Filled-in form fields of a page as "Label: Wert" lines (labels alone are already page text)."""
    lines = []
    for annot in page.get("/Annots") or []:
        try:
            obj = annot.get_object()
            if obj.get("/Subtype") != "/Widget":
                continue
            parent = obj.get("/Parent")
            parent = parent.get_object() if parent is not None else {}
            value = obj.get("/V", parent.get("/V"))
            label = obj.get("/TU", parent.get("/TU")) or obj.get("/T", parent.get("/T"))
        except Exception:  # noqa: BLE001 - a damaged annotation is skipped, not fatal
            continue
        value = str(value).strip().lstrip("/") if value is not None else ""
        if value and value not in ("Off", "None"):
            lines.append(f"{str(label).strip() if label else 'Feld'}: {value}")
    return "\n".join(lines)


def extract_office(path: Path, limits: IngestLimits = IngestLimits()) -> Extracted:
    """DOCX, ODT, HTML and e-mail, as Markdown that keeps their headings."""
    from ingest.mail import eml_to_markdown
    from ingest.office import OfficeError, docx_to_markdown, html_to_markdown, odt_to_markdown

    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise ExtractionError("Die Datei ist leer")
    title, problems = None, []
    try:
        if suffix == ".docx":
            text = docx_to_markdown(path, limits)
        elif suffix == ".odt":
            text = odt_to_markdown(path, limits)
        elif suffix in (".html", ".htm"):
            text, title = html_to_markdown(_decode(path.read_bytes()))
        else:
            text, title, problems = eml_to_markdown(path, lambda p: "\n\n".join(extract(p, limits).pages), limits)
    except OfficeError as exc:
        raise ExtractionError(str(exc)) from exc
    if not text.strip():
        raise ExtractionError("Die Datei enthält keinen Text")
    return Extracted(kind="markdown", pages=[text], paginated=False, title=title, problems=problems)


def extract_pdf(path: Path, limits: IngestLimits = IngestLimits()) -> Extracted:
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
    limits.pages(n_pages)  # before reading any page: a page-count bomb costs nothing

    pages, problems = [], []
    # pages may share one huge content stream that pypdf parses again for each: bound the time
    deadline = time.monotonic() + limits.max_read_seconds
    for number in range(n_pages):
        if time.monotonic() > deadline:
            raise LimitExceeded(limits.too_slow())
        try:
            page = reader.pages[number]
            text = page.extract_text() or ""
            fields = _form_fields(page)
            pages.append(text + ("\n\n" + fields if fields else ""))
        except Exception as exc:  # noqa: BLE001 - a broken page must not stop the document
            logger.warning("%s: Seite %d nicht lesbar: %s", path, number + 1, exc)
            problems.append(f"Seite {number + 1}: nicht lesbar ({type(exc).__name__})")
            pages.append("")
    # Pages without a (usable) text layer are judged and OCRed by the pipeline.
    title = None
    try:
        meta_title = reader.metadata.title if reader.metadata else None
        title = str(meta_title).strip() if meta_title and str(meta_title).strip() else None
    except Exception:  # noqa: BLE001 - unreadable metadata is common and harmless
        title = None
    return Extracted(kind="pdf", pages=pages, paginated=True, title=title, problems=problems)
