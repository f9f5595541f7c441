"""Request dependencies as Annotated aliases, so route signatures stay short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from access.model import Rights
from service.auth import Auth, Denied
from search.searcher import Searcher


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


def get_auth(request: Request) -> Auth:
    return request.app.state.auth


def client_address(request: Request) -> str:
    """The client's address: the peer's, or what a configured trusted proxy forwards."""
    return request.app.state.auth.address(request.client.host if request.client else "unbekannt", request.headers)


# declared as security schemes, so the OpenAPI document and its clients know the headers
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="Maschinen-Token (aw_…) oder der Installationsschlüssel AMTSWISSEN_API_KEY")
BEARER = HTTPBearer(auto_error=False, description="Maschinen-Token (aw_…)")


def get_rights(request: Request, _key: Annotated[str | None, Depends(API_KEY)] = None,
               _bearer=Depends(BEARER)) -> Rights:
    """The caller's rights for this request (computed once per request)."""
    cached = getattr(request.state, "rights", None)
    if cached is not None:
        return cached
    auth: Auth = request.app.state.auth
    peer = request.client.host if request.client else "unbekannt"
    principal = auth.principal(request.headers, request.cookies, peer, client_address(request))
    with request.app.state.searcher.snapshot() as reader:
        names = reader.collections()
    rights = auth.access.rights(principal, names)
    request.state.rights = rights
    return rights


def rate_limited(request: Request, rights: Rights, message: str) -> None:
    """The per-caller limit of searches (and of feedback, which shares it): signed-in callers
    count by name, others by address; 429 with Retry-After when it is used up."""
    who = rights.principal.name if not rights.principal.anonymous else f"adresse:{client_address(request)}"
    wait = request.app.state.search_limit.wait_seconds(who)
    if wait > 0:
        raise Denied(429, message, {"Retry-After": str(int(wait) + 1)})


def require_writer(rights: Annotated[Rights, Depends(get_rights)]) -> Rights:
    """Write access: someone who may edit at least one collection (each route checks its own)."""
    if rights.principal.anonymous:
        raise Denied(401, "Zugangsdaten fehlen (Token oder X-API-Key).")
    if not rights.edit and not rights.admin_of:
        raise Denied(403, "Keine Schreibrechte.")
    return rights


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
AuthDep = Annotated[Auth, Depends(get_auth)]
RightsDep = Annotated[Rights, Depends(get_rights)]
WriterDep = Annotated[Rights, Depends(require_writer)]
