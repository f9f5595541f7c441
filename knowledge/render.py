"""A note as text: the Markdown that is indexed and exported, safe HTML for the preview,
and the difference between two versions.

The indexed Markdown has the task as a level-2 heading and each section as a level-3
heading below it, so the chunker (ingest/chunk.py) makes one passage per section with
the heading path "Aufgabe > Abschnitt" — a question about documents lands on the
"Unterlagen" section, not on the whole note.
"""

from __future__ import annotations

import difflib
import re

from markdown_it import MarkdownIt

from knowledge.model import SECTIONS, NoteVersion, Task

# Raw HTML in a note is shown as text, never interpreted; links only to http(s), mailto
# and pages of this application (markdown-it's own check refuses javascript: and data:).
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
# any line the chunker would read as a heading (it strips lines: indentation does not make code)
_HEADING_LINE = re.compile(r"^[ \t]*#{1,6}(?=\s)", re.M)


def section_markdown(text: str) -> str:
    """A section's own headings sit below the section heading in the indexed file: a
    "# …" written inside a section must not open a new section or a new task."""
    return _HEADING_LINE.sub("####", text.strip())


def note_markdown(task: Task, version: NoteVersion) -> str:
    """The released note as the Markdown file that is indexed (and offered for download)."""
    lines = [f"## {task.name}", ""]
    for _, heading, text in version.filled():
        lines += [f"### {heading}", "", section_markdown(text), ""]
    return "\n".join(lines).strip() + "\n"


def to_html(markdown: str) -> str:
    return _MD.render(markdown or "")


def diff(old: NoteVersion | None, new: NoteVersion) -> list[dict]:
    """Per section: what changed from `old` to `new`, as lines marked "+", "-" or " "."""
    out = []
    for key, heading in SECTIONS:
        before = (old.sections.get(key, "") if old else "").splitlines()
        after = new.sections.get(key, "").splitlines()
        if before == after:
            continue
        lines = []
        for line in difflib.ndiff(before, after):
            if line.startswith("? "):
                continue
            lines.append({"mark": line[0], "text": line[2:]})
        out.append({"key": key, "heading": heading, "lines": lines})
    return out
