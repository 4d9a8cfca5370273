"""The FastAPI application: `kg serve` runs `uvicorn service.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from kg import paths
from service import errors
from service.limits import BodyLimit
from service.published import Published
from service.routers import entities, export, meta, ontology, queries, sparql
from service.settings import Settings

DESCRIPTION = """A read-only SPARQL 1.1 endpoint and API over the evidence-kg release: the clinical-study evidence
of the blinatumomab review (Kantarjian et al. 2023) as RDF. Stored queries are typed routes; entity IRIs
(https://w3id.org/evidence-kg/id/...) dereference under /id/; exports are cacheable by ETag."""


def create_app(home: Path | None = None, settings: Settings | None = None, queries_folder: Path | None = None) -> FastAPI:
    """Open the current release read-only, once, and wire the routers to it (stored queries from `queries_folder`, default queries/)."""
    settings = settings or Settings.from_env()
    pub = Published.open(home or paths.home(), settings, queries_folder)
    app = FastAPI(title="evidence-kg", version=pub.release_id, description=DESCRIPTION)
    app.state.published = pub
    errors.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # added last: runs first
    app.include_router(sparql.router)
    app.include_router(queries.build_router(pub.queries))
    app.include_router(export.router)
    app.include_router(entities.router)
    app.include_router(ontology.router)
    app.include_router(meta.router)
    return app
