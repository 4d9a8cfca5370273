"""`/id/...`: the graph's instance IRIs (https://w3id.org/evidence-kg/id/...) dereference here.

RDF by content negotiation (the entity's triples plus the labels of what it links to), or an HTML page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pyoxigraph import NamedNode, RdfFormat, parse, serialize
from starlette.responses import Response

from kg.vocabulary import ID, PREFIXES, RDFS
from service import entity_cards
from service.errors import ApiError
from service.execution import Refusal, Task
from service.negotiation import CONTENT_TYPES, GRAPH_MEDIA, negotiate
from service.presentation import link, templates, term_view
from service.published import Published, published

router = APIRouter(tags=["resolvable IRIs"])

N_TRIPLES = "application/n-triples"
OFFERS = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml", "text/html"]
# `{node}` is a validated NamedNode written in N-Triples form, so it cannot break out of the IRI. (Text, not
# Oxigraph's substitutions: the same queries go to a remote endpoint with `kg serve --endpoint`.)
EXISTS = "ASK {{ {node} ?p ?o }}"
DESCRIBE = f"""PREFIX rdfs: <{RDFS}>
CONSTRUCT {{{{ {{node}} ?p ?o . ?o rdfs:label ?label }}}} WHERE {{{{ {{node}} ?p ?o OPTIONAL {{{{ ?o rdfs:label ?label }}}} }}}}"""
OUTGOING = f"""PREFIX rdfs: <{RDFS}>
SELECT ?p ?o (SAMPLE(?pl) AS ?p_label) (SAMPLE(?ol) AS ?o_label)
WHERE {{{{ {{node}} ?p ?o OPTIONAL {{{{ ?p rdfs:label ?pl }}}} OPTIONAL {{{{ ?o rdfs:label ?ol }}}} }}}}
GROUP BY ?p ?o ORDER BY ?p ?o"""
INCOMING = f"""PREFIX rdfs: <{RDFS}>
SELECT ?x ?p (SAMPLE(?pl) AS ?p_label) (SAMPLE(?xl) AS ?x_label)
WHERE {{{{ ?x ?p {{node}} OPTIONAL {{{{ ?p rdfs:label ?pl }}}} OPTIONAL {{{{ ?x rdfs:label ?xl }}}} }}}}
GROUP BY ?x ?p ORDER BY ?p ?x LIMIT 500"""


def _node(path: str) -> NamedNode:
    try:
        return NamedNode(ID + path)
    except ValueError:
        raise ApiError(404, f"no entity {path[:200]!r}: not a valid IRI path") from None


async def _rdf(pub: Published, node: NamedNode, fmt: RdfFormat) -> bytes:
    # Run as /sparql runs a CONSTRUCT (a query worker, its deadline; the release's store or the remote endpoint).
    task = Task(
        text=DESCRIBE.format(node=node),
        result_media=Refusal(406, "an entity is described in RDF"),
        graph_media=N_TRIPLES,
        check=False,
        max_rows=pub.settings.max_rows,
        remote=pub.remote,
    )
    outcome = await pub.pool.run(task)
    return await run_in_threadpool(_written, outcome.body, node, fmt)


def _written(ntriples: bytes, node: NamedNode, fmt: RdfFormat) -> bytes:
    triples = set(parse(ntriples, format=RdfFormat.N_TRIPLES))
    ordered = sorted(triples, key=lambda t: (str(t.subject) != str(node), str(t.subject), str(t.predicate), str(t.object)))
    prefixes = PREFIXES if fmt in (RdfFormat.TURTLE, RdfFormat.RDF_XML) else None
    return (serialize(ordered, format=fmt, prefixes=prefixes) if prefixes else serialize(ordered, format=fmt)) or b""


def _exists(pub: Published, node: NamedNode) -> bool:
    return bool(pub.store.query(EXISTS.format(node=node), use_default_graph_as_union=True))


def _page(pub: Published, node: NamedNode) -> dict:
    outgoing = [
        {"property": term_view(r["p"], r["p_label"]), "value": term_view(r["o"], r["o_label"])}
        for r in pub.store.query(OUTGOING.format(node=node), use_default_graph_as_union=True)
    ]
    incoming = [
        {"property": term_view(r["p"], r["p_label"]), "value": term_view(r["x"], r["x_label"])}
        for r in pub.store.query(INCOMING.format(node=node), use_default_graph_as_union=True)
    ]
    labels = [row["value"]["text"] for row in outgoing if row["property"]["iri"] == RDFS + "label"]
    types = [row["value"] for row in outgoing if row["property"]["iri"] == PREFIXES["rdf"] + "type"]
    return {
        "iri": node.value,
        "label": labels[0] if labels else node.value.removeprefix(ID),
        "types": types,
        "outgoing": outgoing,
        "incoming": incoming,
    }


@router.get(
    "/id/{path:path}",
    summary="Dereference an entity IRI",
    responses={
        200: {"content": {m: {} for m in OFFERS}},
        404: {"description": "no such entity"},
        406: {"description": "no acceptable format"},
    },
)
async def entity(
    request: Request,
    path: Annotated[str, Path(description="the part after https://w3id.org/evidence-kg/id/, e.g. study/tower")],
    pub: Published = Depends(published),
) -> Response:
    """RDF (Turtle by default; N-Triples, JSON-LD, RDF/XML) or an HTML page (text/html) for one entity."""
    node = _node(path)
    if not await run_in_threadpool(_exists, pub, node):
        raise ApiError(404, f"no entity <{node.value}> in this release")
    media = negotiate(request.headers.get("accept"), OFFERS)
    if media == "text/html":
        context = await run_in_threadpool(_page, pub, node)
        template, extra = await run_in_threadpool(entity_cards.card, pub.store, path, node)  # studies and cohorts get a card
        return templates.TemplateResponse(request, template, {**context, **extra, "link": link}, headers={"Vary": "Accept"})
    fmt = GRAPH_MEDIA[media]
    body = await _rdf(pub, node, fmt)
    return Response(body, media_type=CONTENT_TYPES[fmt], headers={"Vary": "Accept"})
