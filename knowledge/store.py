"""Tasks, note versions and departure dates, in the access model's database (SQLite beside
the index or the index's PostgreSQL): rights, tasks and notes are backed up together.

Only storage and the state machine's single steps live here; who may take a step is
decided by knowledge/service.py. Every step that matters for accountability appends
to the audit log in the same transaction.
"""

from __future__ import annotations

import json
import re
import unicodedata

from access.db import Database
from access.store import AccessError, AccessStore, NotFound, now_iso
from knowledge.model import (DRAFT, RELEASED, RETURNED, SECTION_TITLES, SUBMITTED, SUPERSEDED, WITHDRAWN,
                             NoteVersion, Task)

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, unit TEXT,
    collection TEXT NOT NULL, leika TEXT, owner TEXT, deputies TEXT NOT NULL, frequency TEXT, criticality TEXT,
    legal_basis TEXT NOT NULL, documents TEXT NOT NULL, review_due TEXT, doc_id TEXT, indexed_version INTEGER,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS note_versions (task TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    version INTEGER NOT NULL, state TEXT NOT NULL, sections TEXT NOT NULL, author TEXT NOT NULL,
    saved_by TEXT NOT NULL, created_at TEXT NOT NULL, submitted_at TEXT, reviewer TEXT, reviewed_at TEXT, comment TEXT NOT NULL,
    PRIMARY KEY (task, version));
