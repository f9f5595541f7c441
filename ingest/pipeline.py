"""The ingest pipeline: bring the index in line with files and folders.

extract → clean → chunk → embed (with a cache by text hash) → store.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.chunk import ChunkSizes, chunk_document
from text.context import context_text
from ingest.clean import clean_pages, is_usable
from ingest.errors import ExtractionError
from ingest.extract import SUPPORTED_SUFFIXES, Extracted, extract
from ingest.limits import IngestLimits, LimitExceeded
from ingest.metadata import DocumentMeta, MetadataError, from_mapping, read_sidecar, sidecar_for
from ingest.ocr import largest_image_pixels, ocr_page, ocr_status
from ingest.repair import repair_page
from index.base import ChunkRecord, DocumentRecord, PieceRecord, Session, document_id, now_iso, stored_name
from models.embedder import Embedder

logger = logging.getLogger(__name__)

# Documents written per transaction: bounds memory and the work a crash can lose
# (Settings.apply_every).
APPLY_EVERY = 25


GONE = "Das Dokument wurde inzwischen gelöscht"


class IngestError(Exception):
    """Nothing could be done (bad arguments, index not writable)."""


@dataclass
class Failure:
    source: str
    reason: str


STAGES = ("lesen", "einbetten", "schreiben", "lexikalisch")


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[Failure] = field(default_factory=list)
    chunks: int = 0  # chunks embedded in this run (cache misses)
    chunks_written: int = 0  # chunks of added or updated documents
    seconds: float = 0.0
    # seconds per stage: reading (extract, OCR, chunk), embedding, writing (SQLite, vectors), lexical index
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    files: list[dict] = field(default_factory=list)  # per-file outcome, for the run history

    def fail(self, source: str, reason: str, doc_id: str | None = None) -> None:
        self.failed.append(Failure(source, reason))
        self.files.append({"source": source, "outcome": "failed", "problems": reason, "doc_id": doc_id})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        d["stages"] = {k: round(v, 3) for k, v in self.stages.items()}
        return d


@dataclass
class SourceFile:
    path: Path
    root: str
    source: str


def discover(sources: list[Path]) -> tuple[list[SourceFile], list[str], list[Failure]]:
    """Files to ingest, the folder roots they came from, and sources that do not exist."""
    files: list[SourceFile] = []
    folder_roots: list[str] = []
    missing: list[Failure] = []
    for src in sources:
        path = Path(src).expanduser()
        if path.is_dir():
            root = path.resolve()
            folder_roots.append(str(root))
            for f in sorted(root.rglob("*")):
                rel = f.relative_to(root)
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and not any(
                    part.startswith(".") for part in rel.parts
                ):
                    files.append(SourceFile(f, str(root), rel.as_posix()))
        elif path.is_file():
            files.append(SourceFile(path.resolve(), str(path.resolve()), path.name))
        else:
            missing.append(Failure(str(src), "Datei oder Ordner nicht gefunden"))
    return files, folder_roots, missing


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(path: Path) -> str:
    """The file's hash, combined with its metadata sidecar: editing either is a change."""
    sha = sha256_file(path)
    sidecar = sidecar_for(path)
    if sidecar is None:
        return sha
    return hashlib.sha256((sha + sha256_file(sidecar)).encode()).hexdigest()


def _title(extracted: Extracted, pages: list[str], path: Path) -> str:
    t = extracted.title
    # PDF metadata titles are often file names of the authoring tool ("satzung.indd").
    if t and " " in t.strip() and not re.search(r"\.\w{2,5}$", t.strip()):
        return t.strip()
    if extracted.kind == "pdf":
        for line in pages[0].split("\n") if pages else []:
            line = line.strip()
            if 8 <= len(line) <= 100 and is_usable(line, min_words=2):
                return line
    return t.strip() if t else path.stem.replace("_", " ")


