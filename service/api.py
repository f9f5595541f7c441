"""The FastAPI app: JSON API and the search page, on one index folder."""

from __future__ import annotations

import importlib.util
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from amtswissen.settings import Settings, get_settings
from ingest.writes import clean_staging
from models.embedder import Embedder
from access.model import Rights
from access.service import AccessService, RateLimit
from feedback.model import REASONS
from knowledge.service import Knowledge
from knowledge.store import KnowledgeStore
from feedback.guard import ReferenceGuard
from feedback.overview import Overview
from feedback.reviews import Reviews
from feedback.service import FeedbackService
from feedback.synonyms import SynonymLists, known_collections
from feedback.store import FeedbackStore
from service import admin, documents, errors, feedback, knowledge, knowledge_pages, officer
from service.auth import Auth
from service.deps import RightsDep, SearcherDep, rate_limited
from service.documents import WriteSlots, note_deputy_use
from service.guard import RequestGuard
from service.schemas import Health, SearchResponse
from search.searcher import Mode, Searcher
from service.templating import templates
from text.typed import one_line

HERE = Path(__file__).resolve().parent
# Swagger UI's files from the PyPI package fastapi-offline (MIT): the API docs work offline
SWAGGER = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"

QueryText = Annotated[str, Query(min_length=1, max_length=1000, description="Die Frage, in Alltagssprache")]
TopK = Annotated[int, Query(ge=1, le=100, description="Anzahl der Treffer")]
SearchMode = Annotated[Mode | None, Query(description="hybrid (Standard), dense oder lexical")]
Kind = Literal["pdf", "markdown", "text"]
KINDS = {"pdf": "PDF", "markdown": "Text/Office", "text": "Textdatei"}
# what anonymous callers may ask (answers then cover the public collections only)
OPEN_READS = ("/api/search", "/api/health", "/api/documents", "/api/documents/{doc_id}", "/api/documents/{doc_id}/file",
              "/api/aufgaben", "/api/aufgaben/{task_id}", "/api/aufgaben/{task_id}/fassungen",
              "/api/aufgaben/{task_id}/fassungen/{number}/unterschied", "/api/wissenslandkarte", "/api/uebergabe")


def clean_question(q: str) -> str:
    """The question without control and invisible formatting characters; blank means empty."""
    return one_line(q)


def synonym_scopes(request: Request, rights: Rights) -> frozenset[str]:
    """Whose synonym lists a search uses: those of the caller's own tenant's collections it
    covers (without signing in: the public ones). Another tenant's officers do not change
    how this caller's search reads a question."""
    tenant = rights.principal.tenant
    if tenant is None:
        return rights.read
    access = request.app.state.access
    # one read of the registry per search; a collection nobody registered is the default tenant's
    owner = {c.name: c.tenant for c in access.store.collections()}
    default = request.app.state.settings.default_tenant
    return frozenset(c for c in rights.read if owner.get(c, default) == tenant)


def attribute_notes(request: Request, response: SearchResponse) -> None:
    """Results from a released task note show who wrote it, who released it and when."""
    sources = request.app.state.knowledge.sources(r.document.id for r in response.notes + response.results)
    for r in response.notes + response.results:
        r.document.note = sources.get(r.document.id)


