"""Import of existing knowledge, so an office with Word/Markdown procedure descriptions
does not start empty:

- a task catalogue as CSV (UTF-8, `;` or `,`), header names as in the demo set
  `data/wissen/aufgaben.csv`: name, einheit, leika, verantwortlich, vertretung,
  haeufigkeit, kritikalitaet, rechtsgrundlage, sammlung, wiedervorlage — a row whose
  task exists (same name in the same collection) updates it;
- notes as Markdown files with front matter (`aufgabe:`, optional `autor:`) and one
  level-2 heading per section ("## Unterlagen"); common other names of the modules
  ("Kosten", "Verfahrensablauf", "Erforderliche Unterlagen") are understood.

An imported note becomes a new version submitted for release, credited to the author
the file names and saved by the importer: a third person releases it — neither the
author nor the importer (optionally named at once: `release_as`, someone with the
approver role). A bad row or file is reported and skipped; the rest is imported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field

import yaml

from access.model import Rights
from access.store import AccessError
from knowledge.model import SECTIONS
from knowledge.service import Knowledge, TaskInput, split_names

COLUMNS = {"name": "name", "aufgabe": "name", "einheit": "unit", "organisationseinheit": "unit", "leika": "leika",
           "verantwortlich": "owner", "vertretung": "deputies", "vertretungen": "deputies",
           "haeufigkeit": "frequency", "häufigkeit": "frequency", "kritikalitaet": "criticality",
           "kritikalität": "criticality", "rechtsgrundlage": "legal_basis", "sammlung": "collection",
           "wiedervorlage": "review_due", "dokumente": "documents"}
ALIASES = {"kosten": "gebuehren", "gebühren und kosten": "gebuehren", "verfahrensablauf": "ablauf",
           "ablauf": "ablauf", "erforderliche unterlagen": "unterlagen", "fachverfahren/it": "fachverfahren",
           "fachverfahren": "fachverfahren", "it": "fachverfahren", "rechtsgrundlagen": "rechtsgrundlage",
           "zuständige stelle": "zustaendig", "zuständigkeit": "zustaendig", "ansprechpersonen": "ansprechpartner",
           "kontakt": "ansprechpartner", "typische fehler": "fehler", "fallstricke": "fehler",
           "besonderheiten": "sonderfaelle", "leistung": "leistung", "beschreibung": "leistung",
           "fristen und termine": "fristen", "formulare und vordrucke": "formulare"}
HEADING_KEYS = {title.casefold(): key for key, title in SECTIONS} | ALIASES
_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(\n|\Z)", re.S)
MAX_FRONT = 4096  # front matter holds a task name and an author, nothing more


class _Semicolons(csv.excel):
    delimiter = ";"


def _heading(line: str) -> str | None:
    """The title of a level-2 heading line ("## Unterlagen ##" → "Unterlagen"), else None.
    Plain string work: a regular expression over a line of many spaces backtracks for minutes."""
    if not line.startswith("## ") and not line.startswith("##\t"):
        return None
    title = line[2:].strip().rstrip("#").strip()
    return title or None


@dataclass
class ImportReport:
    tasks_added: int = 0
    tasks_updated: int = 0
    notes: int = 0
    released: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def import_catalogue(knowledge: Knowledge, rights: Rights, text: str, default_collection: str | None,
                     report: ImportReport) -> ImportReport:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=";,\t")
    except csv.Error:
        dialect = _Semicolons
    try:
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        header = list(rows[0].keys()) if rows else next(csv.reader(io.StringIO(text), dialect=dialect), [])
    except csv.Error as exc:
        raise AccessError(f"Die Aufgabenliste ist keine lesbare CSV-Datei ({exc}).") from None
    if "name" not in {COLUMNS.get(h.strip().casefold()) for h in header if isinstance(h, str)}:
        raise AccessError("Die Aufgabenliste braucht eine Kopfzeile mit mindestens der Spalte „name“.")
    # only tasks the caller may read: the answer to a row must not tell whether a hidden task exists
    existing = {(t.collection, t.name.casefold()): t for t in knowledge.tasks(rights)}
    for line, row in enumerate(rows, start=2):
        values = {COLUMNS[k.strip().casefold()]: (v or "").strip() for k, v in row.items()
                  if k and k.strip().casefold() in COLUMNS and isinstance(v, str)}
        if not values.get("name"):
            report.problems.append(f"Zeile {line}: ohne Namen übersprungen")
            continue
        values["collection"] = values.get("collection") or default_collection or knowledge.settings.default_collection
        values["deputies"] = split_names(values.get("deputies"))
        values["documents"] = split_names(values.get("documents"))
        fields = TaskInput(**{k: v or None for k, v in values.items() if k not in ("deputies", "documents")},
                           deputies=values["deputies"], documents=values["documents"])
        try:
            known = existing.get((fields.collection, " ".join(fields.name.split()).casefold()))
            if known is None:
                task = knowledge.create_task(rights, fields)
                existing[(task.collection, task.name.casefold())] = task
                report.tasks_added += 1
            else:
                knowledge.update_task(rights, known.id, fields)
                report.tasks_updated += 1
        except AccessError as exc:
            report.problems.append(f"Zeile {line} ({values['name'][:60]}): {exc}")
    return report


def parse_note(text: str) -> tuple[dict, dict[str, str], list[str]]:
    """Front matter, sections by key, and what could not be placed."""
    problems: list[str] = []
    front: dict = {}
    m = _FRONT.match(text[:MAX_FRONT + 16])
    if m:
        try:
            loaded = yaml.safe_load(m.group(1))
        except (yaml.YAMLError, RecursionError) as exc:
            raise AccessError(f"Kopfdaten (front matter) nicht lesbar: {type(exc).__name__}") from None
        if not isinstance(loaded, dict):
            raise AccessError("Kopfdaten (front matter) müssen Schlüssel: Wert-Zeilen sein.")
        for key in ("aufgabe", "autor"):
            value = loaded.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 200):
                raise AccessError(f"Kopfdaten: „{key}“ ist ein kurzer Text.")
        front = loaded
        text = text[m.end():]
    elif text.startswith("---"):
        raise AccessError(f"Kopfdaten (front matter) fehlen oder sind länger als {MAX_FRONT} Zeichen.")
    sections: dict[str, list[str]] = {}
    key = "leistung"  # text before the first heading describes the service
    for line in text.splitlines():
        heading = _heading(line)
        if heading:
            key = HEADING_KEYS.get(heading.casefold().rstrip(":"))
            if key is None:
                problems.append(f"Abschnitt „{heading}“ unbekannt – unter „Hinweise“ übernommen")
                key = "hinweise"
                sections.setdefault(key, []).append(f"**{heading}**\n")
            continue
        sections.setdefault(key, []).append(line)
    joined = {k: "\n".join(v).strip() for k, v in sections.items()}
    return front, {k: v for k, v in joined.items() if v}, problems


def import_notes(knowledge: Knowledge, rights: Rights, files: list[tuple[str, str]], report: ImportReport,
                 release_as: Rights | None = None) -> ImportReport:
    tasks: dict[str, list] = {}
    for t in knowledge.tasks(rights):
        if rights.can_edit(t.collection):
            tasks.setdefault(t.name.casefold(), []).append(t)
    for name, text in files:
        try:
            front, sections, problems = parse_note(text)
            task_name = " ".join((front.get("aufgabe") or "").split())
            found = tasks.get(task_name.casefold(), [])
            if len(found) > 1:
                raise AccessError(f"Aufgabe „{task_name}“ gibt es in mehreren Sammlungen: bitte einzeln einlesen")
            if not found:
                raise AccessError(f"Aufgabe „{task_name}“ gibt es nicht (Kopfzeile „aufgabe:“)" if task_name
                                  else "Kopfzeile „aufgabe:“ fehlt")
            task = found[0]
            version = knowledge.save_draft(rights, task.id, sections)
            author = front.get("autor") or ""
            if author and author != rights.principal.name:
                user = knowledge.access.store.user(author)
                if user is not None and user.tenant == task.tenant:
                    knowledge.store.set_author(task.id, version.version, author, rights.principal.name)
                else:
                    problems.append(f"Autor „{author}“ unbekannt – als Autor gilt {rights.principal.name}")
            knowledge.submit(rights, task.id, version.version)
            report.notes += 1
            if release_as is not None:
                knowledge.release(release_as, task.id, version.version)
                report.released += 1
            report.problems += [f"{name}: {p}" for p in problems]
        except AccessError as exc:
            report.problems.append(f"{name}: {exc} – übersprungen")
    return report

