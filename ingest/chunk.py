"""Step 3: cut a document into passages — by structure first (headings, §), then by length.

A passage never crosses a heading or a document; it records its heading path
and the page where it starts. Each passage is cut again into pieces for the
embedding model ("small to big": found by a piece, shown as the passage).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from text.sentences import split_sentences

# "## Title ##": hashes, space, then a non-space (\s and \S cannot overlap: linear time even on a
# line of thousands of spaces); closing hashes are stripped in Python, not by backtracking
_MD_HEADING = re.compile(r"(#{1,6})\s+(\S.*)")
# Structure of German legal and administrative text when no Markdown marks it.
_TEXT_HEADINGS = [
    (1, re.compile(r"^(Teil|Buch)\s+\d+\w?\b.{0,100}$")),
    (2, re.compile(r"^Kapitel\s+\d+\w?\b.{0,100}$")),
    (3, re.compile(r"^Abschnitt\s+\d+\w?\b.{0,100}$")),
    (4, re.compile(r"^Unterabschnitt\s+\d+\w?\b.{0,100}$")),
    # "§ 6 Gültigkeitsdauer", not a reference that starts a line ("§ 58c Absatz 1 des ...").
    (5, re.compile(r"^(§{1,2}\s*\d+\s?[a-z]?|Art(ikel|\.)\s*\d+\s?[a-z]?)"
                   r"(\s+(?!(Abs\.|Absatz|Satz|Nr\.|Nummer|S\.|Buchst)\b)[A-ZÄÖÜ(][^.;,]{0,120})?$")),
    # Numbered headings of forms and guidance ("1 Hinweispflichten", "1.1 Widerspruch ..."):
    # no period after the number (that is a list item), a capital after it, no sentence end.
    (6, re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}\s+[A-ZÄÖÜ][^.;:!?]{2,100}$")),
]


@dataclass
class Paragraph:
    text: str
    page: int | None
    heading_path: tuple[str, ...]


@dataclass
class Chunk:
    """A passage as the reader sees it, and the pieces it is found by.

    Small pieces embed sharply (mean pooling over a few sentences); the reader
    and the hit rule get the whole passage — usually a whole §.
    """

    text: str
    section: str  # heading path, " > "-joined ("" when the document has none)
    page: int | None  # where the passage starts
    pieces: list[str] = field(default_factory=list)


def _markdown_paragraphs(text: str, page: int | None) -> list[Paragraph]:
    headings: list[tuple[int, str]] = []
    h1_count = len(re.findall(r"^#\s", text, re.M))
    out: list[Paragraph] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        body: list[str] = []
        for line in lines:
            m = _MD_HEADING.fullmatch(line.strip())
            if m and m.group(2).rstrip("#").strip():
                if body:
                    out.append(Paragraph(" ".join(body), page, tuple(h for _, h in headings)))
                    body = []
                level = len(m.group(1))
                headings = [(lvl, h) for lvl, h in headings if lvl < level]
                # A single H1 is the document title, shown separately; it would only repeat in every path.
                if not (level == 1 and h1_count == 1):
                    headings.append((level, m.group(2).rstrip("#").strip()))
            elif line.strip():
                body.append(line.strip())
        if body:
            out.append(Paragraph(" ".join(body), page, tuple(h for _, h in headings)))
    return out


def _text_heading_level(line: str) -> int | None:
    if len(line) > 160:
        return None
    for level, pattern in _TEXT_HEADINGS:
        if pattern.match(line):
            # deeper numbering ("1.2.3") nests below shallower ("1")
            return level + line.split()[0].count(".") if level == 6 else level
    return None


def _plain_paragraphs(pages: list[str], paginated: bool) -> list[Paragraph]:
    """Paragraphs from layout text: a blank line, or a line ending a sentence or
    clearly shorter than the page's lines, ends a paragraph."""
    lengths = [len(line) for p in pages for line in p.split("\n") if line.strip()]
    typical = statistics.median(lengths) if lengths else 0
    headings: list[tuple[int, str]] = []
    out: list[Paragraph] = []
    for number, page_text in enumerate(pages, 1):
        page = number if paginated else None
        body: list[str] = []

        def flush() -> None:
            if body:
                out.append(Paragraph(" ".join(body), page, tuple(h for _, h in headings)))
                body.clear()

        for line in page_text.split("\n"):
            line = line.strip()
            if not line:
                flush()
                continue
            level = _text_heading_level(line)
            if level is not None:
                flush()
                headings = [(lvl, h) for lvl, h in headings if lvl < level] + [(level, line)]
                continue
            body.append(line)
            if line.endswith((".", ":", "!", "?")) or len(line) < 0.6 * typical:
                flush()
        flush()
    return out


