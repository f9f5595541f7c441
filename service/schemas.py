"""Typed shapes of the HTTP/JSON contract (see ../shared/CONTRACT.md)."""

from __future__ import annotations

from pydantic import BaseModel

from search.results import DocumentRef, SearchResponse, SearchResult  # noqa: F401 - part of the contract


class Health(BaseModel):
    status: str
    documents: int
    chunks: int


class VersionInfo(BaseModel):
    version: int
    event: str
    sha256: str | None
    size: int | None
    at: str
    by: str


class DocumentInfo(BaseModel):
    id: str
    title: str
    source: str
    collection: str
    version: int | None
    ingested_at: str
    pages: int | None
    chunks: int
    kind: str
    status: str
    problems: str
    url: str
    versions: list[VersionInfo] | None = None


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class IngestResult(BaseModel):
    id: str | None
    added: int
    updated: int
    unchanged: int
    chunks: int


class HistoryPurged(BaseModel):
    id: str
    versions_erased: int
