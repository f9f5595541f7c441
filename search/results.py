"""What a search returns: small typed results, also the shape of the JSON API's search
response (service/ serialises them as they are; ../shared/CONTRACT.md)."""

from __future__ import annotations

from pydantic import BaseModel


class NoteRef(BaseModel):
    """A result from a task's released note (Verfahrenshinweis): who wrote and who released it."""
    task: str
    task_name: str
    version: int
    author: str
    approver: str
    released_at: str
    url: str


class DocumentRef(BaseModel):
    id: str
    title: str
    source: str
    collection: str
    url: str
    # knowledge officers' metadata, where the document has it (sidecar .meta.yaml or front matter)
    valid_from: str | None = None
    valid_until: str | None = None
    owner: str | None = None
    reviewed_at: str | None = None
    keywords: list[str] = []
    review_overdue: bool = False  # not reviewed for longer than the configured period
    note: NoteRef | None = None  # set when the passage comes from a released task note


class SearchResult(BaseModel):
    rank: int
    passage_id: int  # anchor on the document page: /dokument/{id}#abschnitt-{passage_id}
    score: float
    text: str
    # the sentence (or two) of `text` that answers, as it stands there; in a long numbered list
    # its lead-in and the answering item joined by " … " (search/highlight.py); None: none shares
    # the question's words
    highlight: str | None
    section: str
    page: int | None
    document: DocumentRef


class Answer(BaseModel):
    """The answer box: the sentence of the top result that answers the question, quoted word
    for word with its source. Only set when the search is confident (search/answer.py)."""
    text: str  # a quote from the passage; "…" joins a list's lead-in and the item that answers
    rank: int  # the result it is quoted from
    passage_id: int
    section: str
    page: int | None
    document: DocumentRef
    notice: str = "Wörtliches Zitat aus der Quelle, keine Rechtsauskunft. Maßgeblich ist der Text im Zusammenhang."


class SearchResponse(BaseModel):
    query: str
    took_ms: float
    results: list[SearchResult]
    # typo corrections the search used ("Persnalausweis" → "personalausweis"), only from
    # passages the caller may read
    corrections: dict[str, str] = {}
    # released task notes (Verfahrenshinweise) that answer the question, ranked among the
    # notes only and shown above the documents; empty when no note comes close (search/searcher.py)
    notes: list[SearchResult] = []
    # the sentence that answers, with its source; None when the search is not confident (issue 14)
    answer: Answer | None = None
    # how close the index came: the cosine of the piece nearest to the question, over what the
    # caller may read (None in lexical mode); below about 0.85 nothing really answers (issue 15)
    similarity: float | None = None
