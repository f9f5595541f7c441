"""Knowledge officers' API: list, inspect, upload, replace and delete documents; ingest history."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse

from ingest.extract import SUPPORTED_SUFFIXES
from ingest.metadata import MetadataError, write_sidecar
from ingest.pipeline import SourceFile, sync
from ingest.store import IndexStore, now_iso
from service.deps import SearcherDep, WriterDep
from service.schemas import DocumentInfo, DocumentList, IngestResult, VersionInfo

router = APIRouter(prefix="/api", tags=["Dokumente"])

UPLOAD_ROOT = "upload:"  # root of documents that came in through the API, per collection


def _info(row, version: int | None = None) -> DocumentInfo:
    problems = row["problems"] or ""
    return DocumentInfo(
        id=row["id"], title=row["title"], source=row["source"], collection=row["collection"],
        version=version if version is not None else row["version"], ingested_at=row["ingested_at"],
        pages=row["pages"], chunks=row["chunks"], kind=row["kind"],
        status="teilweise" if any("per Texterkennung (OCR) gelesen" not in p for p in problems.split("; ") if p)
        else "ok",
        problems=problems,
        url=f"/api/documents/{row['id']}/file",
    )


def _safe_name(filename: str | None) -> str:
    name = Path(filename or "").name.strip()
    if not name or name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise HTTPException(
            status_code=422,
            detail=f"Dateiname fehlt oder Format nicht unterstützt ({', '.join(sorted(SUPPORTED_SUFFIXES))}).",
        )
    return name


def _ingest_one(request: Request, searcher, path: Path, root: str, source: str, collection: str, by: str):
    settings = request.app.state.settings
    store = IndexStore(searcher.index_folder)
    try:
        started = now_iso()
        report = sync([SourceFile(path, root, source)], [], store, searcher.embedder, collection,
                      settings.chunk_sizes(), progress=False, by=by)
        store.record_run(started, by, [f"{root}{source}"], report.to_dict())
        return report
    finally:
        store.close()


def _save_upload(file: UploadFile, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = target.with_name(target.name + ".part")
    with open(tmp, "wb") as out:
        while block := file.file.read(1 << 20):
            out.write(block)
    tmp.replace(target)
    return target


@router.get("/documents", response_model=DocumentList)
def list_documents(searcher: SearcherDep) -> DocumentList:
    with searcher.snapshot() as store:
        rows = store.list_documents()
    return DocumentList(documents=[_info(r) for r in rows])


@router.get("/documents/{doc_id}", response_model=DocumentInfo)
def get_document(doc_id: str, searcher: SearcherDep) -> DocumentInfo:
    with searcher.snapshot() as store:
        row = next(iter(store.list_documents(doc_id)), None)
        versions = store.versions(doc_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    info = _info(row)
    info.versions = [VersionInfo(version=v["version"], event=v["event"], sha256=v["sha256"], size=v["size"],
                                 at=v["at"], by=v["by"]) for v in versions]
    return info


@router.get("/documents/{doc_id}/file", include_in_schema=True)
def document_file(doc_id: str, searcher: SearcherDep) -> FileResponse:
    row = searcher.document(doc_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    path = searcher.index_folder / row["stored_file"]
    if not path.exists():
        raise HTTPException(status_code=404, detail="Die Originaldatei fehlt im Index.")
    media = mimetypes.guess_type(row["source"])[0] or "application/octet-stream"
    if row["kind"] == "markdown":
        media = "text/markdown"
    if media.startswith("text/"):
        media += "; charset=utf-8"
    # inline, so a PDF opens in the browser at #page=N
    return FileResponse(path, media_type=media, filename=Path(row["source"]).name, content_disposition_type="inline")


OptionalForm = Annotated[str | None, Form(max_length=500)]


@router.post("/documents", response_model=IngestResult, status_code=201)
def upload_document(
    request: Request, searcher: SearcherDep, by: WriterDep, file: UploadFile,
    collection: Annotated[str, Form(max_length=64)] = "default",
    title: OptionalForm = None, gueltig_ab: OptionalForm = None, gueltig_bis: OptionalForm = None,
    zustaendig: OptionalForm = None, zuletzt_geprueft: OptionalForm = None, schlagworte: OptionalForm = None,
) -> IngestResult:
    """Add a document to a collection; a file of the same name in that collection is replaced.
    The optional fields are the document's metadata (dates as JJJJ-MM-TT, keywords comma-separated)."""
    meta = {"title": title, "gueltig_ab": gueltig_ab, "gueltig_bis": gueltig_bis, "zustaendig": zustaendig,
            "zuletzt_geprueft": zuletzt_geprueft, "schlagworte": schlagworte}
    return upload(request, searcher, file, collection, by, meta)


@router.put("/documents/{doc_id}", response_model=IngestResult)
def replace_document(doc_id: str, request: Request, searcher: SearcherDep, by: WriterDep, file: UploadFile) -> IngestResult:
    """New content for an existing document: from now on only the new text answers."""
    row = searcher.document(doc_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    name = _safe_name(file.filename)
    if Path(name).suffix.lower() != Path(row["source"]).suffix.lower():
        raise HTTPException(status_code=422, detail="Die neue Fassung muss dasselbe Dateiformat haben.")
    path = _save_upload(file, searcher.index_folder / "uploads" / ".replaced" / doc_id, Path(row["source"]).name)
    report = _ingest_one(request, searcher, path, row["root"], row["source"], row["collection"], by)
    return _result(report, searcher, row["root"], row["source"])


@router.delete("/documents/{doc_id}", status_code=204)
def delete_document(doc_id: str, searcher: SearcherDep, by: WriterDep) -> None:
    remove_document(searcher, doc_id, by)


def upload(request: Request, searcher, file: UploadFile, collection: str, by: str, meta: dict | None = None):
    """Save an uploaded file into the collection's upload folder and ingest it (API and officer pages)."""
    if not re.fullmatch(r"[\w\-. ]{1,64}", collection):
        raise HTTPException(status_code=422, detail="Ungültiger Name der Sammlung.")
    name = _safe_name(file.filename)
    path = _save_upload(file, searcher.index_folder / "uploads" / collection, name)
    try:
        write_sidecar(path, meta or {})
    except MetadataError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    report = _ingest_one(request, searcher, path, UPLOAD_ROOT + collection, name, collection, by)
    return _result(report, searcher, UPLOAD_ROOT + collection, name)


def remove_document(searcher, doc_id: str, by: str) -> None:
    from ingest.pipeline import writer_lock

    row = searcher.document(doc_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
    store = IndexStore(searcher.index_folder)
    try:
        with writer_lock(store.folder):
            store.apply([], [doc_id], searcher.embedder.id, searcher.embedder.dim, by=by)
        store.record_run(now_iso(), by, [f"{row['root']}{row['source']}"],
                         {"removed": 1, "files": [{"source": row["source"], "outcome": "removed", "problems": ""}]})
    finally:
        store.close()


@router.get("/ingest/runs", tags=["Betrieb"])
def ingest_runs(searcher: SearcherDep, limit: int = 50) -> list[dict]:
    with searcher.snapshot() as store:
        return store.runs(max(1, min(limit, 500)))


def _result(report, searcher, root: str, source: str) -> IngestResult:
    if report.failed:
        raise HTTPException(status_code=422, detail=report.failed[0].reason)
    with searcher.snapshot() as store:
        row = store.documents_under(root).get(source)
    return IngestResult(id=row["id"] if row else None, added=report.added, updated=report.updated,
                        unchanged=report.unchanged, chunks=report.chunks)