def _abbreviation(title: str) -> str:
    """"Gesetz über Personalausweise ... (PAuswG)" → "PAuswG"."""
    m = re.search(r"\(([A-ZÄÖÜ][\w\- ]{1,15})\)\s*$", title)
    return m.group(1) if m else ""


def _ocr_unusable_pages(path: Path, pages: list[str], problems: list[str], limits: IngestLimits) -> list[str]:
    """Pages without usable text (scans, glyph garbage) are read by OCR when it is installed;
    otherwise they are left out and reported. The document is refused when it needs more
    OCR pages or time than the limits allow, or draws an image too large to decode."""
    out = list(pages)
    todo = [i for i, page in enumerate(pages) if not is_usable(page)]
    if not todo:
        return out
    reason = ocr_status()
    if reason:
        for i in todo:
            problems.append(f"Seite {i + 1}: kein verwertbarer Text – {reason}")
            out[i] = ""
        return out
    if len(todo) > limits.max_ocr_pages:
        raise LimitExceeded(f"{len(todo)} Seiten ohne verwertbaren Text bräuchten Texterkennung; erlaubt sind "
                            f"höchstens {limits.max_ocr_pages} je Dokument (Einstellung AMTSWISSEN_MAX_OCR_PAGES)")
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")
    deadline = time.monotonic() + limits.max_ocr_seconds
    for i in todo:
        pixels = largest_image_pixels(reader.pages[i])
        if pixels > limits.max_image_pixels:
            raise LimitExceeded(f"Seite {i + 1} enthält ein Bild mit {pixels / 1e6:.0f} Megapixeln; erlaubt sind "
                                f"höchstens {limits.max_image_pixels / 1e6:.0f} (AMTSWISSEN_MAX_IMAGE_MEGAPIXELS)")
        left = deadline - time.monotonic()
        if left <= 0:
            raise _ocr_too_slow(limits)
        try:
            text = clean_pages([ocr_page(path, i + 1, timeout=left, memory_bytes=limits.ocr_memory_bytes)],
                               paginated=True)[0]
        except subprocess.TimeoutExpired as exc:
            if time.monotonic() >= deadline:
                raise _ocr_too_slow(limits) from exc
            problems.append(f"Seite {i + 1}: Texterkennung abgebrochen (zu langsam)")
            out[i] = ""
            continue
        except Exception as exc:  # noqa: BLE001 - OCR failing on one page must not stop the document
            problems.append(f"Seite {i + 1}: Texterkennung fehlgeschlagen ({type(exc).__name__})")
            out[i] = ""
            continue
        if is_usable(text):
            out[i] = text
            problems.append(f"Seite {i + 1}: per Texterkennung (OCR) gelesen")
        else:
            problems.append(f"Seite {i + 1}: auch per Texterkennung kein verwertbarer Text")
            out[i] = ""
    return out


def _ocr_too_slow(limits: IngestLimits) -> LimitExceeded:
    return LimitExceeded(f"Die Texterkennung brauchte länger als {limits.max_ocr_seconds:.0f} s für dieses Dokument "
                         "(Einstellung AMTSWISSEN_MAX_OCR_SECONDS)")


