"""The loop's rules: what a piece of feedback and a logged question hold, who sees which
queue entries, how questions are grouped, and what an officer's action does.

Nothing here changes the ranking: feedback goes to the person responsible, who fixes
the document, writes a note or adds a reference question (peers that let thumbs
re-weight documents removed it again for inconsistent results).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from access.model import Rights
from access.store import AccessError, NotFound
from feedback.model import REASONS, TARGETS, DocumentEntry, Feedback, LoggedQuery, Queue, QuestionEntry
from feedback.store import FeedbackStore, stamp
from knowledge.service import Forbidden
from search.results import SearchResponse
from text.typed import lines, one_line

# Two wordings are one question when their e5 query vectors are this close. Chosen on 19
# hand-written pairs (bench/group_questions.py): the same question in other words scored
# 0.919–0.969, different questions in the same frame ("Was kostet ein Personalausweis / ein
# Reisepass?") 0.794–0.943; 0.95 joins 6 of 10 true pairs and none of the 9 false ones (two
# questions wrongly joined hide one from the officer; two wordings left apart cost a line).
GROUP_COSINE = 0.95
MAX_QUESTION = 1000
MAX_COMMENT = 2000
PURGE_EVERY_SECONDS = 3600
_SECTION_MARK = re.compile(r"^((?:§|Art\.?|Artikel)\s*\d+\s*[a-z]?)\b")


def normalise(question: str) -> str:
    """The key of a question: case and spacing do not make another question."""
    return " ".join(question.casefold().split())


def clean_text(text: str | None, limit: int) -> str:
    return one_line(text)[:limit]


def clean_comment(text: str | None) -> str:
    """Line breaks stay; other control characters go."""
    return lines(text)[:MAX_COMMENT]


def eval_section(section: str) -> str:
    """The section as the evaluation format names it: "§ 23a" from "Abschnitt 3 > § 23a Titel",
    otherwise the last heading."""
    last = section.rsplit(" > ", 1)[-1].strip()
    m = _SECTION_MARK.match(last)
    return " ".join(m.group(1).split()) if m else last


class FeedbackService:
    def __init__(self, store: FeedbackStore, access, backend, embedder, settings, knowledge=None):
        self.store, self.access, self.backend, self.embedder = store, access, backend, embedder
        self.settings, self.knowledge = settings, knowledge
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._purged = 0.0

    # --- recording ---------------------------------------------------------------
    def who(self, rights: Rights) -> str | None:
        """A name only when the installation stores it and the caller signed in."""
        if self.settings.feedback_store_user and rights.principal.kind == "user":
            return rights.principal.name
        return None

    def give(self, rights: Rights, question: str, helpful: bool, target: str = "treffer",
             passage_id: int | None = None, reason: str | None = None, comment: str | None = None,
             at: str | None = None) -> int:
        """Store one "hilft" / "hilft nicht" with the result it is about (document, passage,
        version, section) as the caller saw it. A passage the caller may not read is not found."""
        question = clean_text(question, MAX_QUESTION)
        if not question:
            raise AccessError("Die Frage fehlt.")
        if target not in TARGETS:
            raise AccessError("Unbekanntes Ziel der Rückmeldung: eines von " + ", ".join(TARGETS) + ".")
        if reason is not None and reason not in REASONS:
            raise AccessError("Unbekannter Grund: einer von " + ", ".join(REASONS) + ".")
        if helpful and reason is not None:
            raise AccessError("Ein Grund gehört zu „hilft nicht“.")
        doc_id = version = collection = None
        section = title = ""
        if passage_id is not None:
            with self.backend.snapshot() as reader:
                passage = reader.passages([passage_id]).get(passage_id)
                if passage is None or not rights.can_read(passage.document.collection):
                    raise NotFound("Abschnitt nicht gefunden.")
                doc = next(iter(reader.list_documents(passage.document.id)), None)
            doc_id, collection = passage.document.id, passage.document.collection
            version, section, title = (doc.version if doc else None), passage.section, passage.document.title
        elif target != "suche":
            raise AccessError("Zu einer Rückmeldung auf einen Treffer gehört sein Abschnitt.")
        feedback = Feedback(0, rights.principal.tenant, at or stamp(), question, helpful, reason,
                            clean_comment(comment), target, doc_id, passage_id, version, collection, section, title,
                            self.who(rights))
        number = self.store.add_feedback(feedback)
        self.purge_now_and_then()
        return number

    def is_weak(self, response: SearchResponse) -> bool:
        """Weak: no result and no note, or the nearest piece further from the question than
        `weak_similarity` (calibrated in bench/weak_questions.py: no answerable dev question
        falls below it, most questions the corpus cannot answer do)."""
        if not response.results and not response.notes:
            return True
        return response.similarity is not None and response.similarity < self.settings.weak_similarity

    def log(self, rights: Rights, question: str, response: SearchResponse, collection: str | None = None,
            kind: str | None = None, at: str | None = None) -> None:
        if not self.settings.query_log:
            return
        if collection and not rights.can_read(collection):
            collection = None  # a collection the caller cannot read sends nothing to its officers
        filters = ", ".join(f"{k}={v}" for k, v in (("sammlung", collection), ("typ", kind)) if v)
        self.store.log_query(LoggedQuery(0, rights.principal.tenant, at or stamp(), clean_text(question, MAX_QUESTION),
                                         len(response.results), response.similarity, response.answer is not None,
                                         filters, self.is_weak(response), collection, self.who(rights)))
        self.purge_now_and_then()

    # --- retention ---------------------------------------------------------------
    def purge(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete feedback and logged questions past their retention period."""
        now = now or datetime.now(timezone.utc)

        def before(days: int) -> str:
            return (now - timedelta(days=days)).isoformat(timespec="seconds")

        return self.store.delete_before(before(self.settings.feedback_retention_days),
                                        before(self.settings.query_log_retention_days))

    def purge_now_and_then(self) -> None:
        """Retention without a scheduler: the first write of every hour deletes what is due."""
        if time.monotonic() - self._purged < PURGE_EVERY_SECONDS and self._purged:
            return
        self._purged = time.monotonic()
        self.purge()

    # --- the queue ---------------------------------------------------------------
    def public_collections(self) -> set[str]:
        return {c.name for c in self.access.store.collections() if c.visibility == "oeffentlich"}

    def sees_question(self, rights: Rights, tenant: str | None, collection: str | None, public: set[str]) -> bool:
        """An officer sees what people of their own tenant asked (or people not signed in):
        asked in a collection, if they tend it; asked across collections, if it was someone of
        their tenant, or someone not signed in and they tend a public collection. A question
        from another tenant — also in a collection shared with it — stays with that tenant."""
        if tenant is not None and tenant != rights.principal.tenant:
            return False
        if collection:
            return collection in rights.officer
        if tenant is not None:
            return True
        return bool(public & rights.officer)

    def _vector(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(text)
        if vector is None:
            vector = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
            with self._lock:
                if len(self._vectors) > 20_000:
                    self._vectors.clear()
                self._vectors[text] = vector
        return vector

    def queue(self, rights: Rights) -> Queue:
        """The entries of the collections this officer tends, newest activity first (as far as
        the retention reaches). An entry an officer acted on returns only when the question is
        asked (or marked) again."""
        if not rights.officer:
            return Queue([], [])
        done: dict[tuple[str, str], str] = {}
        for action in self.store.actions(rights.principal.tenant):
            done[(action.kind, action.key)] = max(done.get((action.kind, action.key), ""), action.at)
        public = self.public_collections()

        by_key: dict[str, QuestionEntry] = {}

        def entry(question: str) -> QuestionEntry | None:
            key = normalise(question)
            return by_key.setdefault(key, QuestionEntry(key, question, keys=[key]))

        for q in self.store.queries(weak=True):
            key = normalise(q.question)
            if q.at <= done.get(("frage", key), "") or not self.sees_question(rights, q.tenant, q.collection, public):
                continue
            e = entry(q.question)
            e.weak += 1
            e.last_seen = max(e.last_seen, q.at)
        documents: dict[str, DocumentEntry] = {}
        for f in self.store.feedback(helpful=False):
            if not self.sees_question(rights, f.tenant, f.collection, public):
                continue
            key = normalise(f.question)
            if f.at > done.get(("frage", key), ""):
                e = entry(f.question)
                e.unhelpful += 1
                if f.reason:
                    e.reasons[f.reason] = e.reasons.get(f.reason, 0) + 1
                e.last_seen = max(e.last_seen, f.at)
            if f.doc_id is None:
                continue
            dkey = f"{f.doc_id}#{f.section}"
            if f.at <= done.get(("dokument", dkey), ""):
                continue
            d = documents.setdefault(dkey, DocumentEntry(dkey, f.doc_id, f.title, f.section, f.collection or "",
                                                         f.passage_id))
            d.count += 1
            if f.reason:
                d.reasons[f.reason] = d.reasons.get(f.reason, 0) + 1
            if f.comment and len(d.comments) < 5:
                d.comments.append(f.comment)
            if f.question not in d.questions:
                d.questions.append(f.question)
                d.question_keys.append(key)
            if f.version is not None and f.version not in d.versions:
                d.versions.append(f.version)
            d.last_seen = max(d.last_seen, f.at)
        self._documents_now(documents)
        return Queue(self._grouped(list(by_key.values())),
                     sorted(documents.values(), key=lambda d: (d.count, d.last_seen), reverse=True))

    def _documents_now(self, documents: dict[str, DocumentEntry]) -> None:
        """The version answering now (None: removed since) and, for a note, its task."""
        if not documents:
            return
        with self.backend.snapshot() as reader:
            current = {d.id: d.version for d in reader.list_documents()}
        tasks = self.knowledge.sources(list({d.doc_id for d in documents.values()})) if self.knowledge else {}
        for d in documents.values():
            d.current_version = current.get(d.doc_id)
            note = tasks.get(d.doc_id)
            d.note_task = note.task if note else None

    def _grouped(self, entries: list[QuestionEntry]) -> list[QuestionEntry]:
        """Wordings of one question joined (GROUP_COSINE): the most frequent leads."""
        entries.sort(key=lambda e: (-(e.weak + e.unhelpful), e.key))
        groups: list[tuple[np.ndarray, QuestionEntry]] = []
        for e in entries:
            vector = self._vector(e.question)
            home = next((g for v, g in groups if float(np.dot(v, vector)) >= GROUP_COSINE), None)
            if home is None:
                groups.append((vector, e))
                continue
            home.variants.append(e.question)
            home.keys.append(e.key)
            home.weak += e.weak
            home.unhelpful += e.unhelpful
            for reason, n in e.reasons.items():
                home.reasons[reason] = home.reasons.get(reason, 0) + n
            home.last_seen = max(home.last_seen, e.last_seen)
        return sorted((g for _, g in groups), key=lambda g: (g.last_seen, g.weak + g.unhelpful), reverse=True)

    # --- acting on an entry ------------------------------------------------------
    def _entry(self, rights: Rights, kind: str, key: str) -> QuestionEntry | DocumentEntry:
        """The officer's own queue entry with this key: an action needs an entry they see."""
        queue = self.queue(rights)
        found = next((e for e in queue.questions if key in e.keys), None) if kind == "frage" else \
            next((d for d in queue.documents if d.key == key), None) if kind == "dokument" else None
        if found is None:
            raise NotFound("Diesen Eintrag gibt es in Ihrer Warteschlange nicht (mehr).")
        return found

    def _record(self, rights: Rights, entry: QuestionEntry | DocumentEntry, action: str, comment: str = "",
                task: str | None = None) -> None:
        if isinstance(entry, DocumentEntry):
            # the questions behind it are answered by the same step
            self.store.add_action(rights.principal.tenant, "dokument", [entry.key], action, comment, task,
                                  rights.principal.name)
            keys = entry.question_keys
        else:
            keys = entry.keys
        if keys:
            self.store.add_action(rights.principal.tenant, "frage", keys, action, comment, task, rights.principal.name)

    def dismiss(self, rights: Rights, kind: str, key: str, comment: str) -> None:
        comment = clean_comment(comment)
        if len(comment) < 3:
            raise AccessError("Bitte kurz begründen, warum der Eintrag verworfen wird.")
        self._record(rights, self._entry(rights, kind, key), "verworfen", comment)

    def make_task(self, rights: Rights, kind: str, key: str, name: str, collection: str) -> str:
        """A task (for a note that answers) from the entry's question; the action links them."""
        from knowledge.service import TaskInput

        entry = self._entry(rights, kind, key)
        if self.knowledge is None:
            raise AccessError("Aufgaben sind in dieser Installation nicht eingerichtet.")
        task = self.knowledge.create_task(rights, TaskInput(name=name, collection=collection))
        question = entry.question if isinstance(entry, QuestionEntry) else (entry.questions or [""])[0]
        self._record(rights, entry, "aufgabe", f"aus der Frage „{question[:200]}“", task.id)
        return task.id

    def add_reference(self, rights: Rights, kind: str, key: str, question: str, passage_id: int,
                      answer_contains: list[str]) -> int:
        """The question with its expected document and section becomes a reference question
        of the passage's collection (format of ../shared/eval/README.md)."""
        entry = self._entry(rights, kind, key)
        question = clean_text(question, MAX_QUESTION)
        phrases = [clean_text(p, 300) for p in answer_contains if clean_text(p, 300)][:3]
        if not question:
            raise AccessError("Die Frage fehlt.")
        with self.backend.snapshot() as reader:
            passage = reader.passages([passage_id]).get(passage_id)
        if passage is None or not rights.can_read(passage.document.collection):
            raise NotFound("Abschnitt nicht gefunden.")
        if passage.document.collection not in rights.officer:
            raise Forbidden("Referenzfragen legen nur Wissensmanager der Sammlung des Abschnitts an.")
        folded = " ".join(passage.text.split()).casefold()
        missing = [p for p in phrases if p.casefold() not in folded]
        if missing:
            raise AccessError(f"„{missing[0]}“ steht nicht wörtlich in diesem Abschnitt.")
        number = self.store.add_reference(rights.principal.tenant, passage.document.collection, question,
                                          Path(passage.document.source).name, passage.document.id,
                                          eval_section(passage.section), phrases, rights.principal.name)
        self._record(rights, entry, "referenz", f"Referenzfrage {number}: {eval_section(passage.section)}")
        return number

    def history(self, rights: Rights, limit: int = 50) -> list:
        """The officer's own latest actions (an entry names a question or a section, which another
        officer of the tenant may not be allowed to read)."""
        if not rights.officer:
            return []
        own = [a for a in self.store.actions(rights.principal.tenant) if a.by == rights.principal.name]
        return list(reversed(own))[:limit]

