"""Knowledge capture: tasks (Aufgaben) and their structured procedure notes.

A task is one service or duty of an organisational unit (a LeiKa "Leistung" where it
has a key), with an owner, deputies, the legal basis as citations, linked documents
and a collection — the collection decides who may read it, as for documents.

A note is the insiders' description of how the task is really done, in fixed
sections: the text modules of the 115 knowledge base / XZuFi (Leistungsbeschreibung,
Voraussetzungen, Unterlagen, …) plus what only insiders know (Fachverfahren und IT,
Ansprechpartner, typische Fehler, Sonderfälle). Every save is a new version; a
version goes draft → submitted → released (or back to the author with a comment),
released by a second person with the approver role (Vier-Augen-Prinzip). Only a
released version is ever put into the search index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (key, heading) in the order a note shows them; the headings are what staff see and
# what an imported Markdown file uses as its level-2 headings.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("leistung", "Leistungsbeschreibung"),
    ("voraussetzungen", "Voraussetzungen"),
    ("unterlagen", "Unterlagen"),
    ("ablauf", "Ablauf in Schritten"),
    ("fristen", "Fristen"),
    ("gebuehren", "Gebühren"),
    ("formulare", "Formulare"),
    ("fachverfahren", "Fachverfahren und IT"),
    ("zustaendig", "Zuständige Stelle"),
    ("ansprechpartner", "Ansprechpartner"),
    ("rechtsgrundlage", "Rechtsgrundlage"),
    ("fehler", "Typische Fehler und Fallstricke"),
    ("sonderfaelle", "Sonderfälle"),
    ("hinweise", "Hinweise"),
)
SECTION_TITLES = dict(SECTIONS)
SECTION_HINTS = {
    "leistung": "Worum geht es, für wen?",
    "unterlagen": "Was muss die Person mitbringen, was prüfen wir?",
    "ablauf": "Schritt für Schritt, wie es bei uns wirklich läuft (nummerierte Liste).",
    "fachverfahren": "Welches Programm, welche Maske, welche Schlüssel?",
    "ansprechpartner": "Intern und extern – als Funktion, mit Durchwahl.",
    "fehler": "Was geht oft schief, worauf achten?",
}
MAX_SECTION_CHARS = 20_000

# states of a note version
DRAFT, SUBMITTED, RELEASED, RETURNED, SUPERSEDED, WITHDRAWN = (
    "entwurf", "eingereicht", "freigegeben", "zurueckgegeben", "abgeloest", "ueberholt")
STATE_LABELS = {DRAFT: "Entwurf", SUBMITTED: "zur Freigabe eingereicht", RELEASED: "freigegeben",
                RETURNED: "zurückgegeben", SUPERSEDED: "abgelöst", WITHDRAWN: "überholt"}
FREQUENCIES = ("täglich", "wöchentlich", "monatlich", "quartalsweise", "jährlich", "selten")
CRITICALITIES = ("hoch", "mittel", "niedrig")


@dataclass(frozen=True)
class Task:
    id: str
    tenant: str
    name: str
    unit: str | None
    collection: str
    leika: str | None = None
    owner: str | None = None
    deputies: tuple[str, ...] = ()
    frequency: str | None = None
    criticality: str | None = None
    legal_basis: str = ""  # citations as written: "§ 17 BMG, § 23 BMG"
    documents: tuple[str, ...] = ()  # ids of linked documents and forms in the index
    review_due: str | None = None  # Wiedervorlage (ISO date)
    doc_id: str | None = None  # the index document of the released note
    indexed_version: int | None = None  # the version the index holds
    created_by: str = ""
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class NoteVersion:
    task: str
    version: int
    state: str
    sections: dict[str, str]
    author: str
    created_at: str
    submitted_at: str | None = None
    reviewer: str | None = None
    reviewed_at: str | None = None
    comment: str = ""
    saved_by: str = ""  # the accountable person who saved it (an importer, a token's owner)

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    def filled(self) -> list[tuple[str, str, str]]:
        """(key, heading, text) of the sections that have text, in note order."""
        return [(k, t, self.sections[k]) for k, t in SECTIONS if self.sections.get(k, "").strip()]


@dataclass
class TaskView:
    """A task with what its readers may see of its note."""
    task: Task
    released: NoteVersion | None
    pending: NoteVersion | None = None  # newest unreleased version (for those who edit or approve)
    owner_departs: str | None = None


@dataclass
class Coverage:
    """The Wissenslandkarte of one set of collections on one day."""
    today: str
    months: int
    rows: list[dict] = field(default_factory=list)
    units: dict[str, dict] = field(default_factory=dict)
