"""The records of the loop: feedback on a result, one logged question, the queue's entries.

Privacy by default (README „Rückmeldungen“): no record names a person unless the
installation turns that on (`feedback_store_user`); every record is deleted after its
retention period; the raw log is never shown to readers, only grouped to officers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# reason key → label (the keys are what forms and the API send)
REASONS = {"falsch": "falsch", "veraltet": "veraltet", "unvollstaendig": "unvollständig",
           "passt-nicht": "passt nicht zur Frage", "nichts-gefunden": "nichts gefunden"}
# what the feedback is about: a result, the answer box, or the search as a whole (no result helped)
TARGETS = {"treffer": "Treffer", "antwort": "Antwortkasten", "suche": "Suche"}
ACTIONS = {"aufgabe": "Aufgabe angelegt", "referenz": "als Referenzfrage aufgenommen", "verworfen": "verworfen"}


@dataclass(frozen=True)
class Feedback:
    id: int
    tenant: str | None  # the tenant of who gave it (None: not signed in)
    at: str  # ISO time, UTC
    question: str
    helpful: bool
    reason: str | None
    comment: str
    target: str
    doc_id: str | None
    passage_id: int | None
    version: int | None  # the document's version the result came from
    collection: str | None
    section: str
    title: str
    user: str | None = None  # only when signed in and the installation stores it


@dataclass(frozen=True)
class LoggedQuery:
    id: int
    tenant: str | None
    at: str
    question: str
    results: int
    similarity: float | None  # cosine of the nearest piece (None in lexical mode)
    answer_shown: bool
    filters: str  # "sammlung=…, typ=…" as the caller set them; "" for none
    weak: bool  # no result, or none close enough (settings.weak_similarity)
    collection: str | None = None  # the collection the search was restricted to
    user: str | None = None


@dataclass(frozen=True)
class Action:
    id: int
    tenant: str
    kind: str  # "frage" or "dokument"
    key: str
    action: str  # ACTIONS
    comment: str
    task: str | None
    by: str
    at: str


@dataclass
class QuestionEntry:
    """Questions of one wording group: asked without a good result and/or marked unhelpful."""
    key: str  # the group's leading question, normalised
    question: str  # as first asked
    variants: list[str] = field(default_factory=list)  # other wordings in the group
    keys: list[str] = field(default_factory=list)  # every normalised question of the group
    weak: int = 0  # asked without a good result
    unhelpful: int = 0  # feedback "hilft nicht"
    reasons: dict[str, int] = field(default_factory=dict)
    last_seen: str = ""


@dataclass
class DocumentEntry:
    """A document section behind "hilft nicht" feedback."""
    key: str  # "doc_id#section"
    doc_id: str
    title: str
    section: str
    collection: str
    passage_id: int | None
    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)  # newest first, at most five
    questions: list[str] = field(default_factory=list)  # the questions asked, newest first
    question_keys: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)  # versions the feedback was given on
    current_version: int | None = None  # None: the document is gone
    note_task: str | None = None  # the task whose released note this is
    last_seen: str = ""

    @property
    def replaced(self) -> bool:
        """Feedback was given on an older version than the one answering now."""
        return self.current_version is not None and bool(self.versions) and max(self.versions) < self.current_version


@dataclass
class Queue:
    questions: list[QuestionEntry]
    documents: list[DocumentEntry]
