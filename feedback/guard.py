"""Reference questions as a guard: the questions officers added (feedback/service.py
add_reference) are asked again whenever the index or the synonym list changed, and a
question that lost its answer — or a collection whose Hit@5 fell — is shown in the
officer's queue with the change that caused it.

"Changed" is read from what every write already records: each ingest, upload, replace,
delete and note release writes a run (index runs()), so the newest run's id is the
index's change counter; the synonym list is compared by its content. Nothing has to
call the guard from the write path: the server checks every `guard_seconds`, the
queue page checks when it is opened, and `amtswissen rueckmeldungen pruefen` does it
from cron for installations that ingest from the command line only.

A reference question is asked over its own collection (the collection of the section
that should answer): what changed elsewhere does not move it. The hit rule is the one
of ../shared/eval/README.md: the expected document, and an answer phrase in the passage
text; a question saved without a phrase counts its expected section instead.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from feedback.service import eval_section
from feedback.store import stamp
from search.evaluate import is_hit

SCHEMA = """
CREATE TABLE IF NOT EXISTS reference_runs (id {serial}, tenant TEXT NOT NULL, at TEXT NOT NULL, last_run BIGINT,
    synonyms TEXT NOT NULL, cause TEXT NOT NULL, results TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reference_runs_tenant ON reference_runs (tenant, id);
"""
TOP = 10


@dataclass
class Lost:
    """A reference question whose answer was in the first five and is not any more."""
    id: int
    question: str
    collection: str
    expected: str  # "bmg.md § 17"
    before: int
    now: int | None  # rank now (None: not among the first ten)
    cause: str = ""  # what changed at the check that lost it


@dataclass
class GuardReport:
    """The latest check of one tenant against the one before it."""
    at: str
    cause: str
    questions: int
    hit5: dict[str, tuple[float | None, float]]  # collection → (before, now)
    lost: list[Lost] = field(default_factory=list)
    ranks: dict[int, int | None] = field(default_factory=dict)  # reference id → rank now

    @property
    def worse(self) -> list[str]:
        """Collections whose Hit@5 fell."""
        return [c for c, (before, now) in self.hit5.items() if before is not None and now < before]


def rank_of(searcher, ref: dict) -> int | None:
    """Where the reference question's answer stands now (None: not among the first ten)."""
    response = searcher.search(ref["question"], TOP, readable=frozenset({ref["collection"]}), notes=False)
    for r in response.results:
        if ref["answer_contains"]:  # the hit rule of ../shared/eval/README.md
            if is_hit(ref, r.document.source, r.text):
                return r.rank
        elif Path(r.document.source).name == ref["doc"] and eval_section(r.section) == ref["section"]:
            return r.rank
    return None


class ReferenceGuard:
    def __init__(self, store, searcher, settings, lists=None, tenant_of=None):
        self.store, self.searcher, self.settings, self.lists = store, searcher, settings, lists
        self.tenant_of = tenant_of or (lambda collection: "")  # collection → tenant (access.service)
        store.db.ensure(SCHEMA)
        self._running = threading.Lock()

    # --- what changed ------------------------------------------------------------
    def _state(self, tenant: str, runs: list[dict]) -> tuple[int | None, str, list[dict]]:
        """(newest run id, synonym digest, the runs) as far as they concern this tenant: runs over
        its collections, the shipped list and its officers' lists. Another tenant's upload is
        no reason to ask again, and its file names are none of this tenant's business."""
        own = [r for r in runs if self.tenant_of(r["report"].get("collection") or "") == tenant]
        path = self.settings.synonyms
        content = Path(path).read_bytes() if path and Path(path).exists() else b""
        if self.lists is not None:  # the officers' lists (feedback/synonyms.py)
            content += self.lists.digest(tenant).encode()
        return (own[0]["id"] if own else None), hashlib.sha256(content).hexdigest()[:16], own

    def _last(self, tenant: str) -> dict | None:
        with self.store.db.tx(write=False) as run:
            rows = run("SELECT * FROM reference_runs WHERE tenant = ? ORDER BY id DESC LIMIT 1", (tenant,))
        return rows[0] if rows else None

    @staticmethod
    def _cause(runs: list[dict], since: int | None, synonyms_changed: bool) -> str:
        parts = []
        for r in reversed([r for r in runs if since is None or r["id"] > since]):
            # the files the run changed (added, replaced, removed, failed), else what it was given
            files = [f"{Path(f['source']).name} ({f.get('outcome', '')})" for f in r["report"].get("files", [])
                     if f.get("outcome") != "unchanged"] or [Path(p).name for p in r["sources"]]
            named = ", ".join(files[:3]) + (f" und {len(files) - 3} weitere" if len(files) > 3 else "")
            parts.append(f"Lauf {r['id']} ({r['started_at'][:16].replace('T', ' ')}, {r['by']}): {named}")
        if synonyms_changed:
            parts.append("Synonymliste geändert")
        return "; ".join(parts[-5:]) or "erste Prüfung"

    # --- asking ------------------------------------------------------------------
    def _rank(self, ref: dict) -> int | None:
        return rank_of(self.searcher, ref)

    def check(self, force: bool = False) -> list[str]:
        """Ask every tenant's reference questions again if something changed since their last
        check (or if forced); returns the tenants checked."""
        if not self._running.acquire(blocking=False):
            return []  # a check is under way (another request or the timer)
        try:
            with self.searcher.snapshot() as reader:
                all_runs = reader.runs(200)
            checked = []
            tenants = sorted({r["tenant"] for r in self.store.references()})
            for tenant in tenants:
                last_run, synonyms, runs = self._state(tenant, all_runs)
                previous = self._last(tenant)
                refs = self.store.references(tenant)
                known = set(json.loads(previous["results"])) if previous else set()
                new_refs = {str(r["id"]) for r in refs} - known
                if previous and not force and not new_refs and previous["last_run"] == last_run \
                        and previous["synonyms"] == synonyms:
                    continue
                if previous is None:
                    cause = "erste Prüfung"
                elif previous["last_run"] == last_run and previous["synonyms"] == synonyms:
                    cause = "neue Referenzfragen" if new_refs else "erneut geprüft"
                else:
                    cause = self._cause(runs, previous["last_run"], previous["synonyms"] != synonyms)
                results = {str(r["id"]): self._rank(r) for r in refs}
                with self.store.db.tx() as run:
                    run("INSERT INTO reference_runs (tenant, at, last_run, synonyms, cause, results) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (tenant, stamp(), last_run, synonyms, cause, json.dumps(results)))
                checked.append(tenant)
            return checked
        finally:
            self._running.release()

    # --- what the officer sees ---------------------------------------------------
    def report(self, rights, history: int = 200) -> GuardReport | None:
        """The latest check of the officer's tenant against the one before (Hit@5), over the
        collections this officer tends; a question counts as lost while its answer is not in
        the first five now but was at an earlier check — until it is back, however many
        checks came between — with the cause of the check that lost it."""
        tenant = rights.principal.tenant
        if not rights.officer or tenant is None:
            return None
        with self.store.db.tx(write=False) as run:
            rows = run("SELECT * FROM reference_runs WHERE tenant = ? ORDER BY id DESC LIMIT ?", (tenant, history))
        if not rows:
            return None
        refs = {str(r["id"]): r for r in self.store.references(tenant) if r["collection"] in rights.officer}
        checks = [(row, {k: v for k, v in json.loads(row["results"]).items() if k in refs}) for row in rows]
        now = checks[0][1]
        before = checks[1][1] if len(checks) > 1 else {}
        hit5: dict[str, tuple[float | None, float]] = {}
        for collection in sorted({r["collection"] for r in refs.values()}):
            ids = [k for k, r in refs.items() if r["collection"] == collection and k in now]
            if not ids:
                continue
            share_now = sum(now[k] is not None and now[k] <= 5 for k in ids) / len(ids)
            old = [k for k in ids if k in before]
            share_before = sum(before[k] is not None and before[k] <= 5 for k in old) / len(old) if old else None
            hit5[collection] = (share_before, share_now)
        lost = []
        for k, rank in now.items():
            if rank is not None and rank <= 5:
                continue
            # the newest earlier check that had the answer, and the check right after it
            for i in range(1, len(checks)):
                good = checks[i][1].get(k)
                if good is not None and good <= 5:
                    lost.append(Lost(int(k), refs[k]["question"], refs[k]["collection"],
                                     f"{refs[k]['doc']} {refs[k]['section']}", good, rank, checks[i - 1][0]["cause"]))
                    break
        return GuardReport(rows[0]["at"], rows[0]["cause"], len(now), hit5, lost,
                           {int(k): v for k, v in now.items()})
