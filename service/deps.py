"""Request dependencies as Annotated aliases, so route signatures stay short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from service.auth import Auth
from search.searcher import Searcher


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


def get_auth(request: Request) -> Auth:
    return request.app.state.auth


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unbekannt"


# declared as a security scheme, so the OpenAPI document and its clients know the header
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="Wert von AMTSWISSEN_API_KEY")


def require_api_key(request: Request, x_api_key: Annotated[str | None, Depends(API_KEY)] = None) -> str:
    """Write access for knowledge officers. Without a key in the settings it is switched off.
    (The request guard checked the same before the body was read; this covers reads like the run log.)"""
    request.app.state.auth.check_api_header(x_api_key, client_address(request))
    return "api"


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
AuthDep = Annotated[Auth, Depends(get_auth)]
WriterDep = Annotated[str, Depends(require_api_key)]
