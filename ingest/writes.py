"""The write service — sync files and folders, add an uploaded file, replace, remove,
purge history — used alike by the CLI, the API and the officer pages, each on a backend
(index/base.py) and each recording its run the same way.

Uploads are staged under a name the server makes (`.staging/<random>/<clean name>`
inside the index folder), one folder per request, and removed when the request is
done, whatever happened: concurrent uploads of the same file name never share a
file, and nothing of a refused upload stays on disk. The content-addressed copy
in `files/` is written under the writer lock by the same transaction that makes
the document current.
"""

from __future__ import annotations

import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from ingest.chunk import ChunkSizes
from ingest.limits import IngestLimits
from ingest.metadata import write_sidecar
from ingest.names import InvalidName, check_collection, clean_filename
from ingest.pipeline import APPLY_EVERY, GONE, IngestReport, SourceFile, ingest, sync
from index.base import Backend, Document, document_id, now_iso
from models.embedder import Embedder

UPLOAD_ROOT = "upload:"  # root of documents that came in through the API, per collection
STAGING = ".staging"


class DocumentNotFound(LookupError):
    pass


@dataclass
class WriteResult:
    report: IngestReport
    doc_id: str


@contextmanager
def staged(index_folder: Path, filename: str | None, stream: BinaryIO, meta: dict | None = None) -> Iterator[Path]:
    """The uploaded bytes as a file with a clean name in a private folder, with the form's
    metadata as a sidecar; the folder is removed afterwards. Raises InvalidName, MetadataError."""
    name = clean_filename(filename)
    folder = Path(index_folder) / STAGING / secrets.token_hex(12)
    folder.mkdir(parents=True)
    try:
        path = folder / name
        with open(path, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        write_sidecar(path, meta or {})
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def clean_staging(index_folder: Path, older_than: float = 24 * 3600) -> None:
    """Staging folders left by a killed server."""
    root = Path(index_folder) / STAGING
    for folder in root.glob("*") if root.is_dir() else ():
        try:
            if time.time() - folder.stat().st_mtime > older_than:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def sync_sources(backend: Backend, embedder: Embedder, sources: list[Path], collection: str, by: str,
                 sizes: ChunkSizes = ChunkSizes(), limits: IngestLimits = IngestLimits(),
                 progress: bool | None = None, apply_every: int = APPLY_EVERY) -> IngestReport:
    """Bring the index in line with files and folders (`amtswissen ingest`); records the run."""
    with backend.session() as store:
        return ingest(sources, store, embedder, collection, sizes, progress, by, limits, apply_every)


def ingest_file(backend: Backend, embedder: Embedder, path: Path, root: str, source: str, collection: str,
                by: str, sizes: ChunkSizes = ChunkSizes(), limits: IngestLimits = IngestLimits(),
                only_existing: bool = False) -> WriteResult:
    """Bring one document (root, source) in line with the file at `path`; record the run."""
    with backend.session() as store:
        started = now_iso()
        report = sync([SourceFile(path, root, source)], [], store, embedder, collection, sizes,
                      progress=False, by=by, limits=limits, only_existing=only_existing)
        store.record_run(started, by, [f"{root}/{source}"], {**report.to_dict(), "collection": collection})
        return WriteResult(report, document_id(root, source))


def upload(backend: Backend, embedder: Embedder, filename: str | None, stream: BinaryIO, collection: str,
           by: str, meta: dict | None = None, sizes: ChunkSizes = ChunkSizes(),
           limits: IngestLimits = IngestLimits()) -> WriteResult:
    """A new document in a collection, or a new version of the one with the same file name there
    (which keeps the metadata it had, where the form gives no new value)."""
    collection = check_collection(collection)
    name = clean_filename(filename)
    existing = _lookup(backend, document_id(UPLOAD_ROOT + collection, name))
    if existing is not None:
        meta = _kept_meta(existing, meta)
    with staged(backend.work_folder, name, stream, meta) as path:
        return ingest_file(backend, embedder, path, UPLOAD_ROOT + collection, path.name, collection, by,
                           sizes, limits)


def replace(backend: Backend, embedder: Embedder, doc_id: str, filename: str | None, stream: BinaryIO, by: str,
            meta: dict | None = None, sizes: ChunkSizes = ChunkSizes(),
            limits: IngestLimits = IngestLimits()) -> WriteResult:
    """New content for an existing document (same format); its id, source, collection and
    metadata stay (fields given in `meta` change). If the document is deleted while the new
    content is read, the delete wins: DocumentNotFound."""
    doc = _document(backend, doc_id)
    name = clean_filename(filename)
    if Path(name).suffix.lower() != Path(doc.source).suffix.lower():
        raise InvalidName("Die neue Fassung muss dasselbe Dateiformat haben.")
    with staged(backend.work_folder, Path(doc.source).name, stream, _kept_meta(doc, meta)) as path:
        result = ingest_file(backend, embedder, path, doc.root, doc.source, doc.collection, by,
                             sizes, limits, only_existing=True)
    if any(f.reason == GONE for f in result.report.failed):
        raise DocumentNotFound(doc_id)
    return result


def remove(backend: Backend, embedder: Embedder, doc_id: str, by: str) -> None:
    """Remove a document and erase its text, vectors and stored originals (see the backends' apply)."""
    doc = _document(backend, doc_id)
    with backend.session() as store:
        with store.lock():
            store.apply([], [doc_id], embedder.id, embedder.dim, by=by)
        _erase_legacy_upload(backend.work_folder, doc)
        store.record_run(now_iso(), by, [f"{doc.root}/{doc.source}"],
                         {"removed": 1, "collection": doc.collection, "files": [{"source": doc.source, "outcome": "removed", "problems": "",
                                                   "doc_id": doc_id}]})
        store.checkpoint()  # nothing of the erased text stays in a write-ahead log


def purge_history(backend: Backend, doc_id: str) -> int:
    """Erase the version history (see the backends' purge_history); raises DocumentNotFound
    when there is neither a document nor any version record of that id."""
    with backend.session() as store, store.lock():
        if store.document(doc_id) is None and not store.versions(doc_id) and not store.runs_naming(doc_id):
            raise DocumentNotFound(doc_id)
        return store.purge_history(doc_id)


def _kept_meta(doc: Document, given: dict | None) -> dict:
    """A document's metadata as upload-form fields, overridden by the fields given now:
    a new version must not make an expired document answer again."""
    kept = {"title": doc.title, "gueltig_ab": doc.valid_from, "gueltig_bis": doc.valid_until,
            "zustaendig": doc.owner, "zuletzt_geprueft": doc.reviewed_at,
            "schlagworte": ", ".join(doc.keyword_list)}
    return {**kept, **{k: v for k, v in (given or {}).items() if v not in (None, "")}}


def _lookup(backend: Backend, doc_id: str) -> Document | None:
    with backend.snapshot() as reader:
        return reader.document(doc_id)


def _document(backend: Backend, doc_id: str) -> Document:
    doc = _lookup(backend, doc_id)
    if doc is None:
        raise DocumentNotFound(doc_id)
    return doc


def _erase_legacy_upload(folder: Path, row: Document) -> None:
    """Index folders written before staging kept a copy of each upload under `uploads/`."""
    uploads = (folder / "uploads").resolve()
    if not uploads.is_dir():
        return
    candidates = [uploads / ".replaced" / row.id]
    if row.root.startswith(UPLOAD_ROOT):
        copy = uploads / row.root[len(UPLOAD_ROOT):] / row.source
        candidates += [copy, copy.with_name(copy.name + ".meta.yaml")]
    for path in candidates:
        path = path.resolve()
        if not path.is_relative_to(uploads) or path == uploads:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
