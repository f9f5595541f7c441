"""The FastAPI app: JSON API and the search page, on one index folder."""

from __future__ import annotations

import mimetypes
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from amtswissen.settings import Settings, get_settings
from models.embedder import Embedder
from service.schemas import Health, SearchResponse
from service.search import Mode, Searcher

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

QueryText = Annotated[str, Query(min_length=1, max_length=1000, description="Die Frage, in Alltagssprache")]
TopK = Annotated[int, Query(ge=1, le=100, description="Anzahl der Treffer")]
SearchMode = Annotated[Mode | None, Query(description="hybrid (Standard), dense oder lexical")]


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


SearcherDep = Annotated[Searcher, Depends(get_searcher)]


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        model = embedder or Embedder(settings.model, settings.embed_batch_size)
        app.state.searcher = Searcher(settings, model)
        yield
        app.state.searcher.store.close()

    app = FastAPI(
        title="Amtswissen",
        description="Semantische Suche über Dokumente der Verwaltung",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/api/search", response_model=SearchResponse, tags=["Suche"])
    def api_search(searcher: SearcherDep, q: QueryText, k: TopK = 10, mode: SearchMode = None) -> SearchResponse:
        if not q.strip():
            raise HTTPException(status_code=422, detail="Die Frage darf nicht leer sein.")
        return searcher.search(q, k, mode)

    @app.get("/api/health", response_model=Health, tags=["Betrieb"])
    def health(searcher: SearcherDep) -> Health:
        documents, chunks = searcher.counts()
        return Health(status="ok", documents=documents, chunks=chunks)

    @app.get("/api/documents/{doc_id}/file", tags=["Dokumente"])
    def document_file(doc_id: str, searcher: SearcherDep) -> FileResponse:
        row = searcher.document(doc_id)
        if row is None:
            raise HTTPException(status_code=404, detail="Dokument nicht gefunden.")
        path = searcher.index_folder / row["stored_file"]
        if not path.exists():
            raise HTTPException(status_code=404, detail="Die Originaldatei fehlt im Index.")
        media = mimetypes.guess_type(row["source"])[0] or "application/octet-stream"
        if media.startswith("text/") or row["kind"] == "markdown":
            media = ("text/markdown" if row["kind"] == "markdown" else media) + "; charset=utf-8"
        # inline, so a PDF opens in the browser at #page=N
        return FileResponse(path, media_type=media, filename=Path(row["source"]).name, content_disposition_type="inline")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, searcher: SearcherDep, q: str = "", k: int = 10):
        q = q.strip()[:1000]
        k = min(max(k, 1), 100)
        response = searcher.search(q, k) if q else None
        documents, chunks = searcher.counts()
        return templates.TemplateResponse(
            request,
            "search.html",
            {"q": q, "response": response, "documents": documents, "chunks": chunks},
        )

    return app
