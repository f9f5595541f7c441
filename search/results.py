"""What a search returns: small typed results, also the shape of the JSON API's search
response (service/ serialises them as they are; ../shared/CONTRACT.md)."""

from __future__ import annotations

from pydantic import BaseModel


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


class SearchResult(BaseModel):
    rank: int
    passage_id: int  # anchor on the document page: /dokument/{id}#abschnitt-{passage_id}
    score: float
    text: str
    highlight: str | None
    section: str
    page: int | None
    document: DocumentRef


class SearchResponse(BaseModel):
    query: str
    took_ms: float
    results: list[SearchResult]
    # typo corrections the search used ("Persnalausweis" → "personalausweis"), only from
    # passages the caller may read
    corrections: dict[str, str] = {}
