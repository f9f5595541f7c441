"""Every error answer is `{"detail": "<German sentence>"}` — and the OpenAPI document says so.

FastAPI's own 422 for invalid parameters is a list of English records; here it becomes
one German sentence naming the parameter, so the schema (detail: string) and the
behaviour agree (Schemathesis checks both).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth import Denied


class ErrorBody(BaseModel):
    detail: str


def responses(*statuses: int) -> dict[int, dict]:
    """OpenAPI entries for the error answers a route can give."""
    text = {400: "Ungültige Anfrage", 401: "API-Schlüssel fehlt oder ist falsch", 403: "nicht eingerichtet",
            404: "nicht gefunden", 409: "Stand hat sich geändert", 413: "Anfrage zu groß", 422: "ungültige Eingabe",
            429: "zu viele Fehlversuche", 503: "vorübergehend nicht möglich"}
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


def _place(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header", "cookie")]
    return ".".join(parts) or "Anfrage"


def _reason(error: dict) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return "fehlt"
    if kind in ("string_too_short", "too_short"):
        return f"ist zu kurz (mindestens {ctx.get('min_length', 1)} Zeichen)"
    if kind in ("string_too_long", "too_long"):
        return f"ist zu lang (höchstens {ctx.get('max_length')} Zeichen)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"muss mindestens {ctx.get('ge', ctx.get('gt'))} sein"
    if kind in ("less_than_equal", "less_than"):
        return f"darf höchstens {ctx.get('le', ctx.get('lt'))} sein"
    if kind.startswith("int_"):
        return "muss eine ganze Zahl sein"
    if kind.startswith("bool_"):
        return "muss true oder false sein"
    if kind in ("literal_error", "enum"):
        return f"muss einer dieser Werte sein: {ctx.get('expected', '')}"
    if kind == "string_type":
        return "muss Text sein"
    return "ist ungültig"


def validation_detail(exc: RequestValidationError) -> str:
    errors = exc.errors()
    return "Ungültige Eingabe: " + "; ".join(f"{_place(tuple(e.get('loc', ())))} {_reason(e)}" for e in errors[:5])


GERMAN = {
    "Not Found": "Nicht gefunden.",
    "Method Not Allowed": "Diese Methode ist hier nicht erlaubt.",
    "There was an error parsing the body": "Der Inhalt der Anfrage ist nicht lesbar.",
    "Invalid multipart data.": "Der mehrteilige Inhalt (multipart/form-data) ist ungültig.",
    "Missing boundary in multipart.": "Im mehrteiligen Inhalt fehlt die Grenze (boundary).",
}
# Starlette's multipart limits, recognised by how their messages begin
GERMAN_PREFIX = {
    "Too many fields": "Zu viele Formularfelder in der Anfrage.",
    "Too many files": "Zu viele Dateien in der Anfrage.",
    "Part exceeded maximum size": "Ein Formularfeld ist zu groß.",
    "Field exceeded maximum size": "Ein Formularfeld ist zu groß.",
}


def german(detail: str) -> str:
    if detail in GERMAN:
        return GERMAN[detail]
    return next((text for prefix, text in GERMAN_PREFIX.items() if detail.startswith(prefix)), detail)


def _allowed_methods(app: FastAPI, scope) -> str:
    """Every method of every route on this path (Starlette names only the first route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in app.router.routes:
        if route.matches({**scope, "method": "GET"})[0] != Match.NONE:  # PARTIAL: path fits, method not
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _openapi_errors(schema: dict) -> dict:
    """422 answers are ErrorBody, like every other error; writes can also answer 400 (unreadable body)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            codes = operation.get("responses", {})
            if "422" in codes:
                codes["422"] = {"description": "ungültige Eingabe",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            if "requestBody" in operation:
                codes.setdefault("400", {"description": "Inhalt der Anfrage nicht lesbar",
                                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components["ErrorBody"] = ErrorBody.model_json_schema()
    return schema


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(app, request.scope)
        detail = german(exc.detail) if isinstance(exc.detail, str) else exc.detail
        return await http_exception_handler(request, StarletteHTTPException(exc.status_code, detail, headers or None))

    def openapi() -> dict:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            app.openapi_schema = _openapi_errors(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc)}, status_code=422)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)
