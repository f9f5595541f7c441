"""Knowledge officers' API: list, inspect, upload, replace and delete documents; ingest history."""

from __future__ import annotations

import functools
import mimetypes
import threading
from urllib.parse import quote
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator

from fastapi import APIRouter, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response

from ingest import writes
from ingest.metadata import MetadataError
from ingest.names import InvalidName, display_name
from index.base import Document, ModelMismatch
from ingest.writes import DocumentNotFound
from access.model import Rights
from knowledge.service import is_note_document
from service.auth import Denied
from service.deps import RightsDep, SearcherDep, WriterDep, client_address
from service.errors import responses
from service.schemas import DocumentInfo, DocumentList, HistoryPurged, IngestResult, VersionInfo

router = APIRouter(prefix="/api", tags=["Dokumente"])

# media types the original of a supported format is served as
FILE_TYPES = ["application/pdf", "text/markdown", "text/plain", "text/html",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "application/vnd.oasis.opendocument.text", "message/rfc822", "application/octet-stream"]


def _info(doc: Document, version: int | None = None) -> DocumentInfo:
    problems = doc.problems or ""
    return DocumentInfo(
        id=doc.id, title=doc.title, source=doc.source, collection=doc.collection,
        version=version if version is not None else doc.version, ingested_at=doc.ingested_at,
        pages=doc.pages, chunks=doc.chunks, kind=doc.kind,
        status="teilweise" if any("per Texterkennung (OCR) gelesen" not in p for p in problems.split("; ") if p)
        else "ok",
        problems=problems,
        url=f"/api/documents/{doc.id}/file",
    )


