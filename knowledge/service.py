"""The rules of knowledge capture, used alike by the API, the pages and the CLI.

Who may do what (rights of the task's collection, see access/model.py):
- read a task and its released note: readers;
- see drafts and the version history, write drafts, submit: editors;
- release or send back: approvers — never the author of that version (Vier-Augen-Prinzip);
- create, change and delete tasks, departure dates, coverage: knowledge officers.

Only a released version is indexed, as an ordinary document of the task's collection
under the root `aufgabe:` (so retrieval, access filters, counts, files and highlights
treat it like every other document, and a draft can never reach a reader through
them). The release is recorded first, then indexed; if indexing fails the release is
undone, and `reconcile` (at start-up) brings the index in line with the released
versions after a crash in between.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Iterable

from access.model import Rights
from access.store import AccessError, NotFound, check_date
from index.base import NOTE_ROOT, Backend, document_id
from ingest import writes
from knowledge.model import (CRITICALITIES, DRAFT, FREQUENCIES, MAX_SECTION_CHARS, RELEASED, RETURNED, SECTION_TITLES,
                             SUBMITTED, Coverage, NoteVersion, Task, TaskView)
from knowledge.render import note_markdown
from knowledge.store import LEIKA, KnowledgeStore
from models.embedder import Embedder
from search.results import NoteRef

logger = logging.getLogger(__name__)



class Forbidden(AccessError):
    """The caller may see the task but not do this (403)."""


class IndexFailed(AccessError):
    """The release could not be indexed; it was undone (503)."""


def is_note_document(root: str) -> bool:
    return root.startswith(NOTE_ROOT)


def note_doc_id(task_id: str) -> str:
    return document_id(NOTE_ROOT + "notizen", f"{task_id}.md")


@dataclass
class TaskInput:
    """The fields of a task as a form or JSON gives them (strings; lists comma-separated)."""
    name: str
    collection: str
    unit: str | None = None
    leika: str | None = None
    owner: str | None = None
    deputies: list[str] | None = None
    frequency: str | None = None
    criticality: str | None = None
    legal_basis: str | None = None
    documents: list[str] | None = None
    review_due: str | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f]")


def check_text(value: str | None, what: str, multiline: bool = False) -> str | None:
    """Text from outside without control characters (PostgreSQL refuses NUL; a name has no
    line breaks). Raises AccessError with a German reason."""
    if value is None:
        return None
    if not isinstance(value, str) or (_CONTROL if multiline else _CONTROL_LINE).search(value):
        raise AccessError(f"{what}: Steuerzeichen sind nicht erlaubt.")
    return value


def split_names(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else list(value)
    seen: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in seen:
            seen.append(item)
    return seen


class Knowledge:
    def __init__(self, store: KnowledgeStore, access, backend: Backend, embedder: Embedder, settings):
        self.store = store
        self.access = access  # access.service.AccessService
        self.backend = backend
        self.embedder = embedder
        self.settings = settings
        # release, delete and reconcile change the index one at a time in this process (a
        # delete racing a release must not leave a note of a task that no longer exists)
        self._writing = threading.RLock()

    # --- reading --------------------------------------------------------------------
    def readable_task(self, rights: Rights, task_id: str) -> Task:
        """The task, if the caller may read its collection; else NotFound (no hint that it exists)."""
        task = self.store.task(task_id)
        if not rights.can_read(task.collection):
            raise NotFound("Aufgabe nicht gefunden.")
        return task

    def tasks(self, rights: Rights, unit: str | None = None, owner: str | None = None) -> list[Task]:
        """Readable tasks; filtered by a person only where the caller may see who works on them."""
        return [t for t in self.store.tasks(collections=rights.read)
                if (unit is None or t.unit == unit) and (owner is None or (
                    self.sees_people(rights, t) and (t.owner == owner or owner in t.deputies)))]

    @staticmethod
    def sees_people(rights: Rights, task: Task) -> bool:
        """Owner and deputies are shown inside the task's tenant; a task read through a public
        or shared collection shows its note, not who works on it."""
        return rights.principal.tenant == task.tenant or task.tenant in rights.admin_of

    def shown(self, rights: Rights, task: Task) -> Task:
        """The task as this caller may see it: without its people outside its tenant."""
        return task if self.sees_people(rights, task) else replace(task, owner=None, deputies=())

    def tended_tenants(self, rights: Rights) -> set[str]:
        """The tenants whose staff planning (departure dates) the caller sees and sets: those it
        administers or tends a collection of."""
        return set(rights.admin_of) | {self.access.tenant_of(c) for c in rights.officer}

    @staticmethod
    def sees_drafts(rights: Rights, task: Task) -> bool:
        return rights.can_edit(task.collection) or rights.can_approve(task.collection)

    def view(self, rights: Rights, task_id: str) -> TaskView:
        task = self.readable_task(rights, task_id)
        released = self.store.released([task.id]).get(task.id)
        pending = None
        if self.sees_drafts(rights, task):
            pending = next((v for v in self.store.versions(task.id) if v.state in (DRAFT, SUBMITTED, RETURNED)), None)
        departs = self.store.departures().get(task.owner or "") if task.tenant in self.tended_tenants(rights) \
            else None
        return TaskView(self.shown(rights, task), released, pending, departs)

    def views(self, rights: Rights, tasks: list[Task]) -> list[TaskView]:
        released = self.store.released([t.id for t in tasks])
        departures = self.store.departures()
        shown = self.tended_tenants(rights)
        return [TaskView(self.shown(rights, t), released.get(t.id), None,
                         departures.get(t.owner or "") if t.tenant in shown else None) for t in tasks]

    def versions(self, rights: Rights, task_id: str) -> list[NoteVersion]:
        """The whole history for those who edit or approve; readers see the released version only."""
        task = self.readable_task(rights, task_id)
        versions = self.store.versions(task.id)
        if self.sees_drafts(rights, task):
            return versions
        return [v for v in versions if v.state == RELEASED]

    def version(self, rights: Rights, task_id: str, number: int) -> NoteVersion:
        version = next((v for v in self.versions(rights, task_id) if v.version == number), None)
        if version is None:
            raise NotFound("Diese Fassung gibt es nicht.")
        return version

    def sources(self, doc_ids: Iterable[str]) -> dict[str, NoteRef]:
        """For search results: which of these documents are released notes, and who stands behind them."""
        tasks = self.store.task_by_doc(sorted(set(doc_ids)))
        released = self.store.released([t.id for t in tasks.values()])
        out = {}
        for doc_id, task in tasks.items():
            v = released.get(task.id)
            if v is not None:
                out[doc_id] = NoteRef(task=task.id, task_name=task.name, version=v.version, author=v.author,
                                      approver=v.reviewer or "", released_at=(v.reviewed_at or "")[:10],
                                      url=f"/wissen/aufgabe/{task.id}")
        return out

    # --- tasks ----------------------------------------------------------------------
    def _check_task(self, fields: TaskInput, rights: Rights) -> dict:
        if not rights.officer or fields.collection not in rights.officer:
            raise Forbidden(f"Aufgaben in der Sammlung „{fields.collection}“ legen nur "
                            "Wissensmanager dieser Sammlung an.")
        for value, what in ((fields.name, "Name"), (fields.unit, "Organisationseinheit"), (fields.leika, "LeiKa"),
                            (fields.owner, "Verantwortlich"), (fields.frequency, "Häufigkeit"),
                            (fields.criticality, "Kritikalität"), (fields.legal_basis, "Rechtsgrundlage"),
                            (fields.review_due, "Wiedervorlage")):
            check_text(value, what)
        for value in list(fields.deputies or []) + list(fields.documents or []):
            check_text(value, "Vertretung oder Dokument")
        name = " ".join((fields.name or "").split())
        if not 2 <= len(name) <= 200:
            raise AccessError("Bitte einen Namen der Aufgabe mit 2 bis 200 Zeichen angeben.")
        tenant = self.access.tenant_of(fields.collection)
        leika = (fields.leika or "").replace(" ", "") or None
        if leika is not None and not LEIKA.fullmatch(leika):
            raise AccessError("Der LeiKa-Schlüssel hat 14 Ziffern.")
        units = {u.name for u in self.access.store.units(tenant)}
        unit = (fields.unit or "").strip() or None
        if unit is not None and unit not in units:
            raise AccessError(f"Organisationseinheit „{unit}“ gibt es im Mandanten „{tenant}“ nicht.")
        people = [fields.owner] if fields.owner else []
        deputies = split_names(fields.deputies)
        for person in people + deputies:
            user = self.access.store.user(person)
            if user is None or user.tenant != tenant:
                raise AccessError(f"Benutzer „{person}“ gibt es im Mandanten „{tenant}“ nicht.")
        if fields.owner and fields.owner in deputies:
            raise AccessError("Die verantwortliche Person kann nicht zugleich ihre eigene Vertretung sein.")
        if fields.frequency and fields.frequency not in FREQUENCIES:
            raise AccessError("Häufigkeit: eine von " + ", ".join(FREQUENCIES) + ".")
        if fields.criticality and fields.criticality not in CRITICALITIES:
            raise AccessError("Kritikalität: eine von " + ", ".join(CRITICALITIES) + ".")
        legal = " ".join((fields.legal_basis or "").split())
        if len(legal) > 500:
            raise AccessError("Die Rechtsgrundlage ist zu lang (höchstens 500 Zeichen).")
        documents = split_names(fields.documents)
        if len(documents) > 50:
            raise AccessError("Höchstens 50 verknüpfte Dokumente.")
        if documents:
            with self.backend.snapshot() as reader:
                for doc_id in documents:
                    doc = reader.document(doc_id)
                    if doc is None or not rights.can_read(doc.collection) or is_note_document(doc.root):
                        raise AccessError(f"Dokument „{doc_id}“ gibt es nicht.")
        review = check_date(fields.review_due, "Wiedervorlage") if fields.review_due else None
        return {"name": name, "collection": fields.collection, "unit": unit, "leika": leika,
                "owner": fields.owner or None, "deputies": deputies, "frequency": fields.frequency or None,
                "criticality": fields.criticality or None, "legal_basis": legal, "documents": documents,
                "review_due": review, "tenant": tenant}

    def create_task(self, rights: Rights, fields: TaskInput) -> Task:
        checked = self._check_task(fields, rights)
        return self.store.add_task(checked.pop("tenant"), checked, self.actor(rights))

    def update_task(self, rights: Rights, task_id: str, fields: TaskInput) -> Task:
        task = self.readable_task(rights, task_id)
        if task.collection not in rights.officer:
            raise Forbidden("Aufgaben ändern nur Wissensmanager ihrer Sammlung.")
        checked = self._check_task(fields, rights)
        if checked.pop("tenant") != task.tenant:
            raise AccessError("Eine Aufgabe bleibt in ihrem Mandanten.")
        with self._writing:
            updated = self.store.update_task(task.id, checked, self.actor(rights))
            if updated.collection != task.collection or updated.name != task.name or updated.owner != task.owner:
                self._index(updated)  # the indexed note carries collection, name and owner
        return updated

    def delete_task(self, rights: Rights, task_id: str) -> Task:
        task = self.readable_task(rights, task_id)
        if task.collection not in rights.officer:
            raise Forbidden("Aufgaben löschen nur Wissensmanager ihrer Sammlung.")
        with self._writing:
            self._unindex(task, self.actor(rights))
            return self.store.delete_task(task.id, self.actor(rights))

    # --- the note's versions -----------------------------------------------------------
    def save_draft(self, rights: Rights, task_id: str, sections: dict[str, str]) -> NoteVersion:
        task = self.readable_task(rights, task_id)
        if not rights.can_edit(task.collection):
            raise Forbidden(f"Keine Schreibrechte für die Sammlung „{task.collection}“.")
        for key, text in sections.items():
            if key not in SECTION_TITLES:
                raise AccessError(f"Unbekannter Abschnitt „{key}“.")
            if not isinstance(text, str) or len(text) > MAX_SECTION_CHARS:
                raise AccessError(f"Abschnitt „{SECTION_TITLES[key]}“: höchstens {MAX_SECTION_CHARS} Zeichen Text.")
            check_text(text, f"Abschnitt „{SECTION_TITLES[key]}“", multiline=True)
        if not any(t.strip() for t in sections.values()):
            raise AccessError("Die Notiz ist leer: bitte mindestens einen Abschnitt ausfüllen.")
        return self.store.save_draft(task.id, sections, self.actor(rights), self.person(rights))

    def submit(self, rights: Rights, task_id: str, number: int) -> NoteVersion:
        task = self.readable_task(rights, task_id)
        if not rights.can_edit(task.collection):
            raise Forbidden(f"Keine Schreibrechte für die Sammlung „{task.collection}“.")
        return self.store.transition(task.id, number, DRAFT, SUBMITTED, self.actor(rights))

    def _reviewable(self, rights: Rights, task_id: str, number: int) -> tuple[Task, NoteVersion]:
        task = self.readable_task(rights, task_id)
        if not rights.can_approve(task.collection):
            raise Forbidden(f"Freigeben dürfen nur Personen mit der Rolle „Freigeben“ für „{task.collection}“.")
        version = self.store.version(task.id, number)
        versions = self.store.versions(task.id)
        released = max((v.version for v in versions if v.state == RELEASED), default=0)
        # everyone who wrote, saved or imported a version since the released one shaped this text
        shaped = {name for v in versions if released < v.version <= number for name in (v.author, v.saved_by)}
        if {rights.principal.name, self.person(rights)} & shaped:
            raise Forbidden("Die eigene Fassung gibt eine zweite Person frei (Vier-Augen-Prinzip): wer seit der "
                            "letzten Freigabe an der Notiz geschrieben oder sie eingelesen hat, gibt sie nicht frei.")
        return task, version

    def release(self, rights: Rights, task_id: str, number: int) -> NoteVersion:
        with self._writing:
            task, _ = self._reviewable(rights, task_id, number)
            before = self.store.released([task.id]).get(task.id)
            released = self.store.transition(task.id, number, SUBMITTED, RELEASED, self.actor(rights))
            try:
                self._index(task)
            except Exception as exc:
                logger.exception("Freigabe von %s Fassung %s nicht indexiert", task.id, number)
                self.store.undo_release(task.id, number, before.version if before else None, self.actor(rights))
                try:
                    self._index(task)  # the version released before answers again, not a half-written one
                except Exception:  # noqa: BLE001 - reconcile at the next start finishes it
                    logger.exception("Voriger Stand von %s nicht wiederhergestellt", task.id)
                raise IndexFailed("Die Fassung konnte nicht in den Suchindex geschrieben werden; die Freigabe wurde "
                                  f"zurückgenommen ({type(exc).__name__}).") from exc
        return released

    def send_back(self, rights: Rights, task_id: str, number: int, comment: str) -> NoteVersion:
        comment = " ".join((comment or "").split())
        if not comment:
            raise AccessError("Bitte sagen Sie in einem Kommentar, was an der Fassung fehlt.")
        task, _ = self._reviewable(rights, task_id, number)
        return self.store.transition(task.id, number, SUBMITTED, RETURNED, self.actor(rights), comment)

    # --- the index --------------------------------------------------------------------
    def _index(self, task: Task, by: str = "wissen") -> str | None:
        """Put the task's released version into the index (or take it out if there is none)."""
        task = self.store.task(task.id)
        version = self.store.released([task.id]).get(task.id)
        if version is None:
            self._unindex(task, by)
            return None
        markdown = note_markdown(task, version)
        meta = {k: v for k, v in {"title": task.name, "zustaendig": task.owner,
                                  "zuletzt_geprueft": (version.reviewed_at or "")[:10]}.items() if v}
        with writes.staged(self.backend.work_folder, f"{task.id}.md", io.BytesIO(markdown.encode()), meta) as path:
            result = writes.ingest_file(self.backend, self.embedder, path, NOTE_ROOT + "notizen", f"{task.id}.md",
                                        task.collection, f"notiz:{version.reviewer}", self.settings.chunk_sizes(),
                                        self.settings.ingest_limits())
        if result.report.failed:
            raise RuntimeError(result.report.failed[0].reason)
        self.store.set_indexed(task.id, result.doc_id, version.version)
        return result.doc_id

    def _unindex(self, task: Task, by: str) -> None:
        doc_id = task.doc_id or note_doc_id(task.id)
        with self.backend.snapshot() as reader:
            present = reader.document(doc_id) is not None
        if present:
            writes.remove(self.backend, self.embedder, doc_id, by)
        self.store.set_indexed(task.id, None, None)

    def reconcile(self) -> list[str]:
        """Bring the index in line with the released versions (after a crash between release
        and indexing, a failed undo, or a restore of the database): a note whose stored text
        is not the released version's is written anew, one without a released version or
        without a task is removed. Returns the tasks (or orphaned documents) changed."""
        with self._writing:
            tasks = {t.id: t for t in self.store.tasks()}
            released = self.store.released()
            expected = {note_doc_id(t.id): t for t in tasks.values() if t.id in released}
            stale, orphans = [], []
            with self.backend.snapshot() as reader:
                for doc in reader.list_documents():
                    if is_note_document(doc.root) and doc.id not in expected:
                        orphans.append(doc.id)
                for doc_id, task in expected.items():
                    doc = reader.document(doc_id)
                    text = note_markdown(task, released[task.id]).encode()
                    stored = reader.original(doc.stored_file) if doc is not None else None
                    if hasattr(stored, "read_bytes"):
                        stored = stored.read_bytes()
                    if doc is None or doc.collection != task.collection or stored != text \
                            or task.indexed_version != released[task.id].version:
                        stale.append(task)
            for doc_id in orphans:
                writes.remove(self.backend, self.embedder, doc_id, "wissen-abgleich")
            for task in stale:
                self._index(task, "wissen-abgleich")
            for task in tasks.values():
                if task.id not in released and task.doc_id is not None:
                    self.store.set_indexed(task.id, None, None)
        return [t.id for t in stale] + orphans

    # --- people ---------------------------------------------------------------------
    @staticmethod
    def actor(rights: Rights) -> str:
        return rights.principal.name

    def person(self, rights: Rights) -> str:
        """The person accountable for a caller: a user, or whoever created the machine token."""
        principal = rights.principal
        if principal.kind == "token":
            token = self.access.store.token(principal.name.removeprefix("token:"))
            if token is not None:
                return token.created_by
        return principal.name

    def set_departure(self, rights: Rights, user_name: str, departs_on: str | None) -> None:
        check_text(user_name, "Person")
        check_text(departs_on, "Ausscheiden")
        user = self.access.store.user(user_name)
        if user is None or user.tenant not in self.tended_tenants(rights):
            raise NotFound("Benutzer nicht gefunden.")
        day = check_date(departs_on, "Ausscheiden") if departs_on else None
        self.store.set_departure(user.tenant, user.name, day, self.actor(rights))

    # --- coverage ---------------------------------------------------------------------
    def coverage(self, rights: Rights, months: int = 6, today: str | None = None, unit: str | None = None,
                 only: str | None = None, sort: str = "einheit") -> Coverage:
        """The Wissenslandkarte over the collections the caller tends."""
        today = today or date.today().isoformat()
        horizon = (date.fromisoformat(today) + timedelta(days=round(30.44 * months))).isoformat()
        soon = (date.fromisoformat(today) + timedelta(days=30)).isoformat()
        departures = self.store.departures()
        tasks = self.store.tasks(collections=rights.officer)
        released = self.store.released([t.id for t in tasks])
        rows = []
        for t in tasks:
            note = released.get(t.id)
            departs = departures.get(t.owner or "")
            leaving = departs is not None and departs <= horizon
            row = {"task": t, "released": note, "departs": departs,
                   "at_risk": leaving and note is None,
                   "leaving": leaving,
                   "review_due": t.review_due is not None and t.review_due <= soon,
                   "review_overdue": t.review_due is not None and t.review_due < today,
                   "no_deputy": not t.deputies}
            rows.append(row)
        cov = Coverage(today, months)
        for r in rows:
            u = cov.units.setdefault(r["task"].unit or "–", {"tasks": 0, "with_note": 0, "at_risk": 0,
                                                             "review_due": 0, "no_deputy": 0})
            u["tasks"] += 1
            u["with_note"] += r["released"] is not None
            u["at_risk"] += r["at_risk"]
            u["review_due"] += r["review_due"]
            u["no_deputy"] += r["no_deputy"]
        filters = {"risiko": "at_risk", "ohne-notiz": None, "wiedervorlage": "review_due", "ohne-vertretung": "no_deputy"}
        if unit:
            rows = [r for r in rows if (r["task"].unit or "–") == unit]
        if only in filters:
            key = filters[only]
            rows = [r for r in rows if (r["released"] is None if key is None else r[key])]
        keys = {"einheit": lambda r: (r["task"].unit or "", r["task"].name),
                "aufgabe": lambda r: r["task"].name.casefold(),
                "ausscheiden": lambda r: (r["departs"] or "9999", r["task"].name),
                "wiedervorlage": lambda r: (r["task"].review_due or "9999", r["task"].name),
                "risiko": lambda r: (not r["at_risk"], not r["leaving"], r["task"].name)}
        cov.rows = sorted(rows, key=keys.get(sort, keys["einheit"]))
        return cov

    def due_documents(self, rights: Rights, today: str | None = None) -> list:
        """Documents of the tended collections whose review is due (zuletzt geprüft too long ago)."""
        from index.base import review_overdue

        with self.backend.snapshot() as reader:
            docs = reader.list_documents()
        return [d for d in docs if d.collection in rights.officer and not is_note_document(d.root)
                and d.reviewed_at and review_overdue(d.reviewed_at, self.settings.review_after_days)]

    # --- handover ---------------------------------------------------------------------
    def handover(self, rights: Rights, person: str | None = None, unit: str | None = None) -> dict:
        """What a successor or deputy needs on day one: the tasks of a person (owner or
        named deputy) or of a unit, their released notes, documents, deputies, review dates."""
        if not person and not unit:
            raise AccessError("Bitte eine Person oder eine Organisationseinheit angeben.")
        check_text(person, "Person")
        check_text(unit, "Organisationseinheit")
        tasks = self.tasks(rights, unit, person)
        released = self.store.released([t.id for t in tasks])
        linked: dict[str, object] = {}
        with self.backend.snapshot() as reader:
            for t in tasks:
                for doc_id in t.documents:
                    doc = reader.document(doc_id)
                    if doc is not None and rights.can_read(doc.collection):
                        linked[doc_id] = doc
        departures = self.store.departures()
        shown = self.tended_tenants(rights)
        entries = [{"task": self.shown(rights, t), "note": released.get(t.id),
                    "documents": [linked[d] for d in t.documents if d in linked],
                    "owner_departs": departures.get(t.owner or "") if t.tenant in shown else None} for t in tasks]
        who = self.access.store.user(person) if person else None
        # who a person is and when they leave: only for those who may see that person's tasks' people
        known = who is not None and (who.tenant in shown or (entries and who.tenant == rights.principal.tenant))
        return {"person": person, "person_display": who.display if known else person, "unit": unit,
                "entries": entries, "today": date.today().isoformat(),
                "departs": departures.get(person or "") if who is not None and who.tenant in shown else None}

    def standing_in(self, rights: Rights) -> dict:
        """Vertretungsansicht: the tasks of the colleagues the caller stands in for today
        (deputies of the access model) and the tasks naming the caller as deputy."""
        me = rights.principal.name
        tasks = [t for t in self.store.tasks(collections=rights.read)
                 if self.sees_people(rights, t) and (t.owner in rights.acting_for or me in t.deputies)]
        released = self.store.released([t.id for t in tasks])
        return {"acting_for": list(rights.acting_for),
                "entries": [{"task": t, "note": released.get(t.id)} for t in tasks]}
