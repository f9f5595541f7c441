"""Feedback, the query log, queue actions and reference questions, in the access model's
database (SQLite beside the index or the index's PostgreSQL): one backup holds them with
the documents and rights they refer to.

Only storage lives here; who may see or do what is decided by feedback/service.py.
"""

from __future__ import annotations

import json

from access.db import Database
from datetime import datetime, timezone

from access.store import AccessStore
from feedback.model import Action, Feedback, LoggedQuery

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (id {serial}, tenant TEXT, at TEXT NOT NULL, question TEXT NOT NULL,
    helpful INTEGER NOT NULL, reason TEXT, comment TEXT NOT NULL, target TEXT NOT NULL, doc_id TEXT,
    passage_id BIGINT, version INTEGER, collection TEXT, section TEXT NOT NULL, title TEXT NOT NULL, user_name TEXT);
CREATE TABLE IF NOT EXISTS query_log (id {serial}, tenant TEXT, at TEXT NOT NULL, question TEXT NOT NULL,
    results INTEGER NOT NULL, similarity DOUBLE PRECISION, answer_shown INTEGER NOT NULL, filters TEXT NOT NULL,
    weak INTEGER NOT NULL, collection TEXT, user_name TEXT);
CREATE TABLE IF NOT EXISTS queue_actions (id {serial}, tenant TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    action TEXT NOT NULL, comment TEXT NOT NULL, task TEXT, by_user TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reference_questions (id {serial}, tenant TEXT NOT NULL, collection TEXT NOT NULL,
    question TEXT NOT NULL, doc TEXT NOT NULL, doc_id TEXT NOT NULL, section TEXT NOT NULL,
    answer_contains TEXT NOT NULL, added_by TEXT NOT NULL, added_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_at ON feedback (at);
CREATE INDEX IF NOT EXISTS query_log_at ON query_log (at);
CREATE INDEX IF NOT EXISTS query_log_weak ON query_log (weak, at);
CREATE INDEX IF NOT EXISTS queue_actions_key ON queue_actions (tenant, kind, key);
"""


def stamp() -> str:
    """Now, UTC, to the microsecond: an entry asked again in the second an officer closed it
    must come back, so the order of records has to be finer than seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _feedback(r: dict) -> Feedback:
    return Feedback(r["id"], r["tenant"], r["at"], r["question"], bool(r["helpful"]), r["reason"], r["comment"],
                    r["target"], r["doc_id"], r["passage_id"], r["version"], r["collection"], r["section"],
                    r["title"], r["user_name"])


def _query(r: dict) -> LoggedQuery:
    return LoggedQuery(r["id"], r["tenant"], r["at"], r["question"], r["results"], r["similarity"],
                       bool(r["answer_shown"]), r["filters"], bool(r["weak"]), r["collection"], r["user_name"])


def _action(r: dict) -> Action:
    return Action(r["id"], r["tenant"], r["kind"], r["key"], r["action"], r["comment"], r["task"], r["by_user"],
                  r["at"])


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db
        db.ensure(SCHEMA)

    # --- writing -----------------------------------------------------------------
    def add_feedback(self, f: Feedback) -> int:
        with self.db.tx() as run:
            return run("INSERT INTO feedback (tenant, at, question, helpful, reason, comment, target, doc_id, passage_id, "
                "version, collection, section, title, user_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (f.tenant, f.at, f.question, int(f.helpful), f.reason, f.comment, f.target, f.doc_id, f.passage_id,
                 f.version, f.collection, f.section, f.title, f.user))[0]["id"]

    def log_query(self, q: LoggedQuery) -> None:
        with self.db.tx() as run:
            run("INSERT INTO query_log (tenant, at, question, results, similarity, answer_shown, filters, weak, "
                "collection, user_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (q.tenant, q.at, q.question, q.results, q.similarity, int(q.answer_shown), q.filters, int(q.weak),
                 q.collection, q.user))

    def add_action(self, tenant: str, kind: str, keys: list[str], action: str, comment: str, task: str | None,
                   by: str, at: str | None = None) -> None:
        """One officer action on a queue entry: recorded for each of its keys (every wording
        of a question group), and in the audit log."""
        at = at or stamp()
        with self.db.tx() as run:
            for key in keys:
                run("INSERT INTO queue_actions (tenant, kind, key, action, comment, task, by_user, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (tenant, kind, key, action, comment, task, by, at))
            # the log keeps what was done, not the question (people's words go with the retention)
            AccessStore._audit(run, tenant, by, f"warteschlange-{action}", kind, task or "")

    def add_reference(self, tenant: str, collection: str, question: str, doc: str, doc_id: str, section: str,
                      answer_contains: list[str], by: str) -> int:
        with self.db.tx() as run:
            return run("INSERT INTO reference_questions (tenant, collection, question, doc, doc_id, section, answer_contains, "
                "added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (tenant, collection, question, doc, doc_id, section, json.dumps(answer_contains, ensure_ascii=False),
                 by, stamp()))[0]["id"]

    def delete_reference(self, ref_id: int, tenant: str, by: str) -> dict | None:
        """Remove one reference question (returns it; None if the tenant has none of that id)."""
        with self.db.tx() as run:
            rows = run("SELECT * FROM reference_questions WHERE id = ? AND tenant = ?", (ref_id, tenant))
            if not rows:
                return None
            run("DELETE FROM reference_questions WHERE id = ?", (ref_id,))
            AccessStore._audit(run, tenant, by, "referenzfrage-geloescht", str(ref_id), rows[0]["collection"])
        return rows[0]

    # --- reading -----------------------------------------------------------------
    def feedback(self, since: str = "", helpful: bool | None = None) -> list[Feedback]:
        sql, args = "SELECT * FROM feedback WHERE at >= ?", [since]
        if helpful is not None:
            sql, args = sql + " AND helpful = ?", args + [int(helpful)]
        with self.db.tx(write=False) as run:
            return [_feedback(r) for r in run(sql + " ORDER BY at DESC, id DESC", args)]

    def queries(self, since: str = "", weak: bool | None = None) -> list[LoggedQuery]:
        sql, args = "SELECT * FROM query_log WHERE at >= ?", [since]
        if weak is not None:
            sql, args = sql + " AND weak = ?", args + [int(weak)]
        with self.db.tx(write=False) as run:
            return [_query(r) for r in run(sql + " ORDER BY at DESC, id DESC", args)]

    def actions(self, tenant: str | None = None) -> list[Action]:
        sql, args = "SELECT * FROM queue_actions", []
        if tenant is not None:
            sql, args = sql + " WHERE tenant = ?", [tenant]
        with self.db.tx(write=False) as run:
            return [_action(r) for r in run(sql + " ORDER BY at, id", args)]

    def references(self, tenant: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM reference_questions", []
        if tenant is not None:
            sql, args = sql + " WHERE tenant = ?", [tenant]
        with self.db.tx(write=False) as run:
            rows = run(sql + " ORDER BY id", args)
        return [{**r, "answer_contains": json.loads(r["answer_contains"])} for r in rows]

    # --- deleting (retention, and on request) --------------------------------------
    def delete_before(self, feedback_before: str | None, queries_before: str | None) -> tuple[int, int]:
        """Delete feedback and logged questions older than the given times (None: keep);
        returns how many of each. Queue actions name the questions they closed: they go with
        the feedback's time limit. Reference questions are what officers chose to keep."""
        counts = [0, 0]
        with self.db.tx() as run:
            for i, (table, before) in enumerate((("feedback", feedback_before), ("query_log", queries_before))):
                if before is not None:
                    counts[i] = run(f"SELECT COUNT(*) AS n FROM {table} WHERE at < ?", (before,))[0]["n"]
                    run(f"DELETE FROM {table} WHERE at < ?", (before,))
            if feedback_before is not None:
                run("DELETE FROM queue_actions WHERE at < ?", (feedback_before,))
        return counts[0], counts[1]

    def delete_user(self, user: str) -> tuple[int, int]:
        """Forget one person (Art. 17 DSGVO): their feedback and logged questions, where the
        installation stored names."""
        with self.db.tx() as run:
            n = [run(f"SELECT COUNT(*) AS n FROM {t} WHERE user_name = ?", (user,))[0]["n"]
                 for t in ("feedback", "query_log")]
            run("DELETE FROM feedback WHERE user_name = ?", (user,))
            run("DELETE FROM query_log WHERE user_name = ?", (user,))
        return n[0], n[1]
