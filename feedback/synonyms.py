"""The synonyms knowledge officers keep in the app: one list per collection ("sammlung:…")
and one per tenant ("mandant:…", for all its collections), beside the shipped list
(data/synonyme.txt, edited by whoever runs the installation). A change is measured
before it is saved: the reference questions it can touch are asked with the lists as
they are and as they would be, and the page shows which got better or worse.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from access.model import Rights
from access.store import AccessError, AccessStore
from feedback.store import stamp
from search.query import parse_rules
from search.searcher import Searcher

SCHEMA = """
CREATE TABLE IF NOT EXISTS synonym_lists (scope TEXT PRIMARY KEY, tenant TEXT NOT NULL, content TEXT NOT NULL,
    saved_by TEXT NOT NULL, saved_at TEXT NOT NULL);
"""
MAX_CHARS = 100_000
CACHE_SECONDS = 2.0  # other server processes see a saved list within this


@dataclass(frozen=True)
class Effect:
    id: int
    question: str
    collection: str
    expected: str
    before: int | None
    after: int | None

    @property
    def change(self) -> str:
        """"besser", "schlechter" or "gleich" (a rank lost counts as worse)."""
        rank = (lambda r: r if r is not None else 99)
        return "besser" if rank(self.after) < rank(self.before) else \
            "schlechter" if rank(self.after) > rank(self.before) else "gleich"


class SynonymLists:
    def __init__(self, db, access_store):
        self.db, self.access_store = db, access_store
        db.ensure(SCHEMA)
        self._cached: tuple[float, tuple[str, list]] | None = None
        self._lock = threading.Lock()

    # --- the provider the searcher reads (search/query.py ExtraRules) -----------
    def rules(self) -> tuple[str, list[tuple[str, frozenset[str], str]]]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
        with self.db.tx(write=False) as run:
            saved = {r["scope"]: r for r in run("SELECT * FROM synonym_lists")}
        collections = self.access_store.collections()
        entries = []
        for c in collections:
            entries.append((f"sammlung:{c.name}", frozenset({c.name}), saved.get(f"sammlung:{c.name}", {})
                            .get("content", "")))
        for tenant in sorted({c.tenant for c in collections}):
            own = frozenset(c.name for c in collections if c.tenant == tenant)
            entries.append((f"mandant:{tenant}", own, saved.get(f"mandant:{tenant}", {}).get("content", "")))
        version = hashlib.sha256("\x00".join(f"{scope}\x01{','.join(sorted(cols))}\x01{text}"
                                             for scope, cols, text in entries).encode()).hexdigest()[:16]
        value = (version, entries)
        with self._lock:
            self._cached = (time.monotonic(), value)
        return value

    def digest(self) -> str:
        """Changes when any saved list does (the reference guard compares it)."""
        return self.rules()[0]

    # --- editing -----------------------------------------------------------------
    def scopes(self, rights: Rights) -> list[tuple[str, str]]:
        """(scope, label) the officer may edit: their collections, and their tenant."""
        out = [(f"sammlung:{c}", f"Sammlung {c}") for c in sorted(rights.officer)]
        if rights.officer and rights.principal.tenant:
            out.insert(0, (f"mandant:{rights.principal.tenant}", f"ganzer Mandant {rights.principal.tenant}"))
        return out

    def _check_scope(self, rights: Rights, scope: str) -> None:
        if scope not in {s for s, _ in self.scopes(rights)}:
            raise AccessError("Diese Liste pflegen nur Wissensmanager der Sammlung oder des Mandanten.")

    def text(self, rights: Rights, scope: str) -> str:
        self._check_scope(rights, scope)
        with self.db.tx(write=False) as run:
            rows = run("SELECT content FROM synonym_lists WHERE scope = ?", (scope,))
        return rows[0]["content"] if rows else ""

    @staticmethod
    def problems(text: str) -> list[str]:
        """Lines that are neither rules, comments nor empty (they would be ignored)."""
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            body = line.split("#", 1)[0].strip()
            if body and not parse_rules(body):
                out.append(f"Zeile {n}: „{body[:60]}“ ist keine Regel (Wort = Begriff, Begriff)")
        return out

    def effects(self, rights: Rights, scope: str, text: str, searcher: Searcher, references: list[dict]
                ) -> list[Effect]:
        """Each reference question the scope covers, ranked with the lists as saved and as proposed."""
        from feedback.guard import rank_of

        self._check_scope(rights, scope)
        _, entries = self.rules()
        covered = next((cols for s, cols, _ in entries if s == scope), frozenset())
        proposed = Searcher(searcher.settings, searcher.embedder, reranker=searcher.reranker, backend=searcher.backend)
        proposed.parser.synonyms = searcher.parser.synonyms.overriding(scope, text)
        out = []
        for ref in references:
            if ref["collection"] in covered:
                out.append(Effect(ref["id"], ref["question"], ref["collection"], f"{ref['doc']} {ref['section']}",
                                  rank_of(searcher, ref), rank_of(proposed, ref)))
        return out

    def save(self, rights: Rights, scope: str, text: str) -> None:
        self._check_scope(rights, scope)
        text = text.replace("\r\n", "\n")
        if len(text) > MAX_CHARS:
            raise AccessError(f"Die Liste ist zu lang (höchstens {MAX_CHARS} Zeichen).")
        tenant = rights.principal.tenant or ""
        with self.db.tx() as run:
            run("DELETE FROM synonym_lists WHERE scope = ?", (scope,))
            run("INSERT INTO synonym_lists (scope, tenant, content, saved_by, saved_at) VALUES (?, ?, ?, ?, ?)",
                (scope, tenant, text, rights.principal.name, stamp()))
            AccessStore._audit(run, tenant, rights.principal.name, "synonyme-gespeichert", scope,
                               f"{len(parse_rules(text))} Regeln")
        with self._lock:
            self._cached = None

