"""Knowledge officers' pages (German, server-rendered): sign-in, documents, upload, delete,
ingest history, evaluation.

Sign-in: a local account (argon2id) or the directory (LDAP), or the reverse proxy's
trusted header. The browser then holds a random session token (server-side, expiring,
ended by "Abmelden"), and every form carries the session's own CSRF token.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from access.model import Rights
from access.service import SignInFailed, Throttled
from ingest.names import display_name
from service.auth import COOKIE, Denied
from service.deps import AuthDep, RightsDep, SearcherDep, client_address
from service.documents import remove_document, upload, visible_runs
from service.templating import templates

router = APIRouter(prefix="/verwaltung", include_in_schema=False)
SORTS = {"titel": "title", "sammlung": "collection", "eingelesen": "ingested_at"}


def check_form(request: Request, token: str) -> None:
    """The form's CSRF token must be the caller's (session or trusted header)."""
    principal = request.state.rights.principal if getattr(request.state, "rights", None) else None
    if principal is None:
        raise Denied(403, "Bitte neu anmelden.")
    request.app.state.auth.check_form(principal, request.cookies.get(COOKIE), token)


def csrf_of(request: Request) -> str:
    rights = request.state.rights
    return request.app.state.auth.csrf(rights.principal, request.cookies.get(COOKIE))


def _secure(request: Request) -> bool:
    configured = request.app.state.settings.cookie_secure
    peer = request.client.host if request.client else ""
    return configured if configured is not None else request.app.state.auth.https(peer, request.headers,
                                                                                  request.url.scheme)


def signed_in(rights: Rights) -> bool:
    return rights.principal.kind == "user"


def may_tend(rights: Rights) -> bool:
    """The officer area is for those who edit, tend or administer something."""
    return signed_in(rights) and bool(rights.edit or rights.officer or rights.admin_of)


@router.get("/anmelden", response_class=HTMLResponse)
def login_form(request: Request, fehler: str = ""):
    return templates.TemplateResponse(request, "login.html",
                                      {"fehler": "Benutzername oder Passwort stimmen nicht." if fehler else ""})


@router.post("/anmelden")
def login(request: Request, auth: AuthDep, benutzer: Annotated[str, Form(max_length=64)],
          passwort: Annotated[str, Form(max_length=500)]):
    from access.ldap import LdapUnavailable

    try:
        user = auth.access.login(benutzer, passwort, client_address(request))
    except SignInFailed:
        return RedirectResponse("/verwaltung/anmelden?fehler=1", status_code=303)
    except Throttled as throttled:
        return templates.TemplateResponse(request, "login.html", {"fehler": throttled.detail}, status_code=429,
                                          headers={"Retry-After": str(int(throttled.wait) + 1)})
    except LdapUnavailable as exc:
        return templates.TemplateResponse(request, "login.html", {"fehler": str(exc)}, status_code=503)
    token, _ = auth.access.new_session(user, "passwort")
    response = RedirectResponse("/verwaltung", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/",
                        max_age=request.app.state.settings.session_max_hours * 3600)
    return response


@router.post("/abmelden")
def logout(request: Request, auth: AuthDep):
    auth.access.end_session(request.cookies.get(COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("", response_class=HTMLResponse)
def overview(request: Request, searcher: SearcherDep, rights: RightsDep, q: str = "", sortierung: str = "titel",
             meldung: str = ""):
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    if not may_tend(rights):
        return RedirectResponse("/konto", status_code=303)
    with searcher.snapshot() as store:
        documents = [d for d in store.list_documents() if rights.can_read(d.collection)]
        runs = visible_runs(store.runs(20), rights, request.app.state.access.tenant_of)
    needle = q.strip().casefold()
    if needle:
        documents = [d for d in documents if needle in f"{d.title} {d.source} {d.collection}".casefold()]
    column = SORTS.get(sortierung, "title")
    documents = sorted(documents, key=lambda d: getattr(d, column) or "", reverse=column == "ingested_at")
    guard = request.app.state.guard.report(rights) if rights.officer else None
    return templates.TemplateResponse(
        request, "officer.html",
        {"documents": documents, "runs": runs, "q": q, "sortierung": sortierung, "meldung": meldung,
         "token": csrf_of(request), "rights": rights, "editable": sorted(rights.edit), "guard": guard},
    )


@router.post("/hochladen")
def upload_files(
    request: Request, searcher: SearcherDep, rights: RightsDep, dateien: list[UploadFile],
    token: Annotated[str, Form()], sammlung: Annotated[str, Form(max_length=64)] = "default",
):
    check_form(request, token)
    done, failed = 0, []
    for file in dateien:
        try:
            upload(request, searcher, file, sammlung or "default", rights)
            done += 1
        except HTTPException as exc:
            failed.append(f"{display_name(file.filename)}: {exc.detail}")
        except Denied as exc:
            failed.append(f"{display_name(file.filename)}: {exc.detail}")
    message = f"{done} Datei(en) übernommen" + (f"; nicht übernommen: {'; '.join(failed)}" if failed else "")
    return RedirectResponse("/verwaltung?" + urlencode({"meldung": message}), status_code=303)


@router.post("/loeschen/{doc_id}")
def delete(request: Request, doc_id: str, searcher: SearcherDep, rights: RightsDep,
           token: Annotated[str, Form()]):
    check_form(request, token)
    remove_document(request, searcher, doc_id, rights)
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
def evaluation_page(request: Request, searcher: SearcherDep, rights: RightsDep, lauf: int | None = None):
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    if not rights.officer:
        raise Denied(403, "Die Auswertung ist dem Wissensmanagement vorbehalten.")
    with searcher.snapshot() as store:
        # a run names questions, files and headings of the collections it ran over: shown to
        # officers of the same tenant who may read all of those
        evaluations = [e for e in store.evaluations() if e["report"].get("tenant") == rights.principal.tenant
                       and set(e["report"].get("collections", ["?"])) <= rights.read]
    current = next((e for e in evaluations if e["id"] == lauf), None)
    # the suite: the reference questions of the officer's collections, with their rank at the last check
    guard = request.app.state.guard
    guard.check()
    report = guard.report(rights)
    suite: dict[str, list[tuple[dict, int | None]]] = {}
    for ref in request.app.state.feedback.store.references(rights.principal.tenant):
        if ref["collection"] in rights.officer:
            suite.setdefault(ref["collection"], []).append((ref, report.ranks.get(ref["id"]) if report else None))
    return templates.TemplateResponse(
        request, "evaluation.html",
        {"evaluations": evaluations, "current": current, "trend": _trend_svg(evaluations),
         "token": csrf_of(request), "suite": dict(sorted(suite.items())), "guard": report},
    )


@router.post("/referenzfragen/{ref_id}/loeschen")
def delete_reference(request: Request, ref_id: int, rights: RightsDep, token: Annotated[str, Form()]):
    """A reference question that no longer fits (the answer moved on purpose) is removed."""
    check_form(request, token)
    if not rights.officer or not 1 <= ref_id <= 2**62:
        raise Denied(403, "Die Auswertung ist dem Wissensmanagement vorbehalten.")
    store = request.app.state.feedback.store
    ref = next((r for r in store.references(rights.principal.tenant) if r["id"] == ref_id), None)
    if ref is None or ref["collection"] not in rights.officer:
        raise HTTPException(status_code=404, detail="Referenzfrage nicht gefunden.")
    store.delete_reference(ref_id, rights.principal.tenant, rights.principal.name)
    return RedirectResponse("/verwaltung/auswertung", status_code=303)


@router.get("/referenzfragen.jsonl")
def reference_questions(request: Request, rights: RightsDep):
    """The reference questions of the officer's collections in the question format of
    ../shared/eval/README.md (for `amtswissen eval` or the upload above)."""
    import json

    from fastapi.responses import Response

    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    if not rights.officer:
        raise Denied(403, "Die Auswertung ist dem Wissensmanagement vorbehalten.")
    lines = [json.dumps({"id": f"r{r['id']}", "question": r["question"], "doc": r["doc"], "section": r["section"],
                         "answer_contains": r["answer_contains"], "collection": r["collection"]}, ensure_ascii=False)
             for r in request.app.state.feedback.store.references(rights.principal.tenant)
             if r["collection"] in rights.officer]
    return Response("".join(line + "\n" for line in lines), media_type="application/jsonl; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="referenzfragen.jsonl"'})


@router.post("/auswertung")
def run_evaluation(request: Request, searcher: SearcherDep, rights: RightsDep, fragen: UploadFile,
                   token: Annotated[str, Form()]):
    """Run a question file (format of ../shared/eval/README.md) against the current index,
    over the collections the officer tends; the run belongs to the officer's tenant."""
    import json
    import tempfile
    from functools import partial
    from pathlib import Path

    from search.evaluate import evaluate, load_questions

    check_form(request, token)
    if not rights.officer:
        raise Denied(403, "Die Auswertung ist dem Wissensmanagement vorbehalten.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fragen.jsonl"
        path.write_bytes(fragen.file.read())
        try:
            questions = load_questions(path)
        except UnicodeDecodeError as exc:
            raise HTTPException(status_code=422, detail="Fragendatei nicht lesbar: keine UTF-8-Textdatei") from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise HTTPException(status_code=422, detail=f"Fragendatei nicht lesbar: {exc}") from exc
    report = evaluate(questions, partial(searcher.search, readable=rights.officer)).to_dict()
    report["tenant"] = rights.principal.tenant
    report["collections"] = sorted(rights.officer)
    with searcher.backend.session() as store:
        run_id = store.record_evaluation(fragen.filename or "fragen.jsonl", report)
    return RedirectResponse(f"/verwaltung/auswertung?lauf={run_id}", status_code=303)
