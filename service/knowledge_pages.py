"""Knowledge capture in the browser (German, server-rendered, works without JavaScript):
task list, task page with the released note, editor with preview, release, versions
and differences, coverage (Wissenslandkarte), handover folder and the deputy's view.

Forms carry the session's CSRF token (service/officer.py check_form); every action
calls the same Knowledge functions as the JSON API (service/knowledge.py).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Request
from starlette.datastructures import UploadFile  # what request.form() gives (FastAPI's is a subclass)
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from access.store import AccessError, NotFound
from knowledge.export import handover_markdown, handover_pdf
from knowledge.importer import ImportReport, import_catalogue, import_notes
from knowledge.model import CRITICALITIES, FREQUENCIES, SECTION_HINTS, SECTIONS, STATE_LABELS
from knowledge.render import diff, to_html
from knowledge.service import TaskInput, split_names
from service.auth import Denied
from service.deps import RightsDep, SearcherDep
from service.documents import note_deputy_use
from service.knowledge import KnowledgeDep, _safe, citations
from service.officer import check_form, csrf_of, signed_in
from service.templating import templates

router = APIRouter(prefix="/wissen", include_in_schema=False)


def _back(url: str, message: str) -> RedirectResponse:
    return RedirectResponse(url + ("&" if "?" in url else "?") + urlencode({"meldung": message}), status_code=303)


def _page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    rights = request.state.rights
    token = csrf_of(request) if signed_in(rights) else ""
    return templates.TemplateResponse(request, name, {"rights": rights, "token": token,
                                                      "meldung": request.query_params.get("meldung", "")[:500],
                                                      "to_html": to_html, "state_labels": STATE_LABELS, **context},
                                      status_code=status)


def _readable(knowledge, rights, task_id: str):
    try:
        return knowledge.view(rights, task_id)
    except NotFound:
        raise HTTPException(status_code=404, detail="Aufgabe nicht gefunden.") from None


@router.get("", response_class=HTMLResponse)
def task_list(request: Request, knowledge: KnowledgeDep, rights: RightsDep, einheit: str = "", person: str = ""):
    """All tasks the caller may read, by unit, with the state of their note."""
    tasks = knowledge.tasks(rights, einheit or None, person or None)
    views = knowledge.views(rights, tasks)
    units = sorted({t.unit for t in knowledge.tasks(rights) if t.unit})
    return _page(request, "knowledge_list.html", {"views": views, "units": units, "einheit": einheit,
                                                  "person": person, "can_create": bool(rights.officer)})


@router.get("/aufgabe/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: str, knowledge: KnowledgeDep, searcher: SearcherDep, rights: RightsDep):
    view = _readable(knowledge, rights, task_id)
    task = view.task
    note_deputy_use(request, rights, {task.collection}, f"Aufgabe: {task.id}")
    with searcher.snapshot() as reader:
        linked = [d for d in (reader.document(i) for i in task.documents) if d and rights.can_read(d.collection)]
    versions = knowledge.versions(rights, task.id) if knowledge.sees_drafts(rights, task) else []
    return _page(request, "task.html", {
        "view": view, "task": task, "citations": citations(searcher, task, rights), "linked": linked,
        "versions": versions, "can_edit": rights.can_edit(task.collection),
        "can_approve": rights.can_approve(task.collection), "can_tend": task.collection in rights.officer,
        "sections": SECTIONS})


@router.get("/aufgabe/{task_id}/bearbeiten", response_class=HTMLResponse)
def edit_note(request: Request, task_id: str, knowledge: KnowledgeDep, rights: RightsDep):
    view = _readable(knowledge, rights, task_id)
    if not rights.can_edit(view.task.collection):
        raise Denied(403, f"Keine Schreibrechte für die Sammlung „{view.task.collection}“.")
    base = view.pending or view.released
    return _page(request, "note_edit.html", {"task": view.task, "values": base.sections if base else {},
                                             "base": base, "sections": SECTIONS, "hints": SECTION_HINTS,
                                             "preview": None, "error": ""})


@router.post("/aufgabe/{task_id}/bearbeiten", response_class=HTMLResponse)
async def save_note(request: Request, task_id: str, knowledge: KnowledgeDep, rights: RightsDep):
    form = await request.form()
    check_form(request, str(form.get("token", "")))
    view = _readable(knowledge, rights, task_id)
    values = {key: str(form.get(key, ""))[:20_001] for key, _ in SECTIONS}
    action = form.get("aktion")
    error = ""
    if action in ("speichern", "einreichen"):
        try:
            version = knowledge.save_draft(rights, view.task.id, values)
            if action == "einreichen":
                knowledge.submit(rights, view.task.id, version.version)
                return _back(f"/wissen/aufgabe/{view.task.id}", f"Fassung {version.version} zur Freigabe eingereicht.")
            return _back(f"/wissen/aufgabe/{view.task.id}", f"Fassung {version.version} als Entwurf gespeichert.")
        except AccessError as exc:
            error = str(exc)
    preview = [(title, to_html(values[key])) for key, title in SECTIONS if values.get(key, "").strip()]
    return _page(request, "note_edit.html", {"task": view.task, "values": values, "base": view.pending or view.released,
                                             "sections": SECTIONS, "hints": SECTION_HINTS,
                                             "preview": preview if action == "vorschau" else None, "error": error},
                 status=422 if error else 200)


@router.post("/aufgabe/{task_id}/fassung/{number}/{step}")
def review_step(request: Request, task_id: str, number: Annotated[int, Path(ge=1, le=1_000_000)], step: str,
                knowledge: KnowledgeDep, rights: RightsDep,
                token: Annotated[str, Form()], kommentar: Annotated[str, Form(max_length=2000)] = ""):
    check_form(request, token)
    actions = {"einreichen": (knowledge.submit, "eingereicht"), "freigeben": (knowledge.release, "freigegeben"),
               "zurueckgeben": (knowledge.send_back, "zurückgegeben")}
    if step not in actions:
        raise HTTPException(status_code=404, detail="Unbekannter Schritt.")
    call, done = actions[step]
    try:
        if step == "zurueckgeben":
            call(rights, task_id, number, kommentar)
        else:
            call(rights, task_id, number)
    except NotFound:
        raise HTTPException(status_code=404, detail="Aufgabe nicht gefunden.") from None
    except AccessError as exc:
        return _back(f"/wissen/aufgabe/{task_id}", str(exc))
    return _back(f"/wissen/aufgabe/{task_id}", f"Fassung {number} {done}.")


@router.get("/aufgabe/{task_id}/fassung/{number}", response_class=HTMLResponse)
def version_page(request: Request, task_id: str, number: Annotated[int, Path(ge=1, le=1_000_000)],
                 knowledge: KnowledgeDep, rights: RightsDep, gegen: int | None = None):
    view = _readable(knowledge, rights, task_id)
    try:
        version = knowledge.version(rights, task_id, number)
        older = [v for v in knowledge.versions(rights, task_id) if v.version < number]
        old = knowledge.version(rights, task_id, gegen) if gegen else (older[0] if older else None)
    except NotFound:
        raise HTTPException(status_code=404, detail="Diese Fassung gibt es nicht.") from None
    return _page(request, "note_version.html", {"task": view.task, "version": version, "old": old,
                                                "changes": diff(old, version), "older": older})


def _task_input(form) -> TaskInput:
    return TaskInput(name=str(form.get("name", ""))[:300], collection=str(form.get("sammlung", ""))[:64],
                     unit=str(form.get("einheit", ""))[:64] or None, leika=str(form.get("leika", ""))[:30] or None,
                     owner=str(form.get("verantwortlich", ""))[:64] or None,
                     deputies=split_names(str(form.get("vertretung", ""))[:1000]),
                     frequency=str(form.get("haeufigkeit", "")) or None,
                     criticality=str(form.get("kritikalitaet", "")) or None,
                     legal_basis=str(form.get("rechtsgrundlage", ""))[:600],
                     documents=split_names(str(form.get("dokumente", ""))[:4000]),
                     review_due=str(form.get("wiedervorlage", ""))[:10] or None)


def _task_form(request: Request, knowledge, rights, task=None, values: dict | None = None, error: str = "",
               status: int = 200):
    if not rights.officer:
        raise Denied(403, "Aufgaben legen Wissensmanager an.")
    tenants = {knowledge.access.tenant_of(c) for c in rights.officer}
    users = [u for u in knowledge.access.store.users() if u.tenant in tenants and u.active]
    units = [u for t in sorted(tenants) for u in knowledge.access.store.units(t)]
    return _page(request, "task_form.html", {
        "task": task, "values": values or {}, "error": error, "collections": sorted(rights.officer), "users": users,
        "units": units, "frequencies": FREQUENCIES, "criticalities": CRITICALITIES}, status)


def _form_values(task) -> dict:
    return {"name": task.name, "sammlung": task.collection, "einheit": task.unit or "", "leika": task.leika or "",
            "verantwortlich": task.owner or "", "vertretung": ", ".join(task.deputies),
            "haeufigkeit": task.frequency or "", "kritikalitaet": task.criticality or "",
            "rechtsgrundlage": task.legal_basis, "dokumente": ", ".join(task.documents),
            "wiedervorlage": task.review_due or ""}


@router.get("/neu", response_class=HTMLResponse)
def new_task_form(request: Request, knowledge: KnowledgeDep, rights: RightsDep):
    return _task_form(request, knowledge, rights)


@router.post("/neu", response_class=HTMLResponse)
async def new_task(request: Request, knowledge: KnowledgeDep, rights: RightsDep):
    form = await request.form()
    check_form(request, str(form.get("token", "")))
    try:
        task = knowledge.create_task(rights, _task_input(form))
    except AccessError as exc:
        return _task_form(request, knowledge, rights, None, dict(form), str(exc), 422)
    return _back(f"/wissen/aufgabe/{task.id}", "Aufgabe angelegt.")


@router.get("/aufgabe/{task_id}/daten", response_class=HTMLResponse)
def task_data_form(request: Request, task_id: str, knowledge: KnowledgeDep, rights: RightsDep):
    view = _readable(knowledge, rights, task_id)
    return _task_form(request, knowledge, rights, view.task, _form_values(view.task))


@router.post("/aufgabe/{task_id}/daten", response_class=HTMLResponse)
async def task_data(request: Request, task_id: str, knowledge: KnowledgeDep, rights: RightsDep):
    form = await request.form()
    check_form(request, str(form.get("token", "")))
    view = _readable(knowledge, rights, task_id)
    if form.get("aktion") == "loeschen":
        try:
            knowledge.delete_task(rights, task_id)
        except AccessError as exc:
            return _back(f"/wissen/aufgabe/{task_id}", str(exc))
        return _back("/wissen", f"Aufgabe „{view.task.name}“ gelöscht.")
    try:
        knowledge.update_task(rights, task_id, _task_input(form))
    except AccessError as exc:
        return _task_form(request, knowledge, rights, view.task, dict(form), str(exc), 422)
    return _back(f"/wissen/aufgabe/{task_id}", "Aufgabe geändert.")


@router.get("/abdeckung", response_class=HTMLResponse)
def coverage_page(request: Request, knowledge: KnowledgeDep, rights: RightsDep, einheit: str = "", nur: str = "",
                  sortierung: str = "einheit", monate: int = 6):
    if not rights.officer:
        raise Denied(403, "Die Wissenslandkarte sehen Wissensmanager.")
    monate = min(max(monate, 1), 60)
    cov = knowledge.coverage(rights, monate, unit=einheit or None, only=nur or None, sort=sortierung)
    tenants = {knowledge.access.tenant_of(c) for c in rights.officer}
    people = [u for u in knowledge.access.store.users() if u.tenant in tenants and u.active]
    return _page(request, "coverage.html", {"cov": cov, "einheit": einheit, "nur": nur, "sortierung": sortierung,
                                            "monate": monate, "documents_due": knowledge.due_documents(rights),
                                            "people": people, "departures": knowledge.store.departures()})


@router.post("/ausscheiden")
def set_departure(request: Request, knowledge: KnowledgeDep, rights: RightsDep, token: Annotated[str, Form()],
                  person: Annotated[str, Form(max_length=64)], datum: Annotated[str, Form(max_length=10)] = ""):
    check_form(request, token)
    try:
        knowledge.set_departure(rights, person, datum or None)
    except AccessError as exc:
        return _back("/wissen/abdeckung", str(exc))
    return _back("/wissen/abdeckung", f"Ausscheiden von {person}: {datum or 'entfernt'}.")


@router.post("/import")
async def import_page(request: Request, knowledge: KnowledgeDep, rights: RightsDep):
    form = await request.form()
    check_form(request, str(form.get("token", "")))
    report = ImportReport()
    try:
        catalogue = form.get("katalog")
        if isinstance(catalogue, UploadFile) and catalogue.filename:
            import_catalogue(knowledge, rights, (await catalogue.read()).decode("utf-8-sig", errors="replace"),
                             str(form.get("sammlung", "")) or None, report)
        for upload in form.getlist("notizen"):
            if isinstance(upload, UploadFile) and upload.filename:
                import_notes(knowledge, rights, [(upload.filename, (await upload.read()).decode(
                    "utf-8-sig", errors="replace"))], report)
    except AccessError as exc:
        report.problems.append(str(exc))
    message = (f"{report.tasks_added} Aufgaben angelegt, {report.tasks_updated} geändert, {report.notes} Notizen "
               "zur Freigabe eingereicht" + (f"; Hinweise: {'; '.join(report.problems[:20])}" if report.problems else ""))
    return _back("/wissen/abdeckung", message)


@router.get("/uebergabe", response_class=HTMLResponse)
def handover_page(request: Request, knowledge: KnowledgeDep, rights: RightsDep, person: str = "", einheit: str = ""):
    try:
        folder = knowledge.handover(rights, person or None, einheit or None) if person or einheit else None
    except AccessError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    if folder:
        note_deputy_use(request, rights, {e["task"].collection for e in folder["entries"]}, "Übergabemappe")
    units = sorted({t.unit for t in knowledge.tasks(rights) if t.unit})
    people = sorted({p for t in knowledge.tasks(rights) for p in ([t.owner] if t.owner else []) + list(t.deputies)})
    query = urlencode({k: v for k, v in {"person": person, "einheit": einheit}.items() if v})
    return _page(request, "handover.html", {"folder": folder, "units": units, "people": people, "person": person,
                                            "einheit": einheit, "query": query})


@router.get("/uebergabe.{fmt}")
def handover_export(request: Request, fmt: str, knowledge: KnowledgeDep, rights: RightsDep, person: str = "",
                    einheit: str = ""):
    if fmt not in ("pdf", "md"):
        raise HTTPException(status_code=404, detail="Format: pdf oder md.")
    try:
        folder = knowledge.handover(rights, person or None, einheit or None)
    except AccessError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    note_deputy_use(request, rights, {e["task"].collection for e in folder["entries"]}, "Übergabemappe")
    name = _safe(f"uebergabe-{person or einheit}")
    if fmt == "md":
        return PlainTextResponse(handover_markdown(folder), media_type="text/markdown; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}.md"'})
    return Response(handover_pdf(folder), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


@router.get("/vertretung", response_class=HTMLResponse)
def standing_in_page(request: Request, knowledge: KnowledgeDep, rights: RightsDep):
    if not signed_in(rights):
        return RedirectResponse("/verwaltung/anmelden", status_code=303)
    data = knowledge.standing_in(rights)
    note_deputy_use(request, rights, {e["task"].collection for e in data["entries"]}, "Vertretungsansicht")
    return _page(request, "standing_in.html", {"data": data})
