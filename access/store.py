"""Reading and writing the access model (tables in access/db.py). Every change that
matters for accountability also appends to the audit log, in the same transaction."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date, datetime, timezone
from typing import Iterable

from access.db import Database
from access.model import (COLLECTION_ROLES, PRINCIPAL_KINDS, TENANT_ROLES, VISIBILITIES, AuditEntry, Collection,
                          Deputy, Grant, Group, Tenant, Token, Unit, User)
from access.passwords import hash_password, token_hash, token_matches

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
TOKEN_PREFIX = "aw_"


class AccessError(ValueError):
    """A request the model refuses; the message is German and shown as it is."""


class NotFound(AccessError):
    pass


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise AccessError(f"Ungültiger Name für {what}: erlaubt sind Buchstaben, Ziffern und . _ @ - "
                          "(höchstens 64 Zeichen, am Anfang ein Buchstabe oder eine Ziffer).")
    return value


def check_date(value: str, what: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise AccessError(f"{what}: bitte ein Datum als JJJJ-MM-TT angeben.") from None


def _tuple(raw: str | None) -> tuple[str, ...] | None:
    return None if raw is None else tuple(json.loads(raw))


class AccessStore:
    def __init__(self, db: Database):
        self.db = db

    def close(self) -> None:
        self.db.close()

    # --- audit -----------------------------------------------------------------------
    @staticmethod
    def _audit(run, tenant: str | None, actor: str, action: str, target: str, detail: str = "",
               address: str = "") -> None:
        run("INSERT INTO audit (tenant, at, actor, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tenant, now_iso(), actor, action, target, detail[:2000], address))

    def audit(self, tenant: str | None, actor: str, action: str, target: str, detail: str = "",
              address: str = "") -> None:
        with self.db.tx() as run:
            self._audit(run, tenant, actor, action, target, detail, address)

    def audit_log(self, tenant: str | None, limit: int = 1000, before: int | None = None) -> list[AuditEntry]:
        sql, args = "SELECT * FROM audit WHERE ", []
        sql += "tenant IS NULL" if tenant is None else "tenant = ?"
        args += [] if tenant is None else [tenant]
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        with self.db.tx(write=False) as run:
            rows = run(sql + " ORDER BY id DESC LIMIT ?", args + [limit])
        return [AuditEntry(**r) for r in rows]

    # --- tenants and units -----------------------------------------------------------
    def tenants(self) -> list[Tenant]:
        with self.db.tx(write=False) as run:
            return [Tenant(r["id"], r["name"]) for r in run("SELECT id, name FROM tenants ORDER BY id")]

    def tenant(self, tenant_id: str) -> Tenant:
        with self.db.tx(write=False) as run:
            rows = run("SELECT id, name FROM tenants WHERE id = ?", (tenant_id,))
        if not rows:
            raise NotFound(f"Mandant „{tenant_id}“ gibt es nicht.")
        return Tenant(rows[0]["id"], rows[0]["name"])

    def add_tenant(self, tenant_id: str, name: str, by: str) -> Tenant:
        check_name(tenant_id, "den Mandanten")
        with self.db.tx() as run:
            if run("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)):
                raise AccessError(f"Mandant „{tenant_id}“ gibt es schon.")
            run("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", (tenant_id, name or tenant_id, now_iso()))
            self._audit(run, tenant_id, by, "mandant-angelegt", tenant_id, name)
        return Tenant(tenant_id, name or tenant_id)

    def units(self, tenant: str) -> list[Unit]:
        with self.db.tx(write=False) as run:
            return [Unit(**r) for r in run("SELECT tenant, name, title FROM units WHERE tenant = ? ORDER BY name",
                                           (tenant,))]

    def add_unit(self, tenant: str, name: str, title: str, by: str) -> Unit:
        check_name(name, "die Organisationseinheit")
        self.tenant(tenant)
        with self.db.tx() as run:
            if run("SELECT 1 FROM units WHERE tenant = ? AND name = ?", (tenant, name)):
                raise AccessError(f"Organisationseinheit „{name}“ gibt es schon.")
            run("INSERT INTO units (tenant, name, title) VALUES (?, ?, ?)", (tenant, name, title or name))
            self._audit(run, tenant, by, "einheit-angelegt", name, title)
        return Unit(tenant, name, title or name)

    # --- users -----------------------------------------------------------------------
    @staticmethod
    def _user(r: dict) -> User:
        return User(r["name"], r["tenant"], r["unit"], r["display"], r["source"], bool(r["active"]),
                    bool(r.get("password")))

    def users(self, tenant: str | None = None) -> list[User]:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM users" + (" WHERE tenant = ?" if tenant else "") + " ORDER BY name",
                       (tenant,) if tenant else ())
        return [self._user(r) for r in rows]

    def user(self, name: str) -> User | None:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM users WHERE name = ?", (name,))
        return self._user(rows[0]) if rows else None

    def password_hash(self, name: str) -> str | None:
        with self.db.tx(write=False) as run:
            rows = run("SELECT password FROM users WHERE name = ? AND active = 1 AND source = 'local'", (name,))
        return rows[0]["password"] if rows else None

    def add_user(self, tenant: str, name: str, by: str, display: str = "", unit: str | None = None,
                 password: str | None = None, source: str = "local") -> User:
        check_name(name, "den Benutzer")
        self.tenant(tenant)
        hashed = hash_password(password) if password is not None else None
        with self.db.tx() as run:
            if unit and not run("SELECT 1 FROM units WHERE tenant = ? AND name = ?", (tenant, unit)):
                raise NotFound(f"Organisationseinheit „{unit}“ gibt es im Mandanten „{tenant}“ nicht.")
            if run("SELECT 1 FROM users WHERE name = ?", (name,)):
                raise AccessError(f"Benutzer „{name}“ gibt es schon.")
            run("INSERT INTO users (name, tenant, unit, display, password, source, active, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 1, ?)", (name, tenant, unit, display or name, hashed, source, now_iso()))
            self._audit(run, tenant, by, "benutzer-angelegt", name, f"Quelle {source}" + (f", Einheit {unit}" if unit else ""))
        return self.user(name)

    def update_user(self, name: str, by: str, *, display: str | None = None, unit: str | None = None,
                    active: bool | None = None) -> User:
        user = self._existing_user(name)
        with self.db.tx() as run:
            if display is not None:
                run("UPDATE users SET display = ? WHERE name = ?", (display, name))
            if unit is not None:
                if unit and not run("SELECT 1 FROM units WHERE tenant = ? AND name = ?", (user.tenant, unit)):
                    raise NotFound(f"Organisationseinheit „{unit}“ gibt es nicht.")
                run("UPDATE users SET unit = ? WHERE name = ?", (unit or None, name))
            if active is not None:
                run("UPDATE users SET active = ? WHERE name = ?", (int(active), name))
                if not active:
                    run("DELETE FROM sessions WHERE user_name = ?", (name,))
            self._audit(run, user.tenant, by, "benutzer-geaendert", name,
                        ", ".join(f"{k}={v}" for k, v in (("anzeige", display), ("einheit", unit), ("aktiv", active))
                                  if v is not None))
        return self.user(name)

    def set_password(self, name: str, password: str, by: str) -> None:
        user = self._existing_user(name)
        if user.source != "local":
            raise AccessError(f"„{name}“ meldet sich über {user.source} an; das Passwort verwaltet der Verzeichnisdienst.")
        hashed = hash_password(password)
        with self.db.tx() as run:
            run("UPDATE users SET password = ? WHERE name = ?", (hashed, name))
            run("DELETE FROM sessions WHERE user_name = ?", (name,))  # a new password ends old sessions
            self._audit(run, user.tenant, by, "passwort-gesetzt", name)

    def rehash(self, name: str, hashed: str) -> None:
        with self.db.tx() as run:
            run("UPDATE users SET password = ? WHERE name = ?", (hashed, name))

    def _existing_user(self, name: str) -> User:
        user = self.user(name)
        if user is None:
            raise NotFound(f"Benutzer „{name}“ gibt es nicht.")
        return user

    # --- groups ----------------------------------------------------------------------
    def groups(self, tenant: str) -> list[Group]:
        with self.db.tx(write=False) as run:
            return [Group(**r) for r in run("SELECT tenant, name, ldap_group FROM groups_ WHERE tenant = ? "
                                            "ORDER BY name", (tenant,))]

    def add_group(self, tenant: str, name: str, by: str, ldap_group: str | None = None) -> Group:
        check_name(name, "die Gruppe")
        self.tenant(tenant)
        with self.db.tx() as run:
            if run("SELECT 1 FROM groups_ WHERE tenant = ? AND name = ?", (tenant, name)):
                raise AccessError(f"Gruppe „{name}“ gibt es schon.")
            run("INSERT INTO groups_ (tenant, name, ldap_group) VALUES (?, ?, ?)", (tenant, name, ldap_group))
            self._audit(run, tenant, by, "gruppe-angelegt", name, f"LDAP-Gruppe {ldap_group}" if ldap_group else "")
        return Group(tenant, name, ldap_group)

    def add_member(self, tenant: str, group: str, user: str, by: str) -> None:
        member = self._existing_user(user)
        with self.db.tx() as run:
            if not run("SELECT 1 FROM groups_ WHERE tenant = ? AND name = ?", (tenant, group)):
                raise NotFound(f"Gruppe „{group}“ gibt es nicht.")
            if member.tenant != tenant:
                raise AccessError("Gruppen haben nur Mitglieder aus ihrem eigenen Mandanten.")
            run("INSERT INTO members (tenant, group_name, user_name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (tenant, group, user))
            self._audit(run, tenant, by, "mitglied-aufgenommen", group, user)

    def remove_member(self, tenant: str, group: str, user: str, by: str) -> None:
        with self.db.tx() as run:
            run("DELETE FROM members WHERE tenant = ? AND group_name = ? AND user_name = ?", (tenant, group, user))
            self._audit(run, tenant, by, "mitglied-entfernt", group, user)

    def memberships(self, user: User, directory_groups: Iterable[str] = ()) -> set[str]:
        """The user's groups: those named in the app, plus those mapped to a directory group
        the user belongs to (read at sign-in)."""
        directory = set(directory_groups)
        with self.db.tx(write=False) as run:
            named = {r["group_name"] for r in run("SELECT group_name FROM members WHERE tenant = ? AND user_name = ?",
                                                  (user.tenant, user.name))}
            mapped = {r["name"] for r in run("SELECT name, ldap_group FROM groups_ WHERE tenant = ? "
                                             "AND ldap_group IS NOT NULL", (user.tenant,)) if r["ldap_group"] in directory}
        return named | mapped

    def sync_directory_groups(self, user: User, directory_groups: Iterable[str]) -> None:
        """Membership of mapped groups follows the directory at every sign-in."""
        directory = set(directory_groups)
        with self.db.tx() as run:
            mapped = run("SELECT name, ldap_group FROM groups_ WHERE tenant = ? AND ldap_group IS NOT NULL",
                         (user.tenant,))
            for g in mapped:
                if g["ldap_group"] in directory:
                    run("INSERT INTO members (tenant, group_name, user_name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        (user.tenant, g["name"], user.name))
                else:
                    run("DELETE FROM members WHERE tenant = ? AND group_name = ? AND user_name = ?",
                        (user.tenant, g["name"], user.name))

    # --- collections -----------------------------------------------------------------
    def collections(self, tenant: str | None = None) -> list[Collection]:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM collections" + (" WHERE tenant = ?" if tenant else "") + " ORDER BY name",
                       (tenant,) if tenant else ())
            shares: dict[str, list[str]] = {}
            for s in run("SELECT collection, tenant FROM shares ORDER BY tenant"):
                shares.setdefault(s["collection"], []).append(s["tenant"])
        return [Collection(r["name"], r["tenant"], r["visibility"], tuple(shares.get(r["name"], ()))) for r in rows]

    def collection(self, name: str) -> Collection | None:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM collections WHERE name = ?", (name,))
            shares = [s["tenant"] for s in run("SELECT tenant FROM shares WHERE collection = ? ORDER BY tenant",
                                               (name,))]
        return Collection(name, rows[0]["tenant"], rows[0]["visibility"], tuple(shares)) if rows else None

    def set_collection(self, name: str, tenant: str, visibility: str, by: str) -> Collection:
        """Register a collection with a tenant, or change its visibility."""
        check_name(name, "die Sammlung")
        if visibility not in VISIBILITIES:
            raise AccessError(f"Sichtbarkeit „{visibility}“ gibt es nicht: {', '.join(VISIBILITIES)}.")
        self.tenant(tenant)
        with self.db.tx() as run:
            existing = run("SELECT tenant FROM collections WHERE name = ?", (name,))
            if existing and existing[0]["tenant"] != tenant:
                raise AccessError(f"Die Sammlung „{name}“ gehört einem anderen Mandanten.")
            if existing:
                run("UPDATE collections SET visibility = ? WHERE name = ?", (visibility, name))
            else:
                run("INSERT INTO collections (name, tenant, visibility) VALUES (?, ?, ?)", (name, tenant, visibility))
            self._audit(run, tenant, by, "sammlung-sichtbarkeit", name, visibility)
        return self.collection(name)

    def share(self, name: str, with_tenant: str, by: str, shared: bool = True, owner: str | None = None) -> None:
        """Share a collection read-only with another tenant; `owner`: the tenant whose
        administrator asks (only the owning tenant shares its collections)."""
        coll = self.collection(name)
        if coll is None or (owner is not None and coll.tenant != owner):
            raise NotFound(f"Sammlung „{name}“ ist nicht eingetragen.")
        self.tenant(with_tenant)
        with self.db.tx() as run:
            if shared:
                run("INSERT INTO shares (collection, tenant) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, with_tenant))
            else:
                run("DELETE FROM shares WHERE collection = ? AND tenant = ?", (name, with_tenant))
            self._audit(run, coll.tenant, by, "sammlung-geteilt" if shared else "freigabe-beendet", name, with_tenant)

    # --- grants ----------------------------------------------------------------------
    def grants(self, tenant: str | None = None) -> list[Grant]:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM grants" + (" WHERE tenant = ?" if tenant else "") + " ORDER BY id",
                       (tenant,) if tenant else ())
        return [Grant(**r) for r in rows]

    def grant(self, tenant: str, kind: str, principal: str, role: str, collection: str | None, by: str) -> Grant:
        if kind not in PRINCIPAL_KINDS:
            raise AccessError(f"Rechte gehen an: {', '.join(PRINCIPAL_KINDS)}.")
        roles = TENANT_ROLES if collection is None else COLLECTION_ROLES
        if role not in roles:
            raise AccessError(f"Rolle „{role}“ gibt es {'für den Mandanten' if collection is None else 'für eine Sammlung'} "
                              f"nicht: {', '.join(roles)}.")
        self.tenant(tenant)
        if collection is not None:
            coll = self.collection(collection)
            if coll is None or coll.tenant != tenant:
                raise AccessError(f"Die Sammlung „{collection}“ ist nicht im Mandanten „{tenant}“ eingetragen.")
        with self.db.tx() as run:
            table, key = {"user": ("users", "name"), "group": ("groups_", "name"), "unit": ("units", "name")}[kind]
            if not run(f"SELECT 1 FROM {table} WHERE tenant = ? AND {key} = ?", (tenant, principal)):
                raise NotFound(f"„{principal}“ gibt es im Mandanten „{tenant}“ nicht.")
            same = ("SELECT * FROM grants WHERE tenant = ? AND kind = ? AND principal = ? AND role = ? AND "
                    "collection IS NOT DISTINCT FROM ?", (tenant, kind, principal, role, collection))
            if not run(*same):  # (a UNIQUE constraint treats NULL collections as all different)
                run("INSERT INTO grants (tenant, kind, principal, role, collection) VALUES (?, ?, ?, ?, ?)",
                    (tenant, kind, principal, role, collection))
                self._audit(run, tenant, by, "recht-erteilt", f"{kind}:{principal}",
                            f"{role} auf {collection or 'Mandant'}")
            row = run(*same)
        return Grant(**row[0])

    def revoke_grant(self, tenant: str, grant_id: int, by: str) -> None:
        with self.db.tx() as run:
            rows = run("SELECT * FROM grants WHERE id = ? AND tenant = ?", (grant_id, tenant))
            if not rows:
                raise NotFound(f"Recht Nr. {grant_id} gibt es nicht.")
            g = rows[0]
            run("DELETE FROM grants WHERE id = ?", (grant_id,))
            self._audit(run, tenant, by, "recht-entzogen", f"{g['kind']}:{g['principal']}",
                        f"{g['role']} auf {g['collection'] or 'Mandant'}")

    def grants_of(self, user: User, groups: set[str]) -> list[Grant]:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM grants WHERE tenant = ? AND ((kind = 'user' AND principal = ?) "
                       "OR (kind = 'unit' AND principal = ?))", (user.tenant, user.name, user.unit or ""))
            if groups:
                marks = ",".join("?" * len(groups))
                rows += run(f"SELECT * FROM grants WHERE tenant = ? AND kind = 'group' AND principal IN ({marks})",
                            [user.tenant, *sorted(groups)])
        return [Grant(**r) for r in rows]

    # --- deputies --------------------------------------------------------------------
    @staticmethod
    def _deputy(r: dict) -> Deputy:
        return Deputy(r["id"], r["tenant"], r["grantor"], r["deputy"], r["starts"], r["ends"],
                      _tuple(r["collections"]), r["created_by"], r["revoked_at"] is not None)

    def add_deputy(self, grantor: str, deputy: str, starts: str, ends: str, by: str,
                   collections: list[str] | None = None) -> Deputy:
        g, d = self._existing_user(grantor), self._existing_user(deputy)
        starts, ends = check_date(starts, "Beginn"), check_date(ends, "Ende")
        if ends < starts:
            raise AccessError("Das Ende der Vertretung liegt vor ihrem Beginn.")
        if g.name == d.name:
            raise AccessError("Niemand vertritt sich selbst.")
        if g.tenant != d.tenant:
            raise AccessError("Vertretungen gibt es nur innerhalb eines Mandanten.")
        with self.db.tx() as run:
            row = run("INSERT INTO deputies (tenant, grantor, deputy, starts, ends, collections, created_by, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                      (g.tenant, grantor, deputy, starts, ends,
                       json.dumps(sorted(set(collections))) if collections else None, by, now_iso()))[0]
            self._audit(run, g.tenant, by, "vertretung-erteilt", f"{grantor} → {deputy}",
                        f"{starts} bis {ends}; " + (", ".join(sorted(set(collections))) if collections else "alle Rechte"))
        return self._deputy(row)

    def deputies(self, user: str | None = None, tenant: str | None = None) -> list[Deputy]:
        """Deputies a user gave or holds (or all of a tenant), newest first."""
        with self.db.tx(write=False) as run:
            if user is not None:
                rows = run("SELECT * FROM deputies WHERE grantor = ? OR deputy = ? ORDER BY id DESC", (user, user))
            else:
                rows = run("SELECT * FROM deputies WHERE tenant = ? ORDER BY id DESC", (tenant,))
        return [self._deputy(r) for r in rows]

    def revoke_deputy(self, deputy_id: int, by: str) -> Deputy:
        with self.db.tx() as run:
            rows = run("SELECT * FROM deputies WHERE id = ?", (deputy_id,))
            if not rows:
                raise NotFound(f"Vertretung Nr. {deputy_id} gibt es nicht.")
            run("UPDATE deputies SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_iso(), deputy_id))
            r = rows[0]
            self._audit(run, r["tenant"], by, "vertretung-beendet", f"{r['grantor']} → {r['deputy']}")
        return self._deputy({**r, "revoked_at": "x"})

    # --- machine tokens --------------------------------------------------------------
    @staticmethod
    def _token(r: dict) -> Token:
        return Token(r["id"], r["tenant"], r["name"], r["role"], _tuple(r["collections"]), r["expires"],
                     r["created_by"], r["created_at"], r["revoked_at"] is not None)

    def add_token(self, tenant: str, name: str, role: str, by: str, collections: list[str] | None = None,
                  expires: str | None = None) -> tuple[Token, str]:
        """A new token and its secret, shown once; only its hash is stored."""
        if role not in COLLECTION_ROLES:
            raise AccessError(f"Ein Token hat eine dieser Rollen: {', '.join(COLLECTION_ROLES)}.")
        self.tenant(tenant)
        expires = check_date(expires, "Ablaufdatum") if expires else None
        for c in collections or []:
            coll = self.collection(c)
            if coll is None or (coll.tenant != tenant and tenant not in coll.shared_with):
                raise AccessError(f"Die Sammlung „{c}“ ist für den Mandanten „{tenant}“ nicht eingetragen.")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self.db.tx() as run:
            row = run("INSERT INTO tokens (id, tenant, name, hash, role, collections, expires, created_by, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                      (token_id, tenant, name[:200], token_hash(secret), role,
                       json.dumps(sorted(set(collections))) if collections else None, expires, by, now_iso()))[0]
            self._audit(run, tenant, by, "token-erstellt", f"token:{token_id}",
                        f"{name[:200]}; {role}; bis {expires or 'unbefristet'}")
        return self._token(row), f"{TOKEN_PREFIX}{token_id}_{secret}"

    def token(self, token_id: str) -> Token | None:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM tokens WHERE id = ?", (token_id,))
        return self._token(rows[0]) if rows else None

    def tokens(self, tenant: str) -> list[Token]:
        with self.db.tx(write=False) as run:
            return [self._token(r) for r in run("SELECT * FROM tokens WHERE tenant = ? ORDER BY created_at", (tenant,))]

    def revoke_token(self, tenant: str, token_id: str, by: str) -> None:
        with self.db.tx() as run:
            if not run("SELECT 1 FROM tokens WHERE id = ? AND tenant = ?", (token_id, tenant)):
                raise NotFound(f"Token „{token_id}“ gibt es nicht.")
            run("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_iso(), token_id))
            self._audit(run, tenant, by, "token-widerrufen", f"token:{token_id}")

    def check_token(self, presented: str, today: str) -> Token | None:
        """The live token for a presented value, or None (unknown, wrong secret, revoked, expired)."""
        if not presented.startswith(TOKEN_PREFIX) or presented.count("_") < 2:
            return None
        token_id, secret = presented[len(TOKEN_PREFIX):].split("_", 1)
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM tokens WHERE id = ?", (token_id,))
        if not rows or not token_matches(rows[0]["hash"], secret):
            return None
        token = self._token(rows[0])
        if token.revoked or (token.expires is not None and token.expires < today):
            return None
        return token

    def installation_secret(self, key: str) -> str:
        """A random secret of this installation, the same in all its processes."""
        with self.db.tx() as run:
            run("INSERT INTO installation (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (key, secrets.token_hex(32)))
            return run("SELECT value FROM installation WHERE key = ?", (key,))[0]["value"]

    # --- sessions (server-side; shared by all processes of an installation) -------------
    def add_session(self, key: str, user: str, csrf: str, now: float, via: str) -> None:
        with self.db.tx() as run:
            run("INSERT INTO sessions (key, user_name, csrf, created, seen, via) VALUES (?, ?, ?, ?, ?, ?)",
                (key, user, csrf, now, now, via))

    def session(self, key: str) -> dict | None:
        with self.db.tx(write=False) as run:
            rows = run("SELECT * FROM sessions WHERE key = ?", (key,))
        return rows[0] if rows else None

    def touch_session(self, key: str, now: float) -> None:
        with self.db.tx() as run:
            run("UPDATE sessions SET seen = ? WHERE key = ?", (now, key))

    def end_session(self, key: str) -> None:
        with self.db.tx() as run:
            run("DELETE FROM sessions WHERE key = ?", (key,))

    def expire_sessions(self, idle_before: float, created_before: float) -> None:
        with self.db.tx() as run:
            run("DELETE FROM sessions WHERE seen < ? OR created < ?", (idle_before, created_before))
