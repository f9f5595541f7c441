"""The write service for single documents — add an uploaded file, replace, remove,
purge history — used alike by the API, the officer pages and the CLI.

Uploads are staged under a name the server makes (`.staging/<random>/<clean name>`
inside the index folder), one folder per request, and removed when the request is
done, whatever happened: concurrent uploads of the same file name never share a
file, and nothing of a refused upload stays on disk. The content-addressed copy
in `files/` is written under the writer lock by the same transaction that makes
the document current.
"""

from __future__ import annotations

import json
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
from ingest.pipeline import GONE, IngestReport, SourceFile, sync, writer_lock
from index.store import IndexStore, document_id, now_iso
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


def ingest_file(index_folder: Path, embedder: Embedder, path: Path, root: str, source: str, collection: str,
                by: str, sizes: ChunkSizes = ChunkSizes(), limits: IngestLimits = IngestLimits(),
                only_existing: bool = False) -> WriteResult:
    """Bring one document (root, source) in line with the file at `path`; record the run."""
    store = IndexStore(index_folder)
    try:
        started = now_iso()
        report = sync([SourceFile(path, root, source)], [], store, embedder, collection, sizes,
                      progress=False, by=by, limits=limits, only_existing=only_existing)
        store.record_run(started, by, [f"{root}/{source}"], report.to_dict())
        return WriteResult(report, document_id(root, source))
    finally:
        store.close()


def upload(index_folder: Path, embedder: Embedder, filename: str | None, stream: BinaryIO, collection: str,
           by: str, meta: dict | None = None, sizes: ChunkSizes = ChunkSizes(),
           limits: IngestLimits = IngestLimits()) -> WriteResult:
    """A new document in a collection, or a new version of the one with the same file name there
    (which keeps the metadata it had, where the form gives no new value)."""
    collection = check_collection(collection)
    name = clean_filename(filename)
    existing = _lookup(index_folder, document_id(UPLOAD_ROOT + collection, name))
    if existing is not None:
        meta = _kept_meta(existing, meta)
    with staged(index_folder, name, stream, meta) as path:
        return ingest_file(index_folder, embedder, path, UPLOAD_ROOT + collection, path.name, collection, by,
                           sizes, limits)


def replace(index_folder: Path, embedder: Embedder, doc_id: str, filename: str | None, stream: BinaryIO, by: str,
            meta: dict | None = None, sizes: ChunkSizes = ChunkSizes(),
            limits: IngestLimits = IngestLimits()) -> WriteResult:
    """New content for an existing document (same format); its id, source, collection and
    metadata stay (fields given in `meta` change). If the document is deleted while the new
    content is read, the delete wins: DocumentNotFound."""
    row = _document(index_folder, doc_id)
    name = clean_filename(filename)
    if Path(name).suffix.lower() != Path(row["source"]).suffix.lower():
        raise InvalidName("Die neue Fassung muss dasselbe Dateiformat haben.")
    with staged(index_folder, Path(row["source"]).name, stream, _kept_meta(row, meta)) as path:
        result = ingest_file(index_folder, embedder, path, row["root"], row["source"], row["collection"], by,
                             sizes, limits, only_existing=True)
    if any(f.reason == GONE for f in result.report.failed):
        raise DocumentNotFound(doc_id)
    return result


def remove(index_folder: Path, embedder: Embedder, doc_id: str, by: str) -> None:
    """Remove a document and erase its text, vectors and stored originals (see IndexStore.apply)."""
    row = _document(index_folder, doc_id)
    store = IndexStore(index_folder)
    try:
        with writer_lock(store.folder):
            store.apply([], [doc_id], embedder.id, embedder.dim, by=by)
        _erase_legacy_upload(store.folder, row)
        store.record_run(now_iso(), by, [f"{row['root']}/{row['source']}"],
                         {"removed": 1, "files": [{"source": row["source"], "outcome": "removed", "problems": "",
                                                   "doc_id": doc_id}]})
        store.checkpoint()  # the WAL ends empty, the run record included
    finally:
        store.close()


def purge_history(index_folder: Path, doc_id: str) -> int:
    """Erase the version history (see IndexStore.purge_history); raises DocumentNotFound
    when there is neither a document nor any version record of that id."""
    store = IndexStore(index_folder)
    try:
        with writer_lock(store.folder):
            if store.document(doc_id) is None and not store.versions(doc_id) and not store.runs_naming(doc_id):
                raise DocumentNotFound(doc_id)
            return store.purge_history(doc_id)
    finally:
        store.close()


def _kept_meta(row, given: dict | None) -> dict:
    """A document's metadata as upload-form fields, overridden by the fields given now:
    a new version must not make an expired document answer again."""
    kept = {"title": row["title"], "gueltig_ab": row["valid_from"], "gueltig_bis": row["valid_until"],
            "zustaendig": row["owner"], "zuletzt_geprueft": row["reviewed_at"],
            "schlagworte": ", ".join(json.loads(row["keywords"] or "[]"))}
    return {**kept, **{k: v for k, v in (given or {}).items() if v not in (None, "")}}


def _lookup(index_folder: Path, doc_id: str):
    store = IndexStore(index_folder, create=False, reader=True)
    try:
        return store.document(doc_id)
    finally:
        store.close()


def _document(index_folder: Path, doc_id: str):
    row = _lookup(index_folder, doc_id)
    if row is None:
        raise DocumentNotFound(doc_id)
    return row


def _erase_legacy_upload(folder: Path, row) -> None:
    """Index folders written before staging kept a copy of each upload under `uploads/`."""
    uploads = (folder / "uploads").resolve()
    if not uploads.is_dir():
        return
    candidates = [uploads / ".replaced" / row["id"]]
    if row["root"].startswith(UPLOAD_ROOT):
        copy = uploads / row["root"][len(UPLOAD_ROOT):] / row["source"]
        candidates += [copy, copy.with_name(copy.name + ".meta.yaml")]
    for path in candidates:
        path = path.resolve()
        if not path.is_relative_to(uploads) or path == uploads:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
