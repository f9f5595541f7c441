"""The access model's tables, in SQLite beside the index folder or in the index's PostgreSQL.

One SQL text for both engines: statements are written with `?` marks and the
PostgreSQL connection turns them into `%s`. The tables are small (users, grants,
audit); what matters is that they live where the index lives, so a backup of the
folder or the database holds the rights together with the documents they guard.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (tenant TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
    title TEXT NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(id), unit TEXT,
    display TEXT NOT NULL, password TEXT, source TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups_ (tenant TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
    ldap_group TEXT, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS members (tenant TEXT NOT NULL, group_name TEXT NOT NULL, user_name TEXT NOT NULL,
    PRIMARY KEY (tenant, group_name, user_name));
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(id),
    visibility TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shares (collection TEXT NOT NULL, tenant TEXT NOT NULL, PRIMARY KEY (collection, tenant));
CREATE TABLE IF NOT EXISTS grants (id {serial}, tenant TEXT NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL,
    role TEXT NOT NULL, collection TEXT, UNIQUE (tenant, kind, principal, role, collection));
CREATE TABLE IF NOT EXISTS deputies (id {serial}, tenant TEXT NOT NULL, grantor TEXT NOT NULL, deputy TEXT NOT NULL,
    starts TEXT NOT NULL, ends TEXT NOT NULL, collections TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL,
    role TEXT NOT NULL, collections TEXT, expires TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, user_name TEXT NOT NULL, csrf TEXT NOT NULL,
    created REAL NOT NULL, seen REAL NOT NULL, via TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id {serial}, tenant TEXT, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, address TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS installation (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit (tenant, id);
CREATE INDEX IF NOT EXISTS deputies_deputy ON deputies (deputy);
"""

# The audit log is append-only in the engine itself, not only by convention of this code.
SQLITE_GUARDS = """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'Das Protokoll kann nicht geändert werden.'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'Das Protokoll kann nicht geändert werden.'); END;
"""
POSTGRES_GUARDS = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'Das Protokoll kann nicht geändert werden.'; END $$;
DROP TRIGGER IF EXISTS audit_append_only ON audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""


class Database:
    """Transactions over SQLite or PostgreSQL: `with db.tx() as run: run(sql, args)` → rows as dicts."""

    def __init__(self, sqlite_path: Path | None = None, url: str | None = None, pool_size: int = 4):
        self.url, self.path = url, sqlite_path
        self._local = threading.local()
        if url:
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool

            self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"row_factory": dict_row},
                                       open=True)
            with self.pool.connection() as conn:
                # one process creates the tables; the others wait (several servers start at once)
                conn.execute("SELECT pg_advisory_xact_lock(4711002)")
                for statement in _statements(SCHEMA.format(serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")):
                    conn.execute(statement)
                conn.execute(POSTGRES_GUARDS)
        else:
            self.pool = None
            Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            with self._sqlite() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT") + SQLITE_GUARDS)

    def ensure(self, schema: str) -> None:
        """Create the tables of another part of the application (knowledge/) in the same
        database, with `{serial}` as in SCHEMA."""
        if self.pool is not None:
            with self.pool.connection() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(4711002)")
                for statement in _statements(schema.format(serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")):
                    conn.execute(statement)
        else:
            self._sqlite().executescript(schema.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT"))

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # one connection per thread: sqlite3 objects must not cross threads
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self, write: bool = True) -> Iterator:
        if self.pool is not None:
            with self.pool.connection() as conn:  # commits on success, rolls back on error
                def run(sql: str, args: tuple | list = ()) -> list[dict[str, Any]]:
                    cur = conn.execute(sql.replace("?", "%s"), args)
                    return cur.fetchall() if cur.description else []
                yield run
            return
        conn = self._sqlite()
        # a writer takes the lock at once (no deadlock on upgrade); readers share the WAL
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            def run(sql: str, args: tuple | list = ()) -> list[dict[str, Any]]:
                return [dict(r) for r in conn.execute(sql, args).fetchall()]
            yield run
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
