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


class TenantCollections:
    """The collections of a tenant without listing the index: those registered to it, and
    for the default tenant also every collection registered to no one (access.service
    tenant_of). Behaves as the set Synonyms.matches intersects with."""

    def __init__(self, own: frozenset[str], others: frozenset[str], default: bool):
        self.own, self.others, self.default = own, others, default

    def __contains__(self, name: object) -> bool:
        return name in self.own or (self.default and name not in self.others)

    def __and__(self, names) -> frozenset[str]:
        return frozenset(n for n in names if n in self)

    def __iter__(self):
        return iter(sorted(self.own) + (["*"] if self.default else []))


def known_collections(access_store, default_tenant: str):
    """(name, tenant) of the registered collections, and the default tenant's name: read from
    the access tables only (the search asks for the lists while it holds the index open)."""
    def collections() -> tuple[list[tuple[str, str]], str]:
        return [(c.name, c.tenant) for c in access_store.collections()], default_tenant
    return collections


class SynonymLists:
    def __init__(self, db, collections):
        """`collections()`: (name, tenant) of every collection there is — in the index, registered
        or not (access.service.AccessService.tenant_of says whose an unregistered one is)."""
        self.db, self.collections = db, collections
        db.ensure(SCHEMA)
        self._tenants: dict[str, str] = {}  # scope → tenant
        self._cached: tuple[float, tuple[str, list]] | None = None
        self._lock = threading.Lock()

    # --- the provider the searcher reads (search/query.py ExtraRules) -----------
    def rules(self) -> tuple[str, list[tuple[str, frozenset[str], str]]]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
        with self.db.tx(write=False) as run:
            saved = {r["scope"]: (r["content"], r["tenant"])
                     for r in run("SELECT scope, content, tenant FROM synonym_lists")}
        registered, default = self.collections()
        owner = dict(registered)
        names = {n for n, _ in registered} | {s.split(":", 1)[1] for s in saved if s.startswith("sammlung:")}
        entries, tenants = [], {}
        for name in sorted(names):
            scope = f"sammlung:{name}"
            entries.append((scope, frozenset({name}), saved.get(scope, ("", ""))[0]))
            tenants[scope] = owner.get(name, default)
        for tenant in sorted(set(owner.values()) | {default}):
            scope = f"mandant:{tenant}"
            collections = TenantCollections(frozenset(n for n, t in registered if t == tenant),
                                            frozenset(n for n, t in registered if t != tenant), tenant == default)
            entries.append((scope, collections, saved.get(scope, ("", ""))[0]))
            tenants[scope] = tenant
        value = (self._digest(entries), entries)
        with self._lock:
            self._cached, self._tenants = (time.monotonic(), value), tenants
        return value

    @staticmethod
    def _digest(entries) -> str:
        return hashlib.sha256("\x00".join(f"{scope}\x01{','.join(sorted(cols))}\x01{text}"
                                           for scope, cols, text in entries).encode()).hexdigest()[:16]

    def digest(self, tenant: str | None = None) -> str:
        """Changes when a saved list does — of this tenant only, when given (the reference
        guard compares it: another tenant's list is no reason to ask again)."""
        version, entries = self.rules()
        if tenant is None:
            return version
        return self._digest([e for e in entries if self._tenants.get(e[0]) == tenant])

    # --- editing -----------------------------------------------------------------
    def scopes(self, rights: Rights) -> list[tuple[str, str]]:
        """(scope, label) the caller may edit: the collections they tend, and their tenant's list
        when they tend all of its collections or administer it (a tenant list changes the
        search in every collection of the tenant)."""
        out = [(f"sammlung:{c}", f"Sammlung {c}") for c in sorted(rights.officer)]
        tenant = rights.principal.tenant
        if tenant and rights.officer:
            registered, default = self.collections()
            own = {name for name, t in registered if t == tenant}
            # the default tenant's list also reaches collections nobody registered: only its administrators
            if tenant in rights.admin_of or (own <= rights.officer and tenant != default):
                out.insert(0, (f"mandant:{tenant}", f"ganzer Mandant {tenant}"))
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
        fresh = frozenset({scope.split(":", 1)[1]}) if scope.startswith("sammlung:") else None
        covered = next((cols for s, cols, _ in entries if s == scope), fresh or frozenset())
        proposed = Searcher(searcher.settings, searcher.embedder, reranker=searcher.reranker, backend=searcher.backend)
        proposed.parser.synonyms = searcher.parser.synonyms.overriding(scope, text, fresh)
        out = []
        for ref in references:
            if ref["collection"] in covered and ref["collection"] in rights.officer:
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
            # one statement: two officers saving at once do not collide on the key (PostgreSQL)
            run("INSERT INTO synonym_lists (scope, tenant, content, saved_by, saved_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET tenant = excluded.tenant, content = excluded.content, "
                "saved_by = excluded.saved_by, saved_at = excluded.saved_at",
                (scope, tenant, text, rights.principal.name, stamp()))
            AccessStore._audit(run, tenant, rights.principal.name, "synonyme-gespeichert", scope,
                               f"{len(parse_rules(text))} Regeln")
        with self._lock:
            self._cached = None

