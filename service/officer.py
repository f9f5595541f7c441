"""Knowledge officers' pages (German, server-rendered): documents, upload, delete, ingest history.

Access: the API key from the settings, entered once on a login form; the browser then
holds a cookie derived from it (HMAC), and every form carries a token against CSRF.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from service.deps import SearcherDep
from service.documents import remove_document, upload

router = APIRouter(prefix="/verwaltung", include_in_schema=False)
COOKIE = "amtswissen_verwaltung"
SORTS = {"titel": "title", "sammlung": "collection", "eingelesen": "ingested_at"}


def _sign(key: str, purpose: str) -> str:
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _key(request: Request) -> str:
    key = request.app.state.settings.api_key
    if not key:
        raise HTTPException(status_code=403, detail="Der Verwaltungsbereich ist nicht eingerichtet (AMTSWISSEN_API_KEY).")
    return key


def _logged_in(request: Request) -> bool:
    key = _key(request)
    return hmac.compare_digest(request.cookies.get(COOKIE, ""), _sign(key, "session"))


def _check_form(request: Request, token: str) -> None:
    if not _logged_in(request) or not hmac.compare_digest(token, _sign(_key(request), "form")):
        raise HTTPException(status_code=403, detail="Bitte neu anmelden.")


def _templates(request: Request):
    from service.api import templates

    return templates


@router.get("/anmelden", response_class=HTMLResponse)
def login_form(request: Request, fehler: str = ""):
    _key(request)
    return _templates(request).TemplateResponse(request, "login.html", {"fehler": fehler})


@router.post("/anmelden")
def login(request: Request, schluessel: Annotated[str, Form(max_length=500)]):
    key = _key(request)
    if not hmac.compare_digest(schluessel, key):
        return RedirectResponse("/verwaltung/anmelden?fehler=1", status_code=303)
    response = RedirectResponse("/verwaltung", status_code=303)
    response.set_cookie(COOKIE, _sign(key, "session"), httponly=True, samesite="strict")
    return response


@router.post("/abmelden")
def logout():
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("", response_class=HTMLResponse)
def overview(request: Request, searcher: SearcherDep, q: str = "", sortierung: str = "titel", meldung: str = ""):
    if not _logged_in(request):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    with searcher.snapshot() as store:
        documents = store.list_documents()
        runs = store.runs(20)
    needle = q.strip().casefold()
    if needle:
        documents = [d for d in documents if needle in f"{d['title']} {d['source']} {d['collection']}".casefold()]
    column = SORTS.get(sortierung, "title")
    documents = sorted(documents, key=lambda d: d[column] or "", reverse=column == "ingested_at")
    return _templates(request).TemplateResponse(
        request, "officer.html",
        {"documents": documents, "runs": runs, "q": q, "sortierung": sortierung, "meldung": meldung,
         "token": _sign(_key(request), "form")},
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
            failed.append(f"{file.filename}: {exc.detail}")
    message = f"{done} Datei(en) übernommen" + (f"; nicht übernommen: {'; '.join(failed)}" if failed else "")
    return RedirectResponse(f"/verwaltung?meldung={message}", status_code=303)


@router.post("/loeschen/{doc_id}")
def delete(request: Request, doc_id: str, searcher: SearcherDep, token: Annotated[str, Form()]):
    _check_form(request, token)
    remove_document(searcher, doc_id, "verwaltung")
    return RedirectResponse("/verwaltung?meldung=Dokument entfernt", status_code=303)
