"""Knowledge capture over HTTP/JSON: tasks, note versions, release, coverage, handover.

The same functions as the pages (service/knowledge_pages.py) and the CLI, with the
same rights: a task outside the caller's readable collections is 404, a step the
caller may not take 403, a step from the wrong state 409.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Iterator, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from access.model import Rights
from access.store import AccessError, NotFound
from knowledge.importer import ImportReport, import_catalogue, import_notes
from knowledge.export import handover_markdown, handover_pdf
from knowledge.model import SECTIONS, NoteVersion, Task, TaskView
from knowledge.service import Forbidden, IndexFailed, Knowledge, TaskInput
from service.auth import Denied
from service.deps import RightsDep, SearcherDep, WriterDep
from service.documents import note_deputy_use
from service.errors import responses

router = APIRouter(prefix="/api", tags=["Wissen"])

TaskId = Annotated[str, Path(max_length=80, pattern=r"^[a-z0-9-]+$", description="Kennung der Aufgabe")]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="Nummer der Fassung")]
Name = Annotated[str, Field(max_length=64)]


def get_knowledge(request: Request) -> Knowledge:
    return request.app.state.knowledge


KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]


@contextmanager
def as_http() -> Iterator[None]:
    """The knowledge service's errors as HTTP answers with a German detail."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except Forbidden as exc:
        raise Denied(403, str(exc)) from exc
    except IndexFailed as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    except AccessError as exc:
        status = 409 if "inzwischen in einem anderen Stand" in str(exc) else 422
        raise HTTPException(status_code=status, detail=str(exc)) from exc


class TaskIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="z. B. „Wohnsitz anmelden“")
    collection: Name = Field(description="Sammlung: wer die Aufgabe und ihre Notiz lesen darf")
    unit: Name | None = Field(None, description="Organisationseinheit (Amt, Fachbereich, Stelle)")
    leika: str | None = Field(None, max_length=20, description="LeiKa-Schlüssel, 14 Ziffern")
    owner: Name | None = Field(None, description="verantwortliche Person (Benutzername)")
    deputies: list[Name] = Field([], max_length=20, description="Vertretungen (Benutzernamen)")
    frequency: str | None = Field(None, max_length=20, description="täglich, wöchentlich, monatlich, …")
    criticality: str | None = Field(None, max_length=20, description="hoch, mittel, niedrig")
    legal_basis: str | None = Field(None, max_length=500, description="Zitate, z. B. „§ 17 BMG, § 23 BMG“")
    documents: list[Annotated[str, Field(max_length=80)]] = Field([], max_length=50,
                                                                   description="verknüpfte Dokumente (ids)")
    review_due: str | None = Field(None, max_length=10, description="Wiedervorlage, JJJJ-MM-TT")

    def to_input(self) -> TaskInput:
        return TaskInput(**self.model_dump())


class Citation(BaseModel):
    text: str
    document: str | None = None
    title: str | None = None
    section: str | None = None
    url: str | None = None


class VersionOut(BaseModel):
    version: int
    state: str
    state_label: str
    author: str
    created_at: str
    submitted_at: str | None
    reviewer: str | None
    reviewed_at: str | None
    comment: str
    sections: dict[str, str]


class TaskOut(BaseModel):
    id: str
    name: str
    unit: str | None
    collection: str
    leika: str | None
    owner: str | None
    owner_departs: str | None = None
    deputies: list[str]
    frequency: str | None
    criticality: str | None
    legal_basis: str
    citations: list[Citation] = []
    documents: list[str]
    review_due: str | None
    url: str
    released: VersionOut | None = None
    pending: VersionOut | None = None


class TaskList(BaseModel):
    tasks: list[TaskOut]


class NoteIn(BaseModel):
    sections: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=20_000)]] = Field(
        description="Abschnitte als Markdown: " + ", ".join(f"{k} ({t})" for k, t in SECTIONS))


class ReviewIn(BaseModel):
    comment: str = Field("", max_length=2000, description="beim Zurückgeben: was fehlt")


class DepartureIn(BaseModel):
    departs_on: str | None = Field(None, max_length=10, description="Ausscheiden am (JJJJ-MM-TT); leer: keins")


