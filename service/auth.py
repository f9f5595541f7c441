"""Write access: the API key (header `X-API-Key`) and the officers' sessions on the pages.

- Keys are compared as bytes: a header arrives as latin-1-decoded text, a form value as
  UTF-8 text; both are turned back into the bytes the client sent, so a key with umlauts
  works and an umlaut in a wrong key is a plain 401, never a 500.
- Failed checks are counted per client address; after `login_attempts` failures within
  `login_lockout_minutes` the address waits, even with the right key (≈800 guesses per
  second were possible before). The address is the peer's, or what a configured trusted
  proxy forwards (`trusted_proxies`), never a header any client can set.
- Sessions are random server-side tokens with an idle and an absolute expiry, each with
  its own CSRF token; "Abmelden" ends the session on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from amtswissen.settings import Settings

COOKIE = "amtswissen_sitzung"


@dataclass
class Denied(Exception):
    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


def header_bytes(value: str | None) -> bytes:
    """The bytes of a header value as the client sent them (Starlette decodes as latin-1)."""
    return (value or "").encode("latin-1", errors="replace")


def key_matches(configured: str, presented: bytes) -> bool:
    return hmac.compare_digest(configured.encode("utf-8"), presented)


class Throttle:
    """Failed attempts per client address in a sliding window; thread-safe."""

    MAX_TRACKED = 10_000  # addresses remembered at most (oldest forgotten first)

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


@dataclass
class Session:
    csrf: str
    created: float
    seen: float


class Sessions:
    """Officer sessions in the server's memory (a restart signs everyone out)."""

    def __init__(self, idle_seconds: float, max_seconds: float, clock=time.monotonic):
        self.idle, self.max, self.clock = idle_seconds, max_seconds, clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()

    def create(self) -> tuple[str, Session]:
        token, now = secrets.token_urlsafe(32), self.clock()
        session = Session(csrf=secrets.token_hex(32), created=now, seen=now)
        with self._lock:
            self._expire(now)
            self._sessions[self._key(token)] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(self._key(token))
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.created > self.max:
                del self._sessions[self._key(token)]
                return None
            session.seen = now
            return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(self._key(token), None)

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now - s.seen > self.idle or now - s.created > self.max]:
            del self._sessions[key]


class Auth:
    """The one place that decides about write access, used by the request guard (before a
    body is read), by the API's dependencies and by the officer pages."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.throttle = Throttle(settings.login_attempts, settings.login_lockout_minutes * 60)
        self.sessions = Sessions(settings.session_minutes * 60, settings.session_max_hours * 3600)

    def _configured(self, what: str) -> str:
        key = self.settings.api_key
        if not key:
            raise Denied(403, f"{what} ist nicht eingerichtet (AMTSWISSEN_API_KEY fehlt).")
        return key

    def _not_throttled(self, client: str) -> None:
        wait = self.throttle.wait_seconds(client)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            raise Denied(429, f"Zu viele Fehlversuche von dieser Adresse. Bitte in {minutes} Minute(n) erneut versuchen.",
                         {"Retry-After": str(int(wait) + 1)})

    def check_key(self, presented: bytes, client: str, what: str = "Schreibzugriff") -> None:
        """Raises Denied (403 not set up, 429 too many failures, 401 wrong or missing key)."""
        key = self._configured(what)
        self._not_throttled(client)
        if not presented or not key_matches(key, presented):
            self.throttle.failed(client)
            raise Denied(401, "API-Schlüssel fehlt oder ist falsch (Header X-API-Key).")
        # a success does not clear the count: behind a shared address it would hand an attacker
        # fresh guesses after every legitimate request

    def check_api_header(self, header: str | None, client: str) -> None:
        self.check_key(header_bytes(header), client)

    def login(self, password: str, client: str) -> tuple[str, Session]:
        """A new session for the right key; raises Denied otherwise."""
        self.check_key(password.encode("utf-8", errors="replace"), client, "Der Verwaltungsbereich")
        return self.sessions.create()

    def session(self, token: str | None) -> Session | None:
        self._configured("Der Verwaltungsbereich")
        return self.sessions.get(token)

    def check_form(self, token: str | None, csrf: str | None) -> Session:
        session = self.session(token)
        if session is None or not hmac.compare_digest(session.csrf.encode(), (csrf or "").encode("utf-8", "replace")):
            raise Denied(403, "Bitte neu anmelden.")
        return session
