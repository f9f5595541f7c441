"""Office formats and web pages → Markdown text that keeps the headings.

DOCX and ODT are zip files of XML; reading them with the standard library keeps
paragraph styles (Heading 1, Überschrift 2, outline levels) so the chunker sees
the same structure as in a Markdown note. HTML keeps h1–h6.
"""

from __future__ import annotations

import re
import time
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree

from ingest.limits import IngestLimits, LimitExceeded

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_HEADING_STYLE = re.compile(r"(heading|berschrift|titel|title)\s*(\d)?", re.I)


class OfficeError(Exception):
    pass


def _paragraphs(path: Path, member: str, tags: set[str], limits: IngestLimits) -> Iterator[ElementTree.Element]:
    """The paragraph elements of one XML part, parsed incrementally: each is yielded when it
    ends and cleared afterwards, so memory follows the text, not the XML (a tree of a 60 MB
    part took 1 GB). The part is refused before inflating if it declares more than the bound
    (zipfile never reads past the declared size), and reading stops at the time bound."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(member)
            limits.unpacked(info.file_size, "Der Inhalt des Dokuments")
            deadline = time.monotonic() + limits.max_read_seconds
            with z.open(info) as stream:
                for n, (_, el) in enumerate(ElementTree.iterparse(stream, events=("end",))):
                    if el.tag in tags:
                        yield el
                        el.clear()
                    if n % 10_000 == 0 and time.monotonic() > deadline:
                        raise LimitExceeded(limits.too_slow())
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as exc:
        raise OfficeError(f"Datei ist beschädigt oder kein gültiges Office-Dokument ({exc})") from exc


def zip_unpacked_size(path: Path) -> int:
    """What a zip-based attachment declares it unpacks to (0 if it is no zip)."""
    try:
        with zipfile.ZipFile(path) as z:
            return sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, RuntimeError):
        return 0


def docx_to_markdown(path: Path, limits: IngestLimits = IngestLimits()) -> str:
    blocks = []
    for p in _paragraphs(path, "word/document.xml", {f"{W}p"}, limits):
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
    blocks = []
    for el in _paragraphs(path, "content.xml", {f"{TEXT}p", f"{TEXT}h"}, limits):
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