class WriteSlots:
    """Uploads and replacements running at once, per tenant: one municipality's bulk
    upload takes at most `per_tenant` of the workers, the rest stay free for the
    others' searches and writes. A full tenant gets 429, not a queue."""

    def __init__(self, per_tenant: int):
        self.per_tenant = per_tenant
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, tenant: str) -> Iterator[None]:
        with self._lock:
            if self._running.get(tenant, 0) >= self.per_tenant:
                raise Denied(429, f"Für diesen Mandanten laufen schon {self.per_tenant} Uploads. "
                                  "Bitte warten, bis einer fertig ist.", {"Retry-After": "5"})
            self._running[tenant] = self._running.get(tenant, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[tenant] -= 1


def note_deputy_use(request: Request, rights: Rights, collections: set[str], target: str) -> None:
    """A deputy's every use of what they hold only as a deputy goes into the audit log."""
    used = collections & rights.via_deputy
    if used:
        access = request.app.state.access
        for collection in sorted(used):
            access.audit(rights, "vertretung-genutzt", collection, target, request.url.path,
                         client_address(request))


def readable_document(reader, doc_id: str, rights: Rights) -> Document:
    """The document if the caller may read it; 404 otherwise (whether it exists is not told)."""
    doc = reader.document(doc_id)
    if doc is None or not rights.can_read(doc.collection):
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    return doc


def editable_document(searcher, doc_id: str, rights: Rights) -> Document:
    with searcher.snapshot() as reader:
        doc = readable_document(reader, doc_id, rights)
    if not rights.can_edit(doc.collection):
        raise Denied(403, f"Keine Schreibrechte für die Sammlung „{doc.collection}“.")
    if is_note_document(doc.root):
        # a released note changes only through its task: a new version and a second person's release
        raise Denied(409, "Dieses Dokument ist der freigegebene Verfahrenshinweis einer Aufgabe; "
                          "es wird über die Aufgabe geändert oder gelöscht (/wissen).")
    return doc


def _limits(request: Request):
    settings = request.app.state.settings
    return settings.chunk_sizes(), settings.ingest_limits()


@contextmanager
def _as_http_errors() -> Iterator[None]:
    """The write service's errors as HTTP answers with a German detail."""
    try:
        yield
    except (InvalidName, MetadataError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except DocumentNotFound as exc:
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.") from exc
    except ModelMismatch as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.get("/documents", response_model=DocumentList, responses=responses(401))
def list_documents(searcher: SearcherDep, rights: RightsDep) -> DocumentList:
    """The documents of the collections the caller may read."""
    with searcher.snapshot() as store:
        rows = store.list_documents()
    return DocumentList(documents=[_info(r) for r in rows if rights.can_read(r.collection)])


@router.get("/documents/{doc_id}", response_model=DocumentInfo, responses=responses(401, 404))
def get_document(doc_id: str, request: Request, searcher: SearcherDep, rights: RightsDep) -> DocumentInfo:
    with searcher.snapshot() as store:
        row = next(iter(store.list_documents(doc_id)), None)
        versions = store.versions(doc_id)
    if row is None or not rights.can_read(row.collection):
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    note_deputy_use(request, rights, {row.collection}, doc_id)
    info = _info(row)
    info.versions = [VersionInfo(version=v.version, event=v.event, sha256=v.sha256, size=v.size, at=v.at, by=v.by)
                     for v in versions]
    return info


@router.get("/documents/{doc_id}/file", response_class=FileResponse, responses={
    200: {"description": "die Originaldatei", "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                         for t in FILE_TYPES}},
    **responses(401, 404)})
def document_file(doc_id: str, request: Request, searcher: SearcherDep, rights: RightsDep) -> Response:
    with searcher.snapshot() as reader:
        doc = readable_document(reader, doc_id, rights)
        original = reader.original(doc.stored_file)  # a file in the folder, or bytes from PostgreSQL
    if original is None:
        raise HTTPException(status_code=404, detail="Die Originaldatei fehlt im Index.")
    access = request.app.state.access
    registered = access.store.collection(doc.collection)
    if registered is None or registered.visibility != "oeffentlich":  # downloads of restricted files
        access.audit(rights, "datei-abgerufen", doc.collection, doc.id, doc.source, client_address(request))
    note_deputy_use(request, rights, {doc.collection}, doc.id)
    media = mimetypes.guess_type(doc.source)[0] or "application/octet-stream"
    if Path(doc.source).suffix.lower() in (".md", ".markdown"):
        media = "text/markdown"
    if media.startswith("text/"):
        media += "; charset=utf-8"
    # inline, so a PDF opens in the browser at #page=N; an uploaded web page or e-mail
    # runs no script and reaches nothing of this origin (CSP sandbox)
    headers = {"Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"} \
        if media.startswith(("text/html", "message/")) else None
    if isinstance(original, bytes):
        disposition = {"Content-Disposition": f"inline; filename*=utf-8''{quote(Path(doc.source).name)}"}
        return Response(original, media_type=media, headers={**(headers or {}), **disposition})
    return FileResponse(original, media_type=media, filename=Path(doc.source).name,
                        content_disposition_type="inline", headers=headers)


OptionalForm = Annotated[str | None, Form(max_length=500)]


WRITE_ERRORS = responses(401, 403, 413, 422, 429)


@router.post("/documents", response_model=IngestResult, status_code=201, responses=WRITE_ERRORS)
def upload_document(
    request: Request, searcher: SearcherDep, rights: WriterDep, file: UploadFile,
    collection: Annotated[str, Form(max_length=64)] = "default",
    title: OptionalForm = None, gueltig_ab: OptionalForm = None, gueltig_bis: OptionalForm = None,
    zustaendig: OptionalForm = None, zuletzt_geprueft: OptionalForm = None, schlagworte: OptionalForm = None,
) -> IngestResult:
    """Add a document to a collection; a file of the same name in that collection is replaced.
    The optional fields are the document's metadata (dates as JJJJ-MM-TT, keywords comma-separated).
    Collection names: letters, digits, "-" and "_"."""
    meta = {"title": title, "gueltig_ab": gueltig_ab, "gueltig_bis": gueltig_bis, "zustaendig": zustaendig,
            "zuletzt_geprueft": zuletzt_geprueft, "schlagworte": schlagworte}
    return upload(request, searcher, file, collection, rights, meta)


@router.put("/documents/{doc_id}", response_model=IngestResult, responses={**WRITE_ERRORS, **responses(404)})
def replace_document(
    doc_id: str, request: Request, searcher: SearcherDep, rights: WriterDep, file: UploadFile,
    title: OptionalForm = None, gueltig_ab: OptionalForm = None, gueltig_bis: OptionalForm = None,
    zustaendig: OptionalForm = None, zuletzt_geprueft: OptionalForm = None, schlagworte: OptionalForm = None,
) -> IngestResult:
    """New content for an existing document: from now on only the new text answers. Its metadata
    stay; the optional fields change them. A document deleted meanwhile stays deleted (404)."""
    sizes, limits = _limits(request)
    meta = {"title": title, "gueltig_ab": gueltig_ab, "gueltig_bis": gueltig_bis, "zustaendig": zustaendig,
            "zuletzt_geprueft": zuletzt_geprueft, "schlagworte": schlagworte}
    doc = editable_document(searcher, doc_id, rights)
    access = request.app.state.access
    with request.app.state.write_slots.slot(access.tenant_of(doc.collection)), _as_http_errors():
        result = writes.replace(searcher.backend, searcher.embedder, doc_id, file.filename, file.file,
                                rights.principal.name, meta, sizes, limits)
    access.audit(rights, "dokument-ersetzt", doc.collection, doc_id, display_name(file.filename),
                 client_address(request))
    return _result(result)


@router.delete("/documents/{doc_id}", status_code=204, responses={**responses(401, 403, 404, 429)})
def delete_document(doc_id: str, request: Request, searcher: SearcherDep, rights: WriterDep) -> None:
    """Remove a document and erase its text, its vectors and the stored originals of all its
    versions. The version records (date, who, hash, size) stay until the history is purged."""
    remove_document(request, searcher, doc_id, rights)


@router.delete("/documents/{doc_id}/history", response_model=HistoryPurged, responses=responses(401, 403, 404, 429))
def purge_document_history(doc_id: str, request: Request, searcher: SearcherDep,
                           rights: WriterDep) -> HistoryPurged:
    """Erase the version history: of a current document every version but the current one;
    of a deleted document all its records and its name in the ingest runs (tenant
    administrators of the default tenant only, as the record no longer names a collection)."""
    with searcher.snapshot() as reader:
        doc = reader.document(doc_id)
    if doc is not None:
        editable_document(searcher, doc_id, rights)
    elif request.app.state.settings.default_tenant not in rights.admin_of:
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    with _as_http_errors():
        erased = writes.purge_history(searcher.backend, doc_id)
    request.app.state.access.audit(rights, "verlauf-geloescht", doc.collection if doc else "", doc_id,
                                   f"{erased} Versionen", client_address(request))
    return HistoryPurged(id=doc_id, versions_erased=erased)


def upload(request: Request, searcher, file: UploadFile, collection: str, rights: Rights, meta: dict | None = None):
    """Stage an uploaded file and ingest it into the collection (API and officer pages)."""
    sizes, limits = _limits(request)
    if not rights.can_edit(collection):
        # a new collection name belongs to the default tenant: its editors may start it
        access = request.app.state.access
        new = access.store.collection(collection) is None and collection not in rights.read
        if not (new and access.rights(rights.principal, [collection]).can_edit(collection)):
            raise Denied(403, f"Keine Schreibrechte für die Sammlung „{collection}“.")
    access = request.app.state.access
    with request.app.state.write_slots.slot(access.tenant_of(collection)), _as_http_errors():
        result = writes.upload(searcher.backend, searcher.embedder, file.filename, file.file, collection,
                               rights.principal.name, meta, sizes, limits)
    access.audit(rights, "dokument-hochgeladen", collection, result.doc_id or "", display_name(file.filename),
                 client_address(request))
    return _result(result)


def remove_document(request: Request, searcher, doc_id: str, rights: Rights) -> None:
    doc = editable_document(searcher, doc_id, rights)
    with _as_http_errors():
        writes.remove(searcher.backend, searcher.embedder, doc_id, rights.principal.name)
    request.app.state.access.audit(rights, "dokument-geloescht", doc.collection, doc_id, doc.source,
                                   client_address(request))


@router.get("/ingest/runs", tags=["Betrieb"], responses=responses(401, 403, 429))
def ingest_runs(request: Request, searcher: SearcherDep, rights: WriterDep,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
    """The ingest history with each file's outcome, of the collections the caller may edit
    (it names files)."""
    with searcher.snapshot() as store:
        return visible_runs(store.runs(limit), rights, request.app.state.access.tenant_of)


def visible_runs(runs: list[dict], rights: Rights, tenant_of) -> list[dict]:
    """Runs of the collections the caller edits — or, for a collection that is gone from
    the index (its last document deleted), of the tenants the caller administers."""
    tenant_of = functools.cache(tenant_of)  # one lookup per collection, not per run
    out = []
    for run in runs:
        collection = (run.get("report") or {}).get("collection")
        if collection is not None and rights.can_edit(collection):
            out.append(run)
        # a collection gone from the index, or a run recorded before runs named their
        # collection (then: the default tenant's): its tenant's administrators
        elif tenant_of(collection or "") in rights.admin_of:
            out.append(run)
    return out


def _result(result: writes.WriteResult) -> IngestResult:
    report = result.report
    if report.failed:
        raise HTTPException(status_code=422, detail=report.failed[0].reason)
    return IngestResult(id=result.doc_id, added=report.added, updated=report.updated,
                        unchanged=report.unchanged, chunks=report.chunks)
