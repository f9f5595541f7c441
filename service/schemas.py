"""Typed shapes of the HTTP/JSON contract (see ../shared/CONTRACT.md)."""

from __future__ import annotations

from pydantic import BaseModel


class DocumentRef(BaseModel):
    id: str
    title: str
    source: str
    collection: str
    url: str


class SearchResult(BaseModel):
    rank: int
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


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
