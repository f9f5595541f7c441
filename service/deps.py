"""Request dependencies as Annotated aliases, so route signatures stay short."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from service.search import Searcher


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
    """Write access for knowledge officers. Without a key in the settings it is switched off."""
    configured = request.app.state.settings.api_key
    if not configured:
        raise HTTPException(status_code=403, detail="Schreibzugriff ist nicht eingerichtet (AMTSWISSEN_API_KEY fehlt).")
    if not x_api_key or not secrets.compare_digest(x_api_key, configured):
        raise HTTPException(status_code=401, detail="API-Schlüssel fehlt oder ist falsch (Header X-API-Key).")
    return "api"


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
WriterDep = Annotated[str, Depends(require_api_key)]