def _watch(guard: ReferenceGuard, seconds: int, stop: threading.Event) -> None:
    """Ask the reference questions again after every change of the index or the synonyms
    (feedback/guard.py); a failed check is logged and tried again at the next tick."""
    while not stop.wait(seconds):
        try:
            guard.check()
        except Exception:  # noqa: BLE001 - the server keeps serving; the next tick retries
            logging.getLogger("amtswissen").exception("Prüfung der Referenzfragen fehlgeschlagen")


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or get_settings()

    access = AccessService.from_settings(settings)
    auth = Auth(settings, access)
    search_limit = RateLimit(settings.search_per_minute)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        model = embedder or settings.embedder()
        app.state.settings = settings
        app.state.auth = auth
        app.state.access = access
        app.state.search_limit = search_limit
        app.state.write_slots = WriteSlots(settings.tenant_parallel_writes)
        app.state.searcher = searcher = Searcher(settings, model)
        clean_staging(searcher.backend.work_folder)
        with searcher.snapshot():  # loads the indexes now, not on the first question
            pass
        app.state.knowledge = Knowledge(KnowledgeStore(access.store.db), access, searcher.backend, model, settings)
        app.state.knowledge.reconcile()  # a release interrupted before its note reached the index
        store = FeedbackStore(access.store.db)
        app.state.feedback = FeedbackService(store, access, searcher.backend, model, settings, app.state.knowledge)
        app.state.synonym_lists = lists = SynonymLists(
            access.store.db, known_collections(access.store, settings.default_tenant))
        searcher.parser.synonyms.extra = lists.rules  # the officers' lists join the shipped one
        app.state.guard = guard = ReferenceGuard(store, searcher, settings, lists, access.tenant_of)
        app.state.reviews = Reviews(access, searcher.backend, app.state.knowledge, settings)
        app.state.overview = Overview(app.state.feedback, app.state.reviews)
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(guard, settings.guard_seconds, stop), daemon=True,
                                   name="referenzfragen")
        if settings.guard_seconds:
            watcher.start()
        yield
        stop.set()
        if watcher.is_alive():
            watcher.join(timeout=30)
        searcher.backend.close()
        access.close()

    app = FastAPI(
        title="Amtswissen",
        description="Semantische Suche über Dokumente der Verwaltung. Fehler antworten mit "
                    "`{\"detail\": \"…\"}` (deutscher Satz).",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(RequestGuard, auth=auth)
    errors.install(app)
    app.mount("/static/swagger", StaticFiles(directory=SWAGGER), name="swagger")  # before /static: first match wins
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(documents.router)
    app.include_router(officer.router)
    app.include_router(admin.router)
    app.include_router(knowledge.router)
    app.include_router(knowledge_pages.router)
    app.include_router(feedback.router)

    with_errors = app.openapi  # errors.install's: German error bodies

    def openapi_schema() -> dict:
        """Reading works without credentials (public collections): the OpenAPI document says
        so with an empty security requirement beside the token and the key."""
        if app.openapi_schema is None:
            schema = with_errors()
            for path in OPEN_READS:
                read = schema["paths"][path]["get"]
                if {} not in read.get("security", []):
                    read["security"] = [{}, *read.get("security", [])]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi_schema

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request):
        """Swagger UI, served with its files by the app itself (no CDN; CSP without inline script)."""
        return templates.TemplateResponse(request, "docs.html", {})

    def limited(request: Request, rights: Rights) -> None:
        rate_limited(request, rights, "Zu viele Suchanfragen. Bitte kurz warten.")

    @app.get("/api/search", response_model=SearchResponse, tags=["Suche"], responses=errors.responses(401, 422, 429))
    def api_search(
        request: Request, searcher: SearcherDep, rights: RightsDep, q: QueryText, k: TopK = 10,
        mode: SearchMode = None,
        include_expired: Annotated[bool, Query(description="auch Dokumente nach ihrem gueltig_bis")] = False,
        collection: Annotated[str | None, Query(max_length=64, description="nur diese Sammlung")] = None,
        kind: Annotated[Kind | None, Query(description="nur diese Dokumentart")] = None,
    ) -> SearchResponse:
        """Passages that answer the question, from the collections the caller may read
        (without credentials: the public ones), each with its marked answer sentence
        (`highlight`); released task notes in `notes`; and `answer`, the answer box: the
        top result's answering sentence quoted with its source, or null when the search is
        not confident enough to show one."""
        q = clean_question(q)
        if not q:
            raise HTTPException(status_code=422, detail="Die Frage darf nicht leer sein.")
        limited(request, rights)
        response = searcher.search(q, k, mode, include_expired, collection, kind, readable=rights.read,
                                   synonym_scopes=synonym_scopes(request, rights))
        request.app.state.feedback.log(rights, q, response, collection, kind)
        attribute_notes(request, response)
        note_deputy_use(request, rights, {r.document.collection for r in response.results + response.notes},
                        f"Suche: {q[:200]}")
        return response

    @app.get("/api/health", response_model=Health, tags=["Betrieb"], responses=errors.responses(401))
    def health(searcher: SearcherDep, rights: RightsDep) -> Health:
        """Status, and what the caller may read: documents and passages of those collections
        (without credentials: the public ones; operators: the whole installation)."""
        documents, chunks = searcher.counts(None if rights.operator else rights.read)
        return Health(status="ok", documents=documents, chunks=chunks)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, searcher: SearcherDep, rights: RightsDep, q: str = "", k: int = 10,
             sammlung: str = "", typ: str = "", danke: str = ""):
        """The search page; the query lives in the URL, so a result can be sent to a colleague."""
        q = clean_question(q)[:1000]
        k = min(max(k, 1), 100)
        typ = typ if typ in KINDS else ""
        response = None
        if q:
            limited(request, rights)
            response = searcher.search(q, k, collection=sammlung or None, kind=typ or None, readable=rights.read,
                                       synonym_scopes=synonym_scopes(request, rights))
            if not danke:  # back from giving feedback: the same search, not a new question
                request.app.state.feedback.log(rights, q, response, sammlung or None, typ or None)
            attribute_notes(request, response)
            note_deputy_use(request, rights, {r.document.collection for r in response.results + response.notes},
                        f"Suche: {q[:200]}")
        with searcher.snapshot() as reader:
            documents, chunks = reader.counts(rights.read)
            collections = [c for c in reader.collections() if rights.can_read(c)]
        return templates.TemplateResponse(
            request,
            "search.html",
            {"q": q, "response": response, "documents": documents, "chunks": chunks, "collections": collections,
             "sammlung": sammlung, "typ": typ, "kinds": KINDS, "rights": rights, "danke": bool(danke),
             "reasons": REASONS, "token": officer.csrf_of(request) if rights.principal.kind == "user" else ""},
        )

    @app.get("/dokument/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, doc_id: str, searcher: SearcherDep, rights: RightsDep):
        """Metadata, version history and the text, every passage with an anchor."""
        with searcher.snapshot() as reader:
            doc = next(iter(reader.list_documents(doc_id)), None)
            if doc is None or not rights.can_read(doc.collection):
                raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
            versions = reader.versions(doc_id)
            passages = reader.passages_of(doc_id)
        note_deputy_use(request, rights, {doc.collection}, doc_id)
        return templates.TemplateResponse(
            request, "document.html",
            {"doc": doc, "versions": versions, "passages": passages, "keywords": doc.keyword_list, "rights": rights},
        )

    return app