class DiffLine(BaseModel):
    mark: str
    text: str


class SectionDiff(BaseModel):
    key: str
    heading: str
    lines: list[DiffLine]


class CoverageRow(BaseModel):
    task: str
    name: str
    unit: str | None
    owner: str | None
    owner_departs: str | None
    released_version: int | None
    at_risk: bool
    review_due: str | None
    review_overdue: bool
    no_deputy: bool


class CoverageOut(BaseModel):
    today: str
    months: int
    units: dict[str, dict[str, int]]
    tasks: list[CoverageRow]
    documents_due: list[str]


class ImportOut(BaseModel):
    tasks_added: int
    tasks_updated: int
    notes: int
    released: int
    problems: list[str]


def version_out(v: NoteVersion | None) -> VersionOut | None:
    if v is None:
        return None
    return VersionOut(version=v.version, state=v.state, state_label=v.label, author=v.author, created_at=v.created_at,
                      submitted_at=v.submitted_at, reviewer=v.reviewer, reviewed_at=v.reviewed_at, comment=v.comment,
                      sections=v.sections)


def citations(searcher, task: Task, rights: Rights) -> list[Citation]:
    out = []
    for text, passage in searcher.cited_passages(task.legal_basis, rights.read):
        if passage is None:
            out.append(Citation(text=text))
        else:
            out.append(Citation(text=text, document=passage.document.id, title=passage.document.title,
                                section=passage.section,
                                url=f"/dokument/{passage.document.id}#abschnitt-{passage.id}"))
    return out


def task_out(view: TaskView, searcher=None, rights: Rights | None = None) -> TaskOut:
    t = view.task
    return TaskOut(id=t.id, name=t.name, unit=t.unit, collection=t.collection, leika=t.leika, owner=t.owner,
                   owner_departs=view.owner_departs, deputies=list(t.deputies), frequency=t.frequency,
                   criticality=t.criticality, legal_basis=t.legal_basis,
                   citations=citations(searcher, t, rights) if searcher is not None else [],
                   documents=list(t.documents), review_due=t.review_due, url=f"/wissen/aufgabe/{t.id}",
                   released=version_out(view.released), pending=version_out(view.pending))


@router.get("/aufgaben", response_model=TaskList, responses=responses(401, 422))
def list_tasks(knowledge: KnowledgeDep, rights: RightsDep,
               unit: Annotated[str | None, Query(max_length=64, description="nur diese Organisationseinheit")] = None,
               person: Annotated[str | None, Query(max_length=64,
                                                   description="nur Aufgaben dieser Person (verantwortlich "
                                                               "oder Vertretung)")] = None) -> TaskList:
    """The tasks of the collections the caller may read, each with its released note."""
    tasks = knowledge.tasks(rights, unit, person)
    return TaskList(tasks=[task_out(v) for v in knowledge.views(rights, tasks)])


@router.post("/aufgaben", response_model=TaskOut, status_code=201, responses=responses(401, 403, 422))
def create_task(body: TaskIn, knowledge: KnowledgeDep, rights: WriterDep) -> TaskOut:
    """A new task (knowledge officers of its collection)."""
    with as_http():
        task = knowledge.create_task(rights, body.to_input())
        return task_out(knowledge.view(rights, task.id))


@router.get("/aufgaben/{task_id}", response_model=TaskOut, responses=responses(401, 404, 422))
def get_task(request: Request, task_id: TaskId, knowledge: KnowledgeDep, searcher: SearcherDep,
             rights: RightsDep) -> TaskOut:
    """A task with its released note; for editors and approvers also the version in progress."""
    with as_http():
        view = knowledge.view(rights, task_id)
    note_deputy_use(request, rights, {view.task.collection}, f"Aufgabe: {view.task.id}")
    out = task_out(view, searcher, rights)
    with searcher.snapshot() as reader:  # linked documents the caller may not read are not named
        out.documents = [d for d in out.documents if (doc := reader.document(d)) and rights.can_read(doc.collection)]
    return out