def prepare_document(sf: SourceFile, sha: str, collection: str, sizes: ChunkSizes,
                     limits: IngestLimits = IngestLimits()):
    """Extract, clean and chunk one file. Raises ExtractionError with a German reason."""
    extracted = extract(sf.path, limits)
    problems = list(extracted.problems)
    if extracted.kind == "pdf":
        pages = clean_pages([repair_page(p) for p in extracted.pages], paginated=True)
        pages = _ocr_unusable_pages(sf.path, pages, problems, limits)
    else:
        pages = clean_pages(extracted.pages, extracted.paginated)
    if not any(is_usable(p, min_words=1) for p in pages):
        raise ExtractionError("Kein verwertbarer Text gefunden: " + ("; ".join(problems) or "nur Zeichensalat"))
    chunks = chunk_document(pages, extracted.kind, extracted.paginated, sizes)
    if not chunks:
        raise ExtractionError("Kein verwertbarer Text gefunden")
    sidecar = sidecar_for(sf.path)
    try:
        meta = from_mapping(extracted.front_matter) if extracted.front_matter else DocumentMeta()
        if sidecar is not None:
            meta = meta.merged(read_sidecar(sidecar))
    except MetadataError as exc:
        raise ExtractionError(f"Metadaten: {exc}") from exc
    title = meta.title or _title(extracted, pages, sf.path)
    doc = DocumentRecord(
        id=document_id(sf.root, sf.source),
        root=sf.root,
        source=sf.source,
        collection=collection,
        title=title,
        kind=extracted.kind,
        sha256=sha,
        size=sf.path.stat().st_size,
        pages=len(pages) if extracted.paginated else None,
        stored_file=stored_name(sha256_file(sf.path), sf.path.suffix),
        original=sf.path,
        ingested_at=now_iso(),
        problems="; ".join(problems),
        abbr=extracted.abbr or _abbreviation(title),
        valid_from=meta.valid_from,
        valid_until=meta.valid_until,
        owner=meta.owner,
        reviewed_at=meta.reviewed_at,
        keywords=meta.keywords_json(),
    )
    return doc, chunks


def _embed_pieces(doc: DocumentRecord, chunks, store: Session, embedder: Embedder, progress) -> tuple[list[ChunkRecord], int]:
    """Vectors for every piece, from the cache where the same text was embedded before
    (so editing one paragraph re-embeds only the pieces whose text changed)."""
    texts: dict[str, str] = {}
    hashes: list[list[str]] = []
    for c in chunks:
        row = []
        for piece in c.pieces:
            # each piece is embedded with the document title and heading path in front
            text = context_text(doc.title, c.section, piece)
            h = hashlib.sha256(text.encode()).hexdigest()
            texts[h] = text
            row.append(h)
        hashes.append(row)
    cached = store.cached_vectors(list(texts), embedder.id)
    todo = [h for h in texts if h not in cached]
    if todo:
        fresh = dict(zip(todo, embedder.embed_passages([texts[h] for h in todo], progress=progress)))
        with store.lock():
            store.cache_vectors(fresh, embedder.id)
        cached.update(fresh)
    records = [ChunkRecord(c.text, c.section, c.page, [PieceRecord(h, cached[h]) for h in row])
               for c, row in zip(chunks, hashes)]
    return records, len(todo)


def public_reason(exc: BaseException, path: Path) -> str:
    """An unexpected error as a reason to show: its type and message, without server paths."""
    message = str(exc)
    for p in {str(path), str(path.parent)}:
        message = message.replace(p, path.name)
    return f"Unerwarteter Fehler beim Lesen ({type(exc).__name__}: {message})"


