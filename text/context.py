"""The text a passage is read as, by the embedding model and the lexical index alike."""

from __future__ import annotations


def context_text(title: str, section: str, text: str) -> str:
    """The passage with where it stands (document title and heading path), which the
    displayed text leaves out."""
    return "\n".join(part for part in (title, section, text) if part)