@router.put("/aufgaben/{task_id}", response_model=TaskOut, responses=responses(401, 403, 404, 422, 503))
def update_task(task_id: TaskId, body: TaskIn, knowledge: KnowledgeDep, rights: WriterDep) -> TaskOut:
    """Change a task's fields (knowledge officers of its collection)."""
    with as_http():
        knowledge.update_task(rights, task_id, body.to_input())
        return task_out(knowledge.view(rights, task_id))


@router.delete("/aufgaben/{task_id}", status_code=204, responses=responses(401, 403, 404, 422))
def delete_task(task_id: TaskId, knowledge: KnowledgeDep, rights: WriterDep) -> Response:
    """Delete a task with all versions of its note; the note stops answering at once."""
    with as_http():
        knowledge.delete_task(rights, task_id)
    return Response(status_code=204)


@router.get("/aufgaben/{task_id}/fassungen", response_model=list[VersionOut], responses=responses(401, 404, 422))
def list_versions(task_id: TaskId, knowledge: KnowledgeDep, rights: RightsDep) -> list[VersionOut]:
    """Versions of the note, newest first: all for editors and approvers, the released one for readers."""
    with as_http():
        return [version_out(v) for v in knowledge.versions(rights, task_id)]


@router.post("/aufgaben/{task_id}/fassungen", response_model=VersionOut, status_code=201,
             responses=responses(401, 403, 404, 422))
def save_draft(task_id: TaskId, body: NoteIn, knowledge: KnowledgeDep, rights: WriterDep) -> VersionOut:
    """Save the note as a new draft version (the released version keeps answering)."""
    with as_http():
        return version_out(knowledge.save_draft(rights, task_id, body.sections))


@router.get("/aufgaben/{task_id}/fassungen/{number}/unterschied", response_model=list[SectionDiff],
            responses=responses(401, 404, 422))
def version_diff(task_id: TaskId, number: Number, knowledge: KnowledgeDep, rights: RightsDep,
                 gegen: Annotated[int | None, Query(ge=1, le=1_000_000,
                                                    description="ältere Fassung; ohne: die davor")] = None
                 ) -> list[SectionDiff]:
    """What changed in a version against an older one, per section."""
    from knowledge.render import diff

    with as_http():
        new = knowledge.version(rights, task_id, number)
        older = [v for v in knowledge.versions(rights, task_id) if v.version < number]
        old = knowledge.version(rights, task_id, gegen) if gegen else (older[0] if older else None)
        return [SectionDiff(**d) for d in diff(old, new)]


@router.post("/aufgaben/{task_id}/fassungen/{number}/einreichen", response_model=VersionOut,
             responses=responses(401, 403, 404, 409, 422))
def submit(task_id: TaskId, number: Number, knowledge: KnowledgeDep, rights: WriterDep) -> VersionOut:
    """Submit a draft for release by a second person."""
    with as_http():
        return version_out(knowledge.submit(rights, task_id, number))


@router.post("/aufgaben/{task_id}/fassungen/{number}/freigeben", response_model=VersionOut,
             responses=responses(401, 403, 404, 409, 422, 503))
def release(task_id: TaskId, number: Number, knowledge: KnowledgeDep, rights: RightsDep) -> VersionOut:
    """Release a submitted version (approvers; not its author). It answers at once."""
    _signed(rights)
    with as_http():
        return version_out(knowledge.release(rights, task_id, number))


@router.post("/aufgaben/{task_id}/fassungen/{number}/zurueckgeben", response_model=VersionOut,
             responses=responses(401, 403, 404, 409, 422))
def send_back(task_id: TaskId, number: Number, body: ReviewIn, knowledge: KnowledgeDep,
              rights: RightsDep) -> VersionOut:
    """Send a submitted version back to its author with a comment."""
    _signed(rights)
    with as_http():
        return version_out(knowledge.send_back(rights, task_id, number, body.comment))


def _signed(rights: Rights) -> None:
    if rights.principal.anonymous:
        raise Denied(401, "Zugangsdaten fehlen (Token oder X-API-Key).")


