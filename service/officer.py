"""Knowledge officers' pages (German, server-rendered): documents, upload, delete, ingest history.

Access: the API key from the settings, entered once on a login form; the browser then
holds a random session token (service/auth.py: server-side, expiring, ended by
"Abmelden"), and every form carries the session's own CSRF token.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from ingest.names import display_name
from service.auth import COOKIE, Denied, Session
from service.deps import AuthDep, SearcherDep, client_address
from service.documents import remove_document, upload
from service.templating import templates

router = APIRouter(prefix="/verwaltung", include_in_schema=False)
SORTS = {"titel": "title", "sammlung": "collection", "eingelesen": "ingested_at"}


def _session(request: Request) -> Session | None:
    return request.app.state.auth.session(request.cookies.get(COOKIE))


def _check_form(request: Request, token: str) -> Session:
    return request.app.state.auth.check_form(request.cookies.get(COOKIE), token)


def _secure(request: Request) -> bool:
    configured = request.app.state.settings.cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


@router.get("/anmelden", response_class=HTMLResponse)
def login_form(request: Request, auth: AuthDep, fehler: str = ""):
    auth.session(None)  # 403 when the area is not set up
    return templates.TemplateResponse(request, "login.html",
                                      {"fehler": "Der Schlüssel stimmt nicht." if fehler else ""})


@router.post("/anmelden")
def login(request: Request, auth: AuthDep, schluessel: Annotated[str, Form(max_length=500)]):
    try:
        token, _ = auth.login(schluessel, client_address(request))
    except Denied as denied:
        if denied.status == 401:
            return RedirectResponse("/verwaltung/anmelden?fehler=1", status_code=303)
        if denied.status == 429:
            return templates.TemplateResponse(request, "login.html", {"fehler": denied.detail},
                                              status_code=429, headers=denied.headers)
        raise
    response = RedirectResponse("/verwaltung", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/",
                        max_age=request.app.state.settings.session_max_hours * 3600)
    return response


@router.post("/abmelden")
def logout(request: Request, auth: AuthDep):
    auth.sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("", response_class=HTMLResponse)
def overview(request: Request, searcher: SearcherDep, q: str = "", sortierung: str = "titel", meldung: str = ""):
    session = _session(request)
    if session is None:
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    with searcher.snapshot() as store:
        documents = store.list_documents()
        runs = store.runs(20)
    needle = q.strip().casefold()
    if needle:
        documents = [d for d in documents if needle in f"{d.title} {d.source} {d.collection}".casefold()]
    column = SORTS.get(sortierung, "title")
    documents = sorted(documents, key=lambda d: getattr(d, column) or "", reverse=column == "ingested_at")
    return templates.TemplateResponse(
        request, "officer.html",
        {"documents": documents, "runs": runs, "q": q, "sortierung": sortierung, "meldung": meldung,
         "token": session.csrf},
    )


@router.post("/hochladen")
def upload_files(
    request: Request, searcher: SearcherDep, dateien: list[UploadFile],
    token: Annotated[str, Form()], sammlung: Annotated[str, Form(max_length=64)] = "default",
):
    _check_form(request, token)
    done, failed = 0, []
    for file in dateien:
        try:
            upload(request, searcher, file, sammlung or "default", "verwaltung")
            done += 1
        except HTTPException as exc:
            failed.append(f"{display_name(file.filename)}: {exc.detail}")
    message = f"{done} Datei(en) übernommen" + (f"; nicht übernommen: {'; '.join(failed)}" if failed else "")
    return RedirectResponse("/verwaltung?" + urlencode({"meldung": message}), status_code=303)


@router.post("/loeschen/{doc_id}")
def delete(request: Request, doc_id: str, searcher: SearcherDep, token: Annotated[str, Form()]):
    _check_form(request, token)
    remove_document(searcher, doc_id, "verwaltung")
    return RedirectResponse("/verwaltung?meldung=Dokument entfernt", status_code=303)


def _trend_svg(evaluations: list[dict], width: int = 480, height: int = 140) -> str:
    """A small line chart of Hit@5 and MRR@10 over the runs (oldest left), as inline SVG."""
    runs = list(reversed(evaluations))
    if len(runs) < 2:
        return ""
    step = (width - 40) / (len(runs) - 1)

    def line(key: str) -> str:
        return " ".join(f"{20 + i * step:.0f},{height - 20 - r['report'][key] * (height - 40):.0f}"
                        for i, r in enumerate(runs))

    return (f'<svg role="img" aria-label="Verlauf von Hit@5 und MRR@10 über {len(runs)} Läufe" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}">'
            f'<line x1="20" y1="{height - 20}" x2="{width - 20}" y2="{height - 20}" stroke="#555"/>'
            f'<polyline fill="none" stroke="#0b4f8a" stroke-width="2" points="{line("hit@5")}"/>'
            f'<polyline fill="none" stroke="#8a4b00" stroke-width="2" stroke-dasharray="5 3" points="{line("mrr@10")}"/>'
            f'<text x="20" y="14" font-size="12" fill="#0b4f8a">— Hit@5</text>'
            f'<text x="100" y="14" font-size="12" fill="#8a4b00">- - MRR@10</text></svg>')


@router.get("/auswertung", response_class=HTMLResponse)
def evaluation_page(request: Request, searcher: SearcherDep, lauf: int | None = None):
    session = _session(request)
    if session is None:
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    with searcher.snapshot() as store:
        evaluations = store.evaluations()
    current = next((e for e in evaluations if e["id"] == lauf), None)
    return templates.TemplateResponse(
        request, "evaluation.html",
        {"evaluations": evaluations, "current": current, "trend": _trend_svg(evaluations),
         "token": session.csrf},
    )


@router.post("/auswertung")
def run_evaluation(request: Request, searcher: SearcherDep, fragen: UploadFile, token: Annotated[str, Form()]):
    """Run a question file (format of ../shared/eval/README.md) against the current index."""
    import json
    import tempfile
    from pathlib import Path

    from search.evaluate import evaluate, load_questions

    _check_form(request, token)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fragen.jsonl"
        path.write_bytes(fragen.file.read())
        try:
            questions = load_questions(path)
        except UnicodeDecodeError as exc:
            raise HTTPException(status_code=422, detail="Fragendatei nicht lesbar: keine UTF-8-Textdatei") from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise HTTPException(status_code=422, detail=f"Fragendatei nicht lesbar: {exc}") from exc
    report = evaluate(questions, searcher.search).to_dict()
    with searcher.backend.session() as store:
        run_id = store.record_evaluation(fragen.filename or "fragen.jsonl", report)
    return RedirectResponse(f"/verwaltung/auswertung?lauf={run_id}", status_code=303)
