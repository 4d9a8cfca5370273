"""`/health`, and the VoID / DCAT description of the dataset at `/void` and `/.well-known/void`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize
from starlette.responses import Response

from kg.vocabulary import BASE, DCTERMS, EKG, GRAPH, ID, OWL, RDF, RDFS, XSD
from service.negotiation import CONTENT_TYPES, GRAPH_KEYWORDS, GRAPH_MEDIA, by_keyword, negotiate
from service.published import Published, published

router = APIRouter(tags=["about"])

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
DATASET = BASE + "dataset"
REVIEW = ID + "publication/kantarjian-2023"
OFFERS = ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]
VoidFormat = Enum("VoidFormat", {k: k for k in GRAPH_KEYWORDS}, type=str)  # type: ignore[misc]
PREFIXES = {"void": VOID, "dcat": DCAT, "dcterms": DCTERMS, "owl": OWL, "rdfs": RDFS, "xsd": XSD}


class Health(BaseModel):
    status: str
    release: str
    triples: int
    graphs: dict[str, int]


@router.get("/health", response_model=Health, summary="Is the service up, and which release does it serve")
async def health(pub: Published = Depends(published)) -> Health:
    return Health(status="ok", release=pub.release_id, triples=pub.triples, graphs=pub.graph_triples)


def void_triples(pub: Published, base: str) -> list[Triple]:
    def n(iri: str) -> NamedNode:
        return NamedNode(iri)

    def lit(value: object, datatype: str | None = None) -> Literal:
        return Literal(str(value), datatype=n(datatype)) if datatype else Literal(str(value))

    a = n(RDF + "type")
    ds = n(DATASET)
    sparql = n(base + "/sparql")
    out = [
        Triple(ds, a, n(VOID + "Dataset")),
        Triple(ds, a, n(DCAT + "Dataset")),
        Triple(
            ds,
            n(DCTERMS + "title"),
            Literal("evidence-kg: clinical-study evidence for blinatumomab in R/R and MRD-positive B-ALL", language="en"),
        ),
        Triple(
            ds,
            n(DCTERMS + "description"),
            Literal(
                "Studies, cohorts, outcome and response measurements, adverse-event incidences, comparisons and conflicts "
                "transcribed from the review by Kantarjian et al. 2023, each value with its printed text and source.",
                language="en",
            ),
        ),
        Triple(ds, n(DCTERMS + "license"), n(LICENCE)),
        Triple(ds, n(DCTERMS + "source"), n(REVIEW)),
        Triple(ds, n(DCTERMS + "modified"), lit(pub.last_modified)),
        Triple(ds, n(DCAT + "version"), lit(pub.release_id)),
        Triple(ds, n(OWL + "versionInfo"), lit(pub.release_id)),
        Triple(ds, n(VOID + "triples"), lit(pub.triples, XSD + "integer")),
        Triple(ds, n(VOID + "uriSpace"), lit(ID)),
        Triple(ds, n(VOID + "vocabulary"), n(EKG)),
        Triple(ds, n(VOID + "sparqlEndpoint"), sparql),
        Triple(ds, n(VOID + "exampleResource"), n(REVIEW)),
        Triple(sparql, a, n(DCAT + "DataService")),
        Triple(sparql, n(DCAT + "endpointURL"), sparql),
        Triple(sparql, n(DCTERMS + "conformsTo"), n(SPARQL_PROTOCOL)),
        Triple(sparql, n(DCAT + "servesDataset"), ds),
    ]
    for fmt, media in (
        ("nq", "application/n-quads"),
        ("trig", "application/trig"),
        ("turtle", "text/turtle"),
        ("nt", "application/n-triples"),
    ):
        dump = n(f"{base}/export?format={fmt}")
        out += [
            Triple(ds, n(VOID + "dataDump"), dump),
            Triple(ds, n(DCAT + "distribution"), dump),
            Triple(dump, a, n(DCAT + "Distribution")),
            Triple(dump, n(DCAT + "downloadURL"), dump),
            Triple(dump, n(DCAT + "mediaType"), n("https://www.iana.org/assignments/media-types/" + media)),
            Triple(dump, n(DCTERMS + "license"), n(LICENCE)),
        ]
    for name, count in pub.graph_triples.items():
        graph = n(GRAPH + name)
        out += [
            Triple(ds, n(VOID + "subset"), graph),
            Triple(graph, a, n(VOID + "Dataset")),
            Triple(graph, n(VOID + "triples"), lit(count, XSD + "integer")),
            Triple(graph, n(VOID + "dataDump"), n(f"{base}/export/{name}")),
        ]
    for q in pub.queries.values():
        route = n(f"{base}/queries/{q.name}")
        out += [
            Triple(route, a, n(DCAT + "DataService")),
            Triple(route, n(DCTERMS + "title"), lit(q.name)),
            Triple(route, n(DCTERMS + "description"), lit(q.summary)),
            Triple(route, n(DCAT + "endpointURL"), route),
            Triple(route, n(DCAT + "servesDataset"), ds),
            Triple(ds, n(RDFS + "seeAlso"), route),
        ]
    return sorted(set(out), key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


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
    triples = void_triples(pub, str(request.base_url).rstrip("/"))
    body = (
        serialize(triples, format=fmt, prefixes=PREFIXES)
        if fmt in (RdfFormat.TURTLE, RdfFormat.RDF_XML)
        else serialize(triples, format=fmt)
    ) or b""
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
