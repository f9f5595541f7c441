"""The access service: one object the web layer and the CLI share — sign-in (local
accounts, LDAP, sessions, tokens), rights per request, and the set-up of a fresh
installation. Nothing here knows HTTP."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable

from access.db import Database
from access.model import Principal, Rights, User
from access.passwords import _HASHER, needs_rehash, verify_password
from access.rights import RightsResolver
from access.store import AccessError, AccessStore


class Throttle:
    """Failed attempts per key (an address, an account) in a sliding window; thread-safe."""

    MAX_TRACKED = 10_000  # keys remembered at most (oldest forgotten first)

    def __init__(self, attempts: int, window_seconds: float, clock=time.monotonic):
        self.attempts, self.window, self.clock = attempts, window_seconds, clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, who: str) -> float:
        """0 when `who` may try again, else the seconds until then."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(who, []) if now - t < self.window]
            if recent:
                self._failures[who] = recent
            else:
                self._failures.pop(who, None)
            if len(recent) < self.attempts:
                return 0.0
            return recent[-self.attempts] + self.window - now

    def failed(self, who: str) -> None:
        with self._lock:
            if len(self._failures) >= self.MAX_TRACKED and who not in self._failures:
                self._failures.pop(next(iter(self._failures)))
            self._failures.setdefault(who, []).append(self.clock())


