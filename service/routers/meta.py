"""`/health`, and the VoID / DCAT description of the dataset at `/void` and `/.well-known/void`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from pyoxigraph import RdfFormat
from starlette.responses import Response

from kg.dataset_description import description_bytes
from service.negotiation import CONTENT_TYPES, GRAPH_KEYWORDS, GRAPH_MEDIA, by_keyword, negotiate
from service.published import Published, published

router = APIRouter(tags=["about"])

OFFERS = ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]
VoidFormat = Enum("VoidFormat", {k: k for k in GRAPH_KEYWORDS}, type=str)  # type: ignore[misc]


class Workers(BaseModel):
    size: int
    idle: int
    timeout_seconds: float
    max_rows: int


class Health(BaseModel):
    status: str
    release: str
    triples: int
    graphs: dict[str, int]
    query_workers: Workers


@router.get("/health", response_model=Health, summary="Is the service up, and which release does it serve")
async def health(pub: Published = Depends(published)) -> Health:
    workers = Workers(size=pub.pool.size, idle=pub.pool.idle, timeout_seconds=pub.settings.query_timeout, max_rows=pub.settings.max_rows)
    return Health(status="ok", release=pub.release_id, triples=pub.triples, graphs=pub.graph_triples, query_workers=workers)


@router.get("/void", summary="VoID / DCAT description of the dataset", responses={200: {"content": {m: {} for m in OFFERS}}})
@router.get("/.well-known/void", include_in_schema=False)
async def void(
    request: Request,
    format: Annotated[VoidFormat | None, Query(description="turtle, nt, jsonld or xml; otherwise by Accept (Turtle by default)")] = None,
    pub: Published = Depends(published),
) -> Response:
    """Version, licence, triple counts per graph, the SPARQL endpoint, the data dumps and the stored queries."""
    media = by_keyword(format.value, GRAPH_KEYWORDS) if format is not None else negotiate(request.headers.get("accept"), OFFERS)
    fmt = GRAPH_MEDIA[media]
    # kg.dataset_description is the one implementation (also `kg describe`, `kg export --format void`).
    keyword = {RdfFormat.TURTLE: "turtle", RdfFormat.N_TRIPLES: "nt", RdfFormat.JSON_LD: "jsonld", RdfFormat.RDF_XML: "xml"}[fmt]
    base = str(request.base_url).rstrip("/")
    body = await run_in_threadpool(description_bytes, pub.release, keyword, base, pub.queries)
    return Response(body, media_type=CONTENT_TYPES[fmt], headers={"Vary": "Accept"})


@router.get("/", summary="Where things are", include_in_schema=False)
async def index(pub: Published = Depends(published)) -> dict:
    return {
        "service": "evidence-kg",
        "release": pub.release_id,
        "sparql": "/sparql",
        "queries": "/queries",
        "export": "/export",
        "ontology": "/ontology",
        "entities": "/id/{path}",
        "description": "/void",
        "docs": "/docs",
    }