def _windows(sentences: list[str], max_words: int, overlap_words: int) -> list[str]:
    """Pack sentences into windows of at most max_words; consecutive windows share
    about overlap_words of whole sentences. A single over-long sentence is cut by words."""
    pieces: list[str] = []
    for s in sentences:
        words = s.split()
        if len(words) <= max_words:
            pieces.append(s)
        else:
            step = max(1, max_words - overlap_words)
            pieces += [" ".join(words[i : i + max_words]) for i in range(0, len(words) - overlap_words, step)]
    windows: list[str] = []
    current: list[str] = []
    count = 0
    for piece in pieces:
        n = len(piece.split())
        if current and count + n > max_words:
            windows.append(" ".join(current))
            keep: list[str] = []
            kept = 0
            for prev in reversed(current):
                kept += len(prev.split())
                if kept > overlap_words:
                    break
                keep.insert(0, prev)
            current, count = keep, sum(len(p.split()) for p in keep)
            if count + n > max_words:  # no room for the overlap next to a long sentence
                current, count = [], 0
        current.append(piece)
        count += n
    if current:
        windows.append(" ".join(current))
    return windows


def _pack(paragraphs: list[Paragraph], max_words: int, overlap_words: int) -> list[list[Paragraph]]:
    """Group consecutive paragraphs up to max_words; a longer paragraph becomes sentence windows."""
    groups: list[list[Paragraph]] = []
    current: list[Paragraph] = []
    count = 0
    for para in paragraphs:
        n = len(para.text.split())
        if n > max_words:
            if current:
                groups.append(current)
                current, count = [], 0
            for window in _windows(split_sentences(para.text), max_words, overlap_words):
                groups.append([Paragraph(window, para.page, para.heading_path)])
            continue
        if current and count + n > max_words:
            groups.append(current)
            current, count = [], 0
        current.append(para)
        count += n
    if current:
        groups.append(current)
    return groups


def chunk_paragraphs(
    paragraphs: list[Paragraph], passage_words: int, piece_words: int, overlap_words: int
) -> list[Chunk]:
    """Passages of one section each (up to passage_words), every passage cut into
    smaller retrieval pieces (up to piece_words) that are embedded on their own."""
    chunks: list[Chunk] = []
    i = 0
    while i < len(paragraphs):
        path = paragraphs[i].heading_path
        group = []
        while i < len(paragraphs) and paragraphs[i].heading_path == path:
            group.append(paragraphs[i])
            i += 1
        section = " > ".join(path)
        for passage in _pack(group, passage_words, overlap_words):
            pieces = ["\n\n".join(p.text for p in g) for g in _pack(passage, piece_words, overlap_words)]
            chunks.append(Chunk("\n\n".join(p.text for p in passage), section, passage[0].page, pieces))
    return chunks


@dataclass(frozen=True)
class ChunkSizes:
    """In words. e5-small reads at most 512 tokens, German legal text runs at
    about 1.6 tokens per word: pieces stay well below that with their context."""

    passage: int = 350
    piece: int = 120
    overlap: int = 20


def chunk_document(pages: list[str], kind: str, paginated: bool, sizes: ChunkSizes = ChunkSizes()) -> list[Chunk]:
    if kind == "markdown":
        paragraphs = [p for page in pages for p in _markdown_paragraphs(page, None)]
    else:
        paragraphs = _plain_paragraphs(pages, paginated)
    return chunk_paragraphs(paragraphs, sizes.passage, sizes.piece, sizes.overlap)