class RateLimit:
    """Requests per caller and minute (token bucket); 0 switches it off."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.rate, self.clock = per_minute / 60.0, clock
        self.capacity = max(1.0, per_minute / 4)  # a burst of a quarter minute's worth
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, who: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            if len(self._buckets) > 50_000:
                self._buckets.clear()
            level, since = self._buckets.get(who, (self.capacity, now))
            level = min(self.capacity, level + (now - since) * self.rate)
            if level < 1.0:
                self._buckets[who] = (level, now)
                return (1.0 - level) / self.rate
            self._buckets[who] = (level - 1.0, now)
            return 0.0


@dataclass
class Throttled(Exception):
    wait: float

    @property
    def detail(self) -> str:
        return (f"Zu viele Fehlversuche. Bitte in {max(1, round(self.wait / 60))} Minute(n) erneut versuchen.")


class SignInFailed(Exception):
    """Wrong name or password (one message for both: no user-name oracle)."""


@dataclass
class SessionInfo:
    user: str
    csrf: str
    via: str


@dataclass
class AccessService:
    store: AccessStore
    resolver: RightsResolver
    login_throttle: Throttle
    session_idle: float
    session_max: float
    directory: object | None = None  # access.ldap.LdapDirectory when LDAP is configured
    ldap_tenant: str | None = None
    clock: object = time.time
    _last_touch: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings) -> "AccessService":
        db = Database(url=settings.database_url, pool_size=settings.database_pool_size) if settings.database_url \
            else Database(sqlite_path=Path(settings.index) / "zugriff.sqlite3")
        store = AccessStore(db)
        directory = None
        if settings.ldap_url:
            from access.ldap import LdapConfig, LdapDirectory

            directory = LdapDirectory(LdapConfig(
                url=settings.ldap_url, user_dn_template=settings.ldap_user_dn_template,
                bind_dn=settings.ldap_bind_dn, bind_password=settings.ldap_bind_password,
                user_base=settings.ldap_user_base or "", user_filter=settings.ldap_user_filter,
                group_base=settings.ldap_group_base or "", group_filter=settings.ldap_group_filter))
        service = cls(store, RightsResolver(store, settings.default_tenant, settings.default_visibility),
                      Throttle(settings.login_attempts, settings.login_lockout_minutes * 60),
                      settings.session_minutes * 60, settings.session_max_hours * 3600,
                      directory, settings.ldap_tenant or settings.default_tenant)
        service.bootstrap(settings.default_tenant, settings.default_collection, settings.public_default_collection)
        return service

    def close(self) -> None:
        self.store.close()

    def bootstrap(self, tenant: str, collection: str, public: bool) -> None:
        """A fresh installation: the default tenant, and the default collection public or
        tenant-wide (public keeps `make run` a working demo; an administrator changes it)."""
        try:
            self.store.add_tenant(tenant, "Standard-Mandant", "installation")
        except AccessError:
            pass  # there already
        if self.store.collection(collection) is None:
            try:
                self.store.set_collection(collection, tenant, "oeffentlich" if public else "mandant", "installation")
            except AccessError:
                pass  # registered meanwhile by another process

    # --- rights ----------------------------------------------------------------------
    def rights(self, principal: Principal, index_collections: Iterable[str]) -> Rights:
        return self.resolver.for_principal(principal, index_collections, date.today().isoformat())

    def tenant_of(self, collection: str) -> str:
        registered = self.store.collection(collection)
        return registered.tenant if registered is not None else self.resolver.default_tenant

    def audit(self, rights: Rights, action: str, collection: str, target: str, detail: str = "",
              address: str = "") -> None:
        """An entry in the log of the tenant that owns the collection."""
        who = rights.principal.name
        if rights.acting_for:
            who += f" (Vertretung für {', '.join(rights.acting_for)})"
        self.store.audit(self.tenant_of(collection), who, action, target, detail, address)

    # --- sign-in ---------------------------------------------------------------------
    def _check_throttle(self, *keys: str) -> None:
        wait = max(self.login_throttle.wait_seconds(k) for k in keys)
        if wait > 0:
            raise Throttled(wait)

    def login(self, name: str, password: str, address: str) -> User:
        """The signed-in user; raises Throttled (too many failures for this account or
        address) or SignInFailed. Local accounts first, then the directory."""
        name = name.strip()
        keys = (f"adresse:{address}", f"konto:{name.casefold()}")
        self._check_throttle(*keys)
        user = self.store.user(name) or self.store.user(name.lower()) if name else None
        ok = False
        if user is not None and user.source == "local":
            stored = self.store.password_hash(name)
            ok = verify_password(stored, password)
            if ok and needs_rehash(stored):
                self.store.rehash(name, _HASHER.hash(password))
        elif self.directory is not None and name and password and (user is None or user.source == "ldap"):
            found = self.directory.authenticate(name, password)  # LdapUnavailable goes up: not a failed attempt
            if found is not None:
                user = self._directory_user(found, user)
                ok = True
        else:
            verify_password(None, password)  # same time as a wrong password
        # an unknown name belongs to no tenant: its failures go to the tenant that new
        # directory users join (the default tenant without LDAP), whose admins watch sign-ins
        tenant = user.tenant if user is not None else self.ldap_tenant
        if not ok or user is None or not user.active:
            for k in keys:
                self.login_throttle.failed(k)
            self.store.audit(tenant, name[:64] or "?", "anmeldung-fehlgeschlagen", name[:64], "", address)
            raise SignInFailed()
        self.store.audit(user.tenant, user.name, "anmeldung", user.name, user.source, address)
        return user

    def _directory_user(self, found, user: User | None) -> User:
        """A directory user is created on first sign-in in the LDAP tenant; its mapped
        groups follow the directory at every sign-in."""
        if user is None:
            user = self.store.add_user(self.ldap_tenant, found.name.lower(), "ldap", display=found.display,
                                       source="ldap")
        elif found.display and found.display != user.display:
            user = self.store.update_user(user.name, "ldap", display=found.display)
        self.store.sync_directory_groups(user, found.group_names)
        return user

    def import_directory_user(self, name: str, by: str) -> User:
        """For scripts: take a user over from the directory before their first sign-in."""
        if self.directory is None:
            raise AccessError("Kein Verzeichnisdienst eingerichtet (AMTSWISSEN_LDAP_URL fehlt).")
        found = self.directory.lookup(name)
        if found is None:
            raise AccessError(f"„{name}“ steht nicht im Verzeichnis.")
        existing = self.store.user(found.name.lower())
        if existing is not None and existing.source != "ldap":
            raise AccessError(f"„{name}“ ist schon ein lokales Konto.")
        user = self._directory_user(found, existing)
        self.store.audit(user.tenant, by, "benutzer-aus-verzeichnis", user.name)
        return user

    def header_user(self, name: str, address: str) -> User | None:
        """Trusted-header single sign-on: the proxy vouches for the name; the user must exist."""
        user = self.store.user(name.strip())
        if user is None or not user.active:
            self.store.audit(None, name[:64], "anmeldung-fehlgeschlagen", name[:64], "Kopfzeile", address)
            return None
        return user

    # --- sessions --------------------------------------------------------------------
    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()

    def new_session(self, user: User, via: str) -> tuple[str, str]:
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_hex(32), self.clock()
        self.store.expire_sessions(now - self.session_idle, now - self.session_max)
        self.store.add_session(self._key(token), user.name, csrf, now, via)
        return token, csrf

    def session(self, token: str | None) -> SessionInfo | None:
        if not token or len(token) > 200:
            return None
        key, now = self._key(token), self.clock()
        row = self.store.session(key)
        if row is None:
            return None
        if now - row["seen"] > self.session_idle or now - row["created"] > self.session_max:
            self.store.end_session(key)
            return None
        # the idle clock is written at most once a minute (or a quarter of the idle time), not
        # on every request
        if now - max(row["seen"], self._last_touch.get(key, 0.0)) > min(60.0, self.session_idle / 4):
            if len(self._last_touch) > 100_000:
                self._last_touch.clear()
            self._last_touch[key] = now
            self.store.touch_session(key, now)
        return SessionInfo(row["user_name"], row["csrf"], row["via"])

    def end_session(self, token: str | None) -> None:
        if token:
            self.store.end_session(self._key(token))