def sync(
    files: list[SourceFile],
    folder_roots: list[str],
    store: Session,
    embedder: Embedder,
    collection: str = "default",
    sizes: ChunkSizes = ChunkSizes(),
    progress: bool | None = None,
    by: str = "system",
    report: IngestReport | None = None,
    limits: IngestLimits = IngestLimits(),
    only_existing: bool = False,
    apply_every: int = APPLY_EVERY,
) -> IngestReport:
    """Bring the index in line with these files; documents under `folder_roots`
    whose file is not among them are removed. `only_existing` (a replace): a document
    deleted meanwhile is not brought back; it fails with GONE.

    Reading, OCR and embedding run without the writer lock; it is held only while a
    batch is written (and while the removals of a folder are decided). So an upload
    waits for at most one bounded write of another run, never for its OCR."""
    started = time.perf_counter()
    store.check_model(embedder.id)  # before any work: vectors of other numerics never mix
    report = report or IngestReport()
    pending: list[tuple[DocumentRecord, list[ChunkRecord]]] = []
    seen: dict[str, set[str]] = {root: set() for root in folder_roots}

    def flush(removals: list[str] | None = None) -> None:
        """Write the pending documents; the final call also removes and rebuilds BM25."""
        final = removals is not None
        if only_existing:  # decided under the lock: a delete that came first wins
            gone = {doc.id for doc, _ in pending if store.document(doc.id) is None}
            for doc, _ in pending:
                if doc.id in gone:
                    report.fail(doc.source, GONE, doc.id)
            pending[:] = [(doc, chunks) for doc, chunks in pending if doc.id not in gone]
        if not pending and not final:
            return
        began = time.perf_counter()
        events = store.apply(pending, removals or [], embedder.id, embedder.dim, lexical=final, by=by)
        lexical_seconds = store.last_lexical_seconds
        report.stages["lexikalisch"] += lexical_seconds
        report.stages["schreiben"] += time.perf_counter() - began - lexical_seconds
        for doc, chunks in pending:
            is_new = events[doc.id] == "added"
            report.added += is_new
            report.updated += not is_new
            report.chunks_written += len(chunks)
            report.files.append({"source": doc.source, "outcome": events[doc.id], "problems": doc.problems,
                                 "doc_id": doc.id})
        pending.clear()

    for sf in files:
        if sf.root in seen:
            seen[sf.root].add(sf.source)
        try:
            sha = content_hash(sf.path)
        except OSError as exc:
            report.fail(sf.source, f"Datei nicht lesbar ({exc.strerror})", document_id(sf.root, sf.source))
            continue
        existing = store.documents_under(sf.root).get(sf.source)
        if existing is not None and existing.sha256 == sha and existing.collection == collection:
            report.unchanged += 1
            continue
        began = time.perf_counter()
        try:
            doc, chunks = prepare_document(sf, sha, collection, sizes, limits)
        except ExtractionError as exc:
            reason = str(exc)
            if existing is not None:
                reason += " – die bisherige Fassung bleibt im Index"
            report.fail(sf.source, reason, document_id(sf.root, sf.source))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
            logger.exception("Unerwarteter Fehler bei %s", sf.path)
            report.fail(sf.source, public_reason(exc, sf.path), document_id(sf.root, sf.source))
            continue
        report.stages["lesen"] += time.perf_counter() - began
        began = time.perf_counter()
        records, embedded = _embed_pieces(doc, chunks, store, embedder, progress)
        report.stages["einbetten"] += time.perf_counter() - began
        report.chunks += embedded
        pending.append((doc, records))
        if len(pending) >= apply_every:
            with store.lock():
                flush()

    with store.lock():
        removals: list[str] = []
        for root, present in seen.items():
            for source, doc in store.documents_under(root).items():
                if source not in present:
                    removals.append(doc.id)
                    report.files.append({"source": source, "outcome": "removed", "problems": "", "doc_id": doc.id})
        if pending or removals or report.added or report.updated:
            flush(removals)
        report.removed = len(removals)
    report.seconds += time.perf_counter() - started
    return report


def ingest(
    sources: list[Path],
    store: Session,
    embedder: Embedder,
    collection: str = "default",
    sizes: ChunkSizes = ChunkSizes(),
    progress: bool | None = None,
    by: str = "system",
    limits: IngestLimits = IngestLimits(),
    apply_every: int = APPLY_EVERY,
) -> IngestReport:
    """Bring the index in line with `sources` (contract semantics of `amtswissen ingest`)."""
    started_at = now_iso()
    report = IngestReport()
    files, folder_roots, missing = discover(sources)
    for m in missing:
        report.fail(m.source, m.reason)
    if not files and not folder_roots:
        raise IngestError("Keine der angegebenen Quellen existiert: " + ", ".join(f.source for f in missing))
    sync(files, folder_roots, store, embedder, collection, sizes, progress, by, report, limits,
         apply_every=apply_every)
    # the collection goes with the run: who may see a run follows who may edit it
    store.record_run(started_at, by, [str(s) for s in sources], {**report.to_dict(), "collection": collection})
    return report
