"""Office formats and web pages → Markdown text that keeps the headings.

DOCX and ODT are zip files of XML; reading them with the standard library keeps
paragraph styles (Heading 1, Überschrift 2, outline levels) so the chunker sees
the same structure as in a Markdown note. HTML keeps h1–h6.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

from ingest.limits import IngestLimits

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_HEADING_STYLE = re.compile(r"(heading|berschrift|titel|title)\s*(\d)?", re.I)


class OfficeError(Exception):
    pass


def _read_member(z: zipfile.ZipFile, member: str, limits: IngestLimits) -> bytes:
    """One part of the zip, refused before inflating if it would be larger than the bound.
    The declared size is checked first; reading is capped as well, since a damaged
    archive may declare less than it holds."""
    info = z.getinfo(member)
    limits.unpacked(info.file_size, "Der Inhalt des Dokuments")
    with z.open(info) as f:
        data = f.read(limits.max_unpacked_bytes + 1)
    limits.unpacked(len(data), "Der Inhalt des Dokuments")
    return data


def _open_xml(path: Path, member: str, limits: IngestLimits) -> ElementTree.Element:
    try:
        with zipfile.ZipFile(path) as z:
            return ElementTree.fromstring(_read_member(z, member, limits))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as exc:
        raise OfficeError(f"Datei ist beschädigt oder kein gültiges Office-Dokument ({exc})") from exc


def docx_to_markdown(path: Path, limits: IngestLimits = IngestLimits()) -> str:
    root = _open_xml(path, "word/document.xml", limits)
    blocks = []
    for p in root.iter(f"{W}p"):
        text = "".join(t.text or "" for t in p.iter() if t.tag in (f"{W}t", f"{W}tab") and (t.text or t.tag == f"{W}tab"))
        if not text.strip():
            continue
        style = p.find(f"{W}pPr/{W}pStyle")
        name = style.get(f"{W}val", "") if style is not None else ""
        m = _HEADING_STYLE.search(name)
        if m:
            level = int(m.group(2) or 1)
            blocks.append("#" * min(level + 1, 6) + " " + text.strip())
        else:
            blocks.append(text.strip())
    return "\n\n".join(blocks)


def odt_to_markdown(path: Path, limits: IngestLimits = IngestLimits()) -> str:
    root = _open_xml(path, "content.xml", limits)
    blocks = []
    for el in root.iter():
        if el.tag not in (f"{TEXT}p", f"{TEXT}h"):
            continue
        text = "".join(el.itertext()).strip()
        if not text:
            continue
        if el.tag == f"{TEXT}h":
            level = int(el.get(f"{TEXT}outline-level", "1"))
            blocks.append("#" * min(level + 1, 6) + " " + text)
        else:
            blocks.append(text)
    return "\n\n".join(blocks)


class _HtmlToMarkdown(HTMLParser):
    BLOCK = {"p", "div", "li", "tr", "br", "section", "article", "dd", "dt", "blockquote", "pre", "td", "th"}
    SKIP = {"script", "style", "nav", "noscript", "template", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.heading: int | None = None
        self.title: str | None = None
        self._in_title = False

    def _flush(self):
        text = " ".join("".join(self.current).split())
        if text:
            self.blocks.append(("#" * min(self.heading + 1, 6) + " " if self.heading else "") + text)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        if tag == "title":
            self._in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading = int(tag[1])
        elif tag in self.BLOCK:
            self._flush()

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if tag == "title":
            self._in_title = False
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading = None
        elif tag in self.BLOCK:
            self._flush()

    def handle_data(self, data):
        if self._in_title:
            self.title = (self.title or "") + data.strip()
        elif not self.skip:
            self.current.append(data)


def html_to_markdown(html: str) -> tuple[str, str | None]:
    """Markdown text and the page title."""
    parser = _HtmlToMarkdown()
    parser.feed(html)
    parser.close()
    parser._flush()
    return "\n\n".join(parser.blocks), parser.title or None
