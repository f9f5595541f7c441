"""Who is asking, from a request: the web side of access/ (tokens, the installation key,
session cookies, trusted single-sign-on headers).

- A machine token comes as `Authorization: Bearer aw_…` or in `X-API-Key`; the
  installation key (AMTSWISSEN_API_KEY) in `X-API-Key`. A credential that is presented
  but wrong is a 401 — never a silent fall back to anonymous reading.
- Keys are compared as bytes: a header arrives as latin-1-decoded text; it is turned back
  into the bytes the client sent, so an umlaut in a wrong key is a plain 401, never a 500.
- Failed checks count per client address (and per account at sign-in); after
  `login_attempts` failures within `login_lockout_minutes` the address waits, even with
  the right credential. The address is the peer's, or what a configured trusted proxy
  forwards (`trusted_proxies`), never a header any client can set.
- The trusted-header mode believes the user-name header only from `trusted_proxies`.
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import date
from dataclasses import dataclass, field

from access.model import ANONYMOUS, Principal
from access.service import AccessService
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


def _networks(spec: str | None) -> list:
    out = []
    for part in (spec or "").split(","):
        part = part.strip()
        if part:
            out.append(ipaddress.ip_network(part, strict=False))
    return out


class Auth:
    """The one place that turns a request's credentials into a principal."""

    def __init__(self, settings: Settings, access: AccessService):
        self.settings = settings
        self.access = access
        # one count per address for wrong passwords, tokens and keys alike
        self.throttle = access.login_throttle
        self.proxies = _networks(settings.trusted_proxies)
        self._csrf_secret: str | None = None

    def address(self, peer: str, headers) -> str:
        """The client's address: the peer's, or the last hop a trusted proxy forwards.
        (Forwarding is read here, not by uvicorn: the trusted-header check needs the peer.)"""
        forwarded = headers.get("x-forwarded-for")
        if forwarded and self.from_trusted_proxy(peer):
            return forwarded.split(",")[-1].strip() or peer
        return peer

    def https(self, peer: str, headers, scheme: str) -> bool:
        if self.from_trusted_proxy(peer) and headers.get("x-forwarded-proto"):
            return headers.get("x-forwarded-proto").split(",")[-1].strip().lower() == "https"
        return scheme == "https"

    def from_trusted_proxy(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in net for net in self.proxies)

    def _not_throttled(self, client: str) -> None:
        wait = self.throttle.wait_seconds(f"adresse:{client}")
        if wait > 0:
            minutes = max(1, round(wait / 60))
            raise Denied(429, f"Zu viele Fehlversuche von dieser Adresse. Bitte in {minutes} Minute(n) erneut versuchen.",
                         {"Retry-After": str(int(wait) + 1)})

    def _failed(self, client: str, detail: str) -> Denied:
        self.throttle.failed(f"adresse:{client}")
        # a success does not clear the count: behind a shared address it would hand an attacker
        # fresh guesses after every legitimate request
        return Denied(401, detail)

    def credential(self, authorization: str | None, api_key: str | None, client: str) -> Principal | None:
        """The principal of a token or the installation key; None when none was presented.
        Raises Denied (429 throttled, 401 wrong)."""
        presented = None
        if authorization and authorization[:7].lower() == "bearer ":
            presented = header_bytes(authorization[7:].strip())
        elif api_key is not None:
            presented = header_bytes(api_key)
        if presented is None:
            return None
        self._not_throttled(client)
        key = self.settings.api_key
        if key and presented and key_matches(key, presented):
            return Principal("key", "api-schluessel", self.settings.default_tenant, "schluessel")
        token = self.access.store.check_token(presented.decode("latin-1"), date.today().isoformat())
        if token is None:
            raise self._failed(client, "Zugangsdaten fehlen oder sind falsch (Token oder X-API-Key).")
        return Principal("token", f"token:{token.id}", token.tenant, "token")

    def principal(self, headers, cookies: dict[str, str], peer: str, client: str) -> Principal:
        """Who is asking: token or key, else trusted header, else session, else anonymous."""
        found = self.credential(headers.get("authorization"), headers.get("x-api-key"), client)
        if found is not None:
            return found
        header = self.settings.trusted_user_header
        if header and headers.get(header) and self.from_trusted_proxy(peer):
            user = self.access.header_user(headers.get(header), client)
            if user is None:
                raise Denied(403, "Dieser Benutzer ist in Amtswissen nicht eingerichtet.")
            return Principal("user", user.name, user.tenant, "kopfzeile")
        session = self.access.session(cookies.get(COOKIE))
        if session is not None:
            user = self.access.store.user(session.user)
            if user is not None and user.active:
                return Principal("user", user.name, user.tenant, "sitzung")
        return ANONYMOUS

    def csrf(self, principal: Principal, cookie: str | None) -> str:
        """The CSRF token of a signed-in caller's forms: the session's own, or — for the
        trusted-header mode, which has no session — a keyed hash of the user name."""
        if principal.via == "sitzung":
            session = self.access.session(cookie)
            return session.csrf if session is not None and session.user == principal.name else ""
        if principal.via == "kopfzeile":  # a cookie planted beside the proxy's header counts for nothing
            secret = self._csrf_secret or self.access.store.installation_secret("csrf")
            self._csrf_secret = secret
            today = date.today().isoformat()  # a token of the day, not one for ever
            return hmac.new(secret.encode(), f"{principal.name}|{today}".encode(), "sha256").hexdigest()
        return ""

    def check_form(self, principal: Principal, cookie: str | None, presented: str | None) -> None:
        """Raises Denied unless the form carries the caller's CSRF token."""
        expected = self.csrf(principal, cookie) if principal.kind == "user" else ""
        if not expected or not hmac.compare_digest(expected.encode(), (presented or "").encode("utf-8", "replace")):
            raise Denied(403, "Bitte neu anmelden.")
