"""Which backend serves the index: the embedded folder, or PostgreSQL when a database URL is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.base import Backend

if TYPE_CHECKING:
    from amtswissen.settings import Settings


def open_backend(settings: "Settings") -> Backend:
    if settings.database_url:
        from index.postgres import PostgresBackend

        return PostgresBackend(settings.database_url, settings.index, pool_size=settings.database_pool_size,
                               ef_search=settings.hnsw_ef_search)
    from index.local import LocalBackend

    return LocalBackend(settings.index)


def recorded_model(settings: "Settings") -> str | None:
    """The embedding model the configured index was built with (None: nothing indexed yet)."""
    if not settings.database_url:
        from index.local import recorded_model as in_folder

        return in_folder(settings.index)
    backend = open_backend(settings)
    try:
        return backend.recorded_model()
    finally:
        backend.close()