CREATE TABLE IF NOT EXISTS departures (user_name TEXT PRIMARY KEY, departs_on TEXT NOT NULL, set_by TEXT NOT NULL,
    set_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_doc ON tasks (doc_id);
CREATE INDEX IF NOT EXISTS tasks_tenant ON tasks (tenant, unit);
"""

TASK_FIELDS = ("name", "unit", "collection", "leika", "owner", "deputies", "frequency", "criticality",
               "legal_basis", "documents", "review_due")
LEIKA = re.compile(r"[0-9]{14}")
TASK_ID = re.compile(r"[a-z0-9-]{1,80}")
MAX_VERSION = 1_000_000


def slug(name: str) -> str:
    """"Führungszeugnis beantragen" → "fuehrungszeugnis-beantragen"."""
    text = name.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "aufgabe"


def _task(r: dict) -> Task:
    return Task(r["id"], r["tenant"], r["name"], r["unit"], r["collection"], r["leika"], r["owner"],
                tuple(json.loads(r["deputies"])), r["frequency"], r["criticality"], r["legal_basis"],
                tuple(json.loads(r["documents"])), r["review_due"], r["doc_id"], r["indexed_version"], r["created_by"],
                r["created_at"], r["updated_at"])


def _version(r: dict) -> NoteVersion:
    return NoteVersion(r["task"], r["version"], r["state"], json.loads(r["sections"]), r["author"], r["created_at"],
                       r["submitted_at"], r["reviewer"], r["reviewed_at"], r["comment"], r["saved_by"])


class KnowledgeStore:
    def __init__(self, db: Database):
        self.db = db
        db.ensure(SCHEMA)

    # --- tasks ----------------------------------------------------------------------
    def tasks(self, tenant: str | None = None, collections: frozenset[str] | None = None) -> list[Task]:
        sql, args = "SELECT * FROM tasks", []
        if tenant is not None:
            sql, args = sql + " WHERE tenant = ?", [tenant]
        with self.db.tx(write=False) as run:
            rows = run(sql + " ORDER BY unit, name", args)
        tasks = [_task(r) for r in rows]
        return tasks if collections is None else [t for t in tasks if t.collection in collections]

    def task(self, task_id: str) -> Task:
        if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
            raise NotFound("Aufgabe nicht gefunden.")
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            raise NotFound("Aufgabe nicht gefunden.")
        return _task(rows[0])

    def task_by_doc(self, doc_ids: list[str]) -> dict[str, Task]:
        if not doc_ids:
            return {}
        marks = ", ".join("?" * len(doc_ids))
        with self.db.tx(write=False) as run:
            rows = run(f"SELECT * FROM tasks WHERE doc_id IN ({marks})", list(doc_ids))
        return {r["doc_id"]: _task(r) for r in rows}

    def add_task(self, tenant: str, fields: dict, by: str) -> Task:
        name = fields["name"]
        base = slug(name)
        with self.db.tx() as run:
            taken = {r["id"] for r in run("SELECT id FROM tasks WHERE id = ? OR id LIKE ?", (base, base + "-%"))}
            task_id, n = base, 2
            while task_id in taken:
                task_id, n = f"{base}-{n}", n + 1
            now = now_iso()
            run("INSERT INTO tasks (id, tenant, name, unit, collection, leika, owner, deputies, frequency, criticality, "
                "legal_basis, documents, review_due, doc_id, indexed_version, created_by, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
                (task_id, tenant, name, fields.get("unit"), fields["collection"], fields.get("leika"),
                 fields.get("owner"), json.dumps(list(fields.get("deputies") or ())), fields.get("frequency"),
                 fields.get("criticality"), fields.get("legal_basis") or "",
                 json.dumps(list(fields.get("documents") or ())), fields.get("review_due"), by, now, now))
            AccessStore._audit(run, tenant, by, "aufgabe-angelegt", task_id, name)
        return self.task(task_id)

    def update_task(self, task_id: str, fields: dict, by: str) -> Task:
        sets, args = [], []
        for key in TASK_FIELDS:
            if key in fields:
                value = fields[key]
                if key in ("deputies", "documents"):
                    value = json.dumps(list(value or ()))
                elif key == "legal_basis":
                    value = value or ""
                sets.append(f"{key} = ?")
                args.append(value)
        task = self.task(task_id)
        with self.db.tx() as run:
            if sets:
                run(f"UPDATE tasks SET {', '.join(sets)}, updated_at = ? WHERE id = ?", args + [now_iso(), task_id])
            AccessStore._audit(run, task.tenant, by, "aufgabe-geaendert", task_id, ", ".join(sorted(fields)))
        return self.task(task_id)

    def set_indexed(self, task_id: str, doc_id: str | None, version: int | None) -> None:
        """Which document and version of the note the index holds now."""
        with self.db.tx() as run:
            run("UPDATE tasks SET doc_id = ?, indexed_version = ? WHERE id = ?", (doc_id, version, task_id))

    def delete_task(self, task_id: str, by: str) -> Task:
        task = self.task(task_id)
        with self.db.tx() as run:
            run("DELETE FROM note_versions WHERE task = ?", (task_id,))
            run("DELETE FROM tasks WHERE id = ?", (task_id,))
            AccessStore._audit(run, task.tenant, by, "aufgabe-geloescht", task_id, task.name)
        return task

    # --- note versions --------------------------------------------------------------
    def versions(self, task_id: str) -> list[NoteVersion]:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM note_versions WHERE task = ? ORDER BY version DESC", (task_id,))
        return [_version(r) for r in rows]

    def version(self, task_id: str, version: int) -> NoteVersion:
        if not 1 <= version <= MAX_VERSION:
            raise NotFound("Diese Fassung gibt es nicht.")
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM note_versions WHERE task = ? AND version = ?", (task_id, version))
        if not rows:
            raise NotFound("Diese Fassung gibt es nicht.")
        return _version(rows[0])

    def released(self, task_ids: list[str] | None = None) -> dict[str, NoteVersion]:
        """The released (answering) version of each task."""
        sql, args = "SELECT * FROM note_versions WHERE state = ?", [RELEASED]
        if task_ids is not None:
            if not task_ids:
                return {}
            sql += f" AND task IN ({', '.join('?' * len(task_ids))})"
            args += list(task_ids)
        with self.db.tx(write=False) as run:
            return {r["task"]: _version(r) for r in run(sql, args)}

    def save_draft(self, task_id: str, sections: dict[str, str], by: str, saved_by: str | None = None) -> NoteVersion:
        """A new version; a draft or submitted version before it is overtaken (a submitted one
        is thereby withdrawn from review). The released version stays released."""
        unknown = set(sections) - set(SECTION_TITLES)
        if unknown:
            raise AccessError("Unbekannte Abschnitte: " + ", ".join(sorted(unknown)))
        task = self.task(task_id)
        clean = {k: v.replace("\r\n", "\n").strip() for k, v in sections.items() if v and v.strip()}
        with self.db.tx() as run:
            rows = run("SELECT MAX(version) AS n FROM note_versions WHERE task = ?", (task_id,))
            number = (rows[0]["n"] or 0) + 1
            # a returned version keeps its state and comment: the history shows why it was not released
            run("UPDATE note_versions SET state = ? WHERE task = ? AND state IN (?, ?)",
                (WITHDRAWN, task_id, DRAFT, SUBMITTED))
            run("INSERT INTO note_versions (task, version, state, sections, author, saved_by, created_at, comment) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, '')", (task_id, number, DRAFT, json.dumps(clean, ensure_ascii=False), by,
                                                      saved_by or by, now_iso()))
            AccessStore._audit(run, task.tenant, by, "notiz-entwurf", task_id, f"Fassung {number}")
        return self.version(task_id, number)

    def set_author(self, task_id: str, version: int, author: str, by: str) -> None:
        """An imported draft names who wrote it (the front matter's `autor`); who imported it
        stays its `saved_by` (and may not release it either) and in the audit log."""
        task = self.task(task_id)
        with self.db.tx() as run:
            run("UPDATE note_versions SET author = ? WHERE task = ? AND version = ? AND state = ?",
                (author, task_id, version, DRAFT))
            AccessStore._audit(run, task.tenant, by, "notiz-importiert", task_id, f"Fassung {version}, Autor {author}")

    def transition(self, task_id: str, version: int, expected: str, new: str, by: str, comment: str = "") -> NoteVersion:
        """One step of the state machine, taken only from the expected state (two approvers
        clicking at once: the second finds the state changed)."""
        task = self.task(task_id)
        if not 1 <= version <= MAX_VERSION:
            raise NotFound("Diese Fassung gibt es nicht.")
        now = now_iso()
        with self.db.tx() as run:
            rows = run("SELECT state FROM note_versions WHERE task = ? AND version = ?", (task_id, version))
            if not rows:
                raise NotFound("Diese Fassung gibt es nicht.")
            if rows[0]["state"] != expected:
                raise AccessError("Diese Fassung ist inzwischen in einem anderen Stand; bitte die Seite neu laden.")
            if new == SUBMITTED:
                run("UPDATE note_versions SET state = ?, submitted_at = ? WHERE task = ? AND version = ?",
                    (new, now, task_id, version))
            else:
                if new == RELEASED:
                    run("UPDATE note_versions SET state = ? WHERE task = ? AND state = ?",
                        (SUPERSEDED, task_id, RELEASED))
                run("UPDATE note_versions SET state = ?, reviewer = ?, reviewed_at = ?, comment = ? "
                    "WHERE task = ? AND version = ?", (new, by, now, comment[:2000], task_id, version))
            action = {SUBMITTED: "notiz-eingereicht", RELEASED: "notiz-freigegeben",
                      RETURNED: "notiz-zurueckgegeben"}.get(new, "notiz-" + new)
            AccessStore._audit(run, task.tenant, by, action, task_id, f"Fassung {version}" + (
                f": {comment[:200]}" if comment else ""))
        return self.version(task_id, version)

    def undo_release(self, task_id: str, version: int, previous: int | None, by: str) -> None:
        """Take back a release that could not be indexed: the version is submitted again and
        the version released before answers again."""
        task = self.task(task_id)
        with self.db.tx() as run:
            run("UPDATE note_versions SET state = ?, reviewer = NULL, reviewed_at = NULL WHERE task = ? AND version = ?",
                (SUBMITTED, task_id, version))
            if previous is not None:
                run("UPDATE note_versions SET state = ? WHERE task = ? AND version = ?", (RELEASED, task_id, previous))
            AccessStore._audit(run, task.tenant, by, "notiz-freigabe-zurueckgenommen", task_id, f"Fassung {version}")

    # --- departures -----------------------------------------------------------------
    def departures(self) -> dict[str, str]:
        with self.db.tx(write=False) as run:
            return {r["user_name"]: r["departs_on"] for r in run("SELECT user_name, departs_on FROM departures")}

    def set_departure(self, tenant: str, user: str, departs_on: str | None, by: str) -> None:
        with self.db.tx() as run:
            run("DELETE FROM departures WHERE user_name = ?", (user,))
            if departs_on:
                run("INSERT INTO departures (user_name, departs_on, set_by, set_at) VALUES (?, ?, ?, ?)",
                    (user, departs_on, by, now_iso()))
            AccessStore._audit(run, tenant, by, "ausscheiden-gesetzt", user, departs_on or "entfernt")
