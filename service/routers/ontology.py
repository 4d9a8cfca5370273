"""`/ontology`: the ontology document (ontology/evidence-kg.ttl) as RDF, or HTML documentation made by pyLODE."""

from __future__ import annotations

import email.utils
import hashlib
import logging
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pyoxigraph import RdfFormat, Store, parse, serialize
from starlette.responses import HTMLResponse, Response

from kg import paths
from kg.vocabulary import OWL, PREFIXES, RDF, RDFS, SKOS
from service.caching import not_modified, not_modified_response, validators
from service.negotiation import CONTENT_TYPES, GRAPH_KEYWORDS, GRAPH_MEDIA, by_keyword, negotiate
from service.presentation import link, templates

log = logging.getLogger("service")
router = APIRouter(tags=["ontology"])

OFFERS = ["text/turtle", "application/rdf+xml", "application/ld+json", "application/n-triples", "text/html"]
KEYWORDS = {**GRAPH_KEYWORDS, "html": "text/html"}
KEYWORDS_BY_MEDIA = {m: k for k, m in reversed(list(KEYWORDS.items()))}
OntologyFormat = Enum("OntologyFormat", {k: k for k in KEYWORDS}, type=str)  # type: ignore[misc]


@lru_cache(maxsize=1)
def _source(path: Path) -> bytes:
    return path.read_bytes()


@lru_cache(maxsize=4)
def _rdf(path: Path, fmt: RdfFormat) -> bytes:
    triples = sorted(parse(_source(path), format=RdfFormat.TURTLE), key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    if fmt in (RdfFormat.TURTLE, RdfFormat.RDF_XML):
        return serialize(triples, format=fmt, prefixes=PREFIXES) or b""
    return serialize(triples, format=fmt) or b""


@lru_cache(maxsize=1)
def documentation(path: Path) -> str:
    """pyLODE's page for the ontology (made once, offline); a plain listing if pyLODE is unavailable or fails."""
    try:
        from kg.ontology_docs import ontology_html  # the one pyLODE call, shared with `kg docs`

        return ontology_html(path)
    except Exception as exc:  # noqa: BLE001 - any pyLODE failure falls back to the plain page
        log.warning("pyLODE could not document %s (%s); serving the plain listing", path, exc)
        return _listing(path)


LISTING = f"""PREFIX rdf: <{RDF}> PREFIX rdfs: <{RDFS}> PREFIX owl: <{OWL}> PREFIX skos: <{SKOS}>
SELECT ?term ?kind (SAMPLE(?l) AS ?label) (SAMPLE(?d) AS ?definition) WHERE {{
  VALUES ?kind {{ owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty owl:NamedIndividual }}
  ?term a ?kind FILTER(isIRI(?term))
  OPTIONAL {{ ?term rdfs:label ?l }} OPTIONAL {{ ?term skos:definition|rdfs:comment ?d }}
}} GROUP BY ?term ?kind ORDER BY ?kind ?term"""


def _listing(path: Path) -> str:
    store = Store()
    store.load(_source(path), format=RdfFormat.TURTLE)
    rows = [
        {
            "iri": r["term"].value,
            "href": link(r["term"].value),
            "anchor": r["term"].value.rsplit("#", 1)[-1],
            "kind": r["kind"].value.removeprefix(OWL),
            "label": r["label"].value if r["label"] else "",
            "definition": r["definition"].value if r["definition"] else "",
        }
        for r in store.query(LISTING)
    ]
    return templates.get_template("ontology.html").render(terms=rows)


@router.get(
    "/ontology",
    summary="The ontology",
    responses={
        200: {"content": {m: {} for m in OFFERS}},
        304: {"description": "not modified"},
        406: {"description": "no acceptable format"},
    },
)
async def ontology(
    request: Request,
    format: Annotated[
        OntologyFormat | None, Query(description="turtle, nt, jsonld, xml or html; otherwise by Accept (Turtle by default)")
    ] = None,
) -> Response:
    """Turtle (as written), RDF/XML, JSON-LD, N-Triples, or HTML documentation for browsers."""
    path = paths.ONTOLOGY
    media = by_keyword(format.value, KEYWORDS) if format is not None else negotiate(request.headers.get("accept"), OFFERS)
    source = await run_in_threadpool(_source, path)
    etag = f'"{hashlib.sha256(source).hexdigest()}-{KEYWORDS_BY_MEDIA.get(media, media)}"'
    headers = validators(etag, _modified(path))
    if not_modified(request, etag, headers["Last-Modified"]):
        return not_modified_response(headers)
    if media == "text/html":
        return HTMLResponse(await run_in_threadpool(documentation, path), headers=headers)
    fmt = GRAPH_MEDIA[media]
    body = source if media == "text/turtle" else await run_in_threadpool(_rdf, path, fmt)
    return Response(body, media_type=CONTENT_TYPES[fmt], headers=headers)


def _modified(path: Path) -> str:
    return email.utils.formatdate(path.stat().st_mtime, usegmt=True)
