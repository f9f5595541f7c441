"""The request guard (pure ASGI, outermost): what every request passes before a route.

1. Writes are authorised from the headers *before* the body is read: an anonymous
   1 GiB upload used to be spooled to disk before it got its 401.
2. The body is limited while it streams (413): uploads to `max_upload_mb`, every other
   request to a few KiB. A declared Content-Length above the limit is refused at once.
3. Security headers on every response: CSP, frame-ancestors / X-Frame-Options,
   nosniff, Referrer-Policy.
"""

from __future__ import annotations

import json
import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import Auth, Denied

SMALL_BODY = 64 * 1024  # forms, deletes, search: nothing legitimate comes near this
UPLOADS = {("POST", re.compile(r"/api/documents/?")), ("PUT", re.compile(r"/api/documents/[^/]+")),
           ("POST", re.compile(r"/verwaltung/(hochladen|auswertung)")), ("POST", re.compile(r"/api/aufgaben/import")),
           ("POST", re.compile(r"/wissen/import"))}
# a note: up to 14 sections of 20,000 characters, as a form or as JSON
NOTES = {("POST", re.compile(r"/api/aufgaben/[^/]+/fassungen")), ("POST", re.compile(r"/wissen/aufgabe/[^/]+/bearbeiten"))}
NOTE_BODY = 2 * 1024 * 1024  # 14 × 20,000 characters, umlauts form-encoded as 6 bytes each
READ_METHODS = {"GET", "HEAD", "OPTIONS"}

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
     b"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"Die Anfrage ist zu groß: höchstens {limit / (1024 * 1024):.0f} MB "
                              "(Einstellung AMTSWISSEN_MAX_UPLOAD_MB)." if limit >= 1024 * 1024
                         else f"Die Anfrage ist zu groß: höchstens {limit // 1024} KB.")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unbekannt"


class RequestGuard:
    def __init__(self, app: ASGIApp, auth: Auth):
        self.app = app
        self.auth = auth

    def _limit(self, method: str, path: str) -> int:
        if any(method == m and pattern.fullmatch(path) for m, pattern in UPLOADS):
            return self.auth.settings.max_upload_mb * 1024 * 1024
        if any(method == m and pattern.fullmatch(path) for m, pattern in NOTES):
            return NOTE_BODY
        return SMALL_BODY

    def _authorise(self, method: str, path: str, headers: Headers, scope: Scope) -> None:
        """Raises Denied for a write without credentials; routes check the rights (and the
        CSRF token). The API takes tokens or the key, never the cookie: a page of another
        site cannot make a signed-in browser write through it."""
        if method in READ_METHODS:
            return
        client = self._address(scope, headers)
        if path.startswith("/api/"):
            if self.auth.credential(headers.get("authorization"), headers.get("x-api-key"), client) is None:
                raise Denied(401, "Zugangsdaten fehlen (Token oder X-API-Key).")
        elif path.startswith(("/verwaltung/", "/konto/", "/wissen/")) and path not in ("/verwaltung/anmelden",
                                                                          "/verwaltung/abmelden"):
            cookies = cookie_parser(headers.get("cookie", ""))
            if self.auth.principal(Headers(raw=[(k, v) for k, v in headers.raw if k.lower() not in
                                                (b"authorization", b"x-api-key")]), cookies,
                                   _client(scope), client).kind != "user":
                raise Denied(403, "Bitte neu anmelden.")

    def _address(self, scope: Scope, headers: Headers) -> str:
        return self.auth.address(_client(scope), headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present]
            await send(message)

        method, path = scope["method"], scope["path"]
        headers = Headers(scope=scope)
        try:
            self._authorise(method, path, headers, scope)
        except Denied as denied:
            await _respond(send_with_headers, denied.status, denied.detail, denied.headers)
            return

        limit = self._limit(method, path)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            error = BodyTooLarge(limit) if declared.isdigit() else HTTPException(400, "Ungültige Content-Length.")
            await _respond(send_with_headers, error.status_code, error.detail)
            return

        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, counted, tracking)
        except BodyTooLarge as error:  # raised while a route that does not turn it into a response read the body
            if started:
                raise
            await _respond(send_with_headers, error.status_code, error.detail)


async def _respond(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