@router.put("/personen/{name}/ausscheiden", status_code=204, responses=responses(401, 404, 422))
def set_departure(name: Annotated[str, Path(max_length=64)], body: DepartureIn, knowledge: KnowledgeDep,
                  rights: RightsDep) -> Response:
    """The day a person leaves (knowledge officers of their tenant): the coverage view
    marks their tasks without a released note as at risk."""
    _signed(rights)
    with as_http():
        knowledge.set_departure(rights, name, body.departs_on)
    return Response(status_code=204)


@router.get("/wissenslandkarte", response_model=CoverageOut, responses=responses(401, 422))
def coverage(knowledge: KnowledgeDep, rights: RightsDep,
             monate: Annotated[int, Query(ge=1, le=60, description="Ausscheiden innerhalb von … Monaten")] = 6,
             ) -> CoverageOut:
    """Coverage of the collections the caller tends: tasks with and without a released note,
    at risk (owner leaves, no note), review due, without deputy; documents due for review."""
    cov = knowledge.coverage(rights, monate)
    due = knowledge.due_documents(rights)
    return CoverageOut(today=cov.today, months=cov.months, units=cov.units, documents_due=[d.id for d in due], tasks=[
        CoverageRow(task=r["task"].id, name=r["task"].name, unit=r["task"].unit, owner=r["task"].owner,
                    owner_departs=r["departs"], released_version=r["released"].version if r["released"] else None,
                    at_risk=r["at_risk"], review_due=r["task"].review_due, review_overdue=r["review_overdue"],
                    no_deputy=r["no_deputy"]) for r in cov.rows])


@router.get("/uebergabe", responses={**responses(401, 422), 200: {"content": {
    "application/json": {}, "text/markdown": {}, "application/pdf": {}}}})
def handover(request: Request, knowledge: KnowledgeDep, rights: RightsDep,
             person: Annotated[str | None, Query(max_length=64, description="Benutzername")] = None,
             unit: Annotated[str | None, Query(max_length=64, description="Organisationseinheit")] = None,
             format: Annotated[Literal["json", "markdown", "pdf"], Query(description="Ausgabeformat")] = "json"):
    """Handover folder (Übergabemappe) of a person or a unit: tasks, released notes,
    linked documents, deputies, review dates — as JSON, Markdown or PDF."""
    with as_http():
        folder = knowledge.handover(rights, person, unit)
    note_deputy_use(request, rights, {e["task"].collection for e in folder["entries"]}, "Übergabemappe")
    name = f"uebergabe-{person or unit}"
    if format == "markdown":
        return PlainTextResponse(handover_markdown(folder), media_type="text/markdown; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{_safe(name)}.md"'})
    if format == "pdf":
        return Response(handover_pdf(folder), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{_safe(name)}.pdf"'})
    return {"person": folder["person"], "unit": folder["unit"], "tasks": [
        {**task_out(TaskView(e["task"], e["note"], None, e["owner_departs"])).model_dump(),
         "linked_documents": [{"id": d.id, "title": d.title} for d in e["documents"]]} for e in folder["entries"]]}


def _safe(name: str) -> str:
    """A file name for Content-Disposition: ASCII only (the header is Latin-1)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)[:80]


@router.post("/aufgaben/import", response_model=ImportOut, responses=responses(401, 403, 413, 422))
async def import_knowledge(request: Request, knowledge: KnowledgeDep, rights: WriterDep,
                           katalog: UploadFile | None = None, notizen: list[UploadFile] | None = None,
                           sammlung: Annotated[str | None, Query(max_length=64,
                                                                 description="Sammlung für Zeilen ohne eigene")] = None
                           ) -> ImportOut:
    """Import a task catalogue (CSV: name, einheit, leika, verantwortlich, rechtsgrundlage, …)
    and notes (Markdown with front matter `aufgabe:`), as drafts submitted for release."""
    report = ImportReport()
    with as_http():
        if katalog is not None:
            import_catalogue(knowledge, rights, (await katalog.read()).decode("utf-8-sig", errors="replace"),
                             sammlung, report)
        for upload in notizen or []:
            import_notes(knowledge, rights, [(upload.filename or "notiz.md",
                                              (await upload.read()).decode("utf-8-sig", errors="replace"))], report)
    return ImportOut(**report.as_dict())
