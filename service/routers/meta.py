"""`/health`, and the VoID / DCAT description of the dataset at `/void` and `/.well-known/void`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

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


class EngineInfo(BaseModel):
    kind: Literal["embedded", "remote"]
    endpoint: str | None = None  # (remote) the SPARQL endpoint queries are sent to
    dataset: Literal["store", "release"] | None = None  # (remote) how its default graph is the union of the release's graphs
    ready: bool | None = None  # (remote) whether it answered, with the release's graphs in its default graph, just now
    problem: str | None = None  # (remote) why not


class Health(BaseModel):
    status: str  # "ok"; "degraded" while a remote endpoint cannot answer the stored queries (see engine.problem)
    release: str | None  # None: a remote endpoint, whose graphs are not a local release
    triples: int | None
    graphs: dict[str, int]
    engine: EngineInfo
    query_workers: Workers


@router.get("/health", response_model=Health, summary="Is the service up, and which release or endpoint does it serve")
async def health(pub: Published = Depends(published)) -> Health:
    workers = Workers(size=pub.pool.size, idle=pub.pool.idle, timeout_seconds=pub.settings.query_timeout, max_rows=pub.settings.max_rows)
    if pub.remote is None:
        engine = EngineInfo(kind="embedded")
        return Health(
            status="ok", release=pub.release_id, triples=pub.triples, graphs=pub.graph_triples, engine=engine, query_workers=workers
        )
    problem = await run_in_threadpool(pub.remote.problem)
    remote = {"endpoint": pub.remote.endpoint, "dataset": pub.remote.dataset}
    engine = EngineInfo(kind="remote", **remote, ready=problem is None, problem=problem)
    status = "ok" if problem is None else "degraded"
    return Health(status=status, release=None, triples=None, graphs={}, engine=engine, query_workers=workers)


@router.get("/void", summary="VoID / DCAT description of the dataset", responses={200: {"content": {m: {} for m in OFFERS}}})
@router.get("/.well-known/void", include_in_schema=False)
async def void(
    request: Request,
    format: Annotated[VoidFormat | None, Query(description="turtle, nt, jsonld or xml; otherwise by Accept (Turtle by default)")] = None,
    pub: Published = Depends(published),
) -> Response:
    """Version, licence, triple counts per graph, the SPARQL endpoint, the data dumps and the stored queries."""
    release = pub.local_release("VoID description (it counts the release's own files)")
    media = by_keyword(format.value, GRAPH_KEYWORDS) if format is not None else negotiate(request.headers.get("accept"), OFFERS)
    fmt = GRAPH_MEDIA[media]
    # kg.dataset_description is the one implementation (also `kg describe`, `kg export --format void`).
    keyword = {RdfFormat.TURTLE: "turtle", RdfFormat.N_TRIPLES: "nt", RdfFormat.JSON_LD: "jsonld", RdfFormat.RDF_XML: "xml"}[fmt]
    base = str(request.base_url).rstrip("/")
    body = await run_in_threadpool(description_bytes, release, keyword, base, pub.queries)
    return Response(body, media_type=CONTENT_TYPES[fmt], headers={"Vary": "Accept"})


@router.get("/", summary="Where things are", include_in_schema=False)
async def index(pub: Published = Depends(published)) -> dict:
    where: dict[str, str] = {"export": "/export", "description": "/void"}  # (files of a local release)
    if pub.remote is not None:
        where = {"endpoint": pub.remote.endpoint}  # what /sparql and the stored queries are answered from
    return {
        "service": "evidence-kg",
        "release": pub.release_id,
        "sparql": "/sparql",
        "queries": "/queries",
        "ontology": "/ontology",
        "entities": "/id/{path}",
        **where,
        "docs": "/docs",
    }
