"""The FastAPI application: `kg serve` runs `uvicorn service.app:create_app --factory`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from kg import paths
from kg.engine import EngineError
from service import errors, web
from service.limits import BodyLimit, QueryStringCheck
from service.published import Published
from service.ratelimit import RateLimit
from service.reloading import Reloader
from service.routers import admin, entities, export, meta, ontology, queries, sparql
from service.settings import Settings

DESCRIPTION = """A read-only SPARQL 1.1 endpoint and API over the evidence-kg release: the clinical-study evidence
of the blinatumomab review (Kantarjian et al. 2023) as RDF. Stored queries are typed routes; entity IRIs
(https://w3id.org/evidence-kg/id/...) dereference under /id/; exports are cacheable by ETag."""


def create_app(home: Path | None = None, settings: Settings | None = None, queries_folder: Path | None = None) -> FastAPI:
    """Open the current release read-only, once, and wire the routers to it (stored queries from `queries_folder`, default queries/)."""
    settings = settings or Settings.from_env()
    home = home or paths.home()
    pub = Published.open(home, settings, queries_folder)
    app = FastAPI(title="evidence-kg", version=pub.release_id, description=DESCRIPTION, lifespan=_lifespan)
    app.state.published = pub
    app.state.reloader = Reloader(app, home, settings, queries_folder)
    errors.install(app)
    app.add_exception_handler(EngineError, _engine_failed)  # the pages' own queries on a remote endpoint
    # Middleware: the last added runs first. Outermost CORS (so that refusals are readable by pages of
    # other origins), then the rate limit (the cheapest refusal), then the size and encoding checks, then compression.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(QueryStringCheck, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, rates=settings.rate_limit, loopback=settings.rate_limit_loopback)
    if settings.cors_origins:  # read-only routes only: no credentials, and no Authorization header across origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Accept", "Content-Type"],
        )
    if settings.admin_token and pub.remote is None:  # a remote endpoint's graphs change by `kg push`, not by reloading
        app.include_router(admin.router)
    app.include_router(sparql.router)
    app.include_router(queries.build_router(pub.queries))
    app.include_router(export.router)
    app.include_router(entities.router)
    app.include_router(ontology.router)
    web.install(app)  # the pages; its `/` answers browsers before meta's JSON index
    app.include_router(meta.router)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Watch `current` while serving; stop the query workers on the way out."""
    reloader: Reloader = app.state.reloader
    local = app.state.published.remote is None  # (with a remote endpoint there is no `current` to watch)
    watcher = asyncio.create_task(reloader.watch()) if reloader.settings.watch_seconds and local else None
    try:
        yield
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await app.state.published.close()


async def _engine_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EngineError)
    return errors.error_response(request, exc.status, str(exc))
