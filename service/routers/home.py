"""`/`: a home page for browsers (what the graph holds, where everything is); other clients keep the JSON index."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from kg.export import EXPORT_FORMATS
from service.negotiation import negotiate
from service.page_queries import select
from service.presentation import templates
from service.published import Published, published
from service.routers import meta

router = APIRouter(tags=["pages"])

OFFERS = ["application/json", "text/html"]  # JSON first: `curl /` and API clients see what they always saw
COVERAGE = ("coverage-by-evidence-kind", "coverage-by-table")
COUNTED = ("studies", "cohorts", "outcome_measurements", "response_measurements", "adverse_event_incidences", "comparisons")
GRAPH_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
FOREST_EXAMPLES = [
    ("Median OS, adults with Ph-negative R/R B-ALL", "endpoint=OS&age_group=adult&ph_status=negative&setting=relapsed-refractory"),
    ("Median OS, pediatric patients", "endpoint=OS&age_group=pediatric"),
    ("Median RFS, MRD-positive B-ALL", "endpoint=RFS&setting=mrd-positive"),
    ("Median OS, first vs later salvage", "endpoint=OS&salvage_line=first"),
    ("Median OS, real-world evidence", "endpoint=OS&evidence_kind=real-world"),
]


async def _table(pub: Published, name: str) -> tuple[list[str], list[dict[str, str]]]:
    query = pub.queries.get(name)
    if query is None:
        return [], []
    result, _ = await select(pub, query.bind())
    columns = [v.value for v in result.variables]
    return columns, [{c: (s[c].value if s[c] is not None else "") for c in columns} for s in result]


async def _graph_counts(pub: Published) -> tuple[int, dict[str, int]]:
    """Triples in all graphs and in each: the release's, or (a remote endpoint's, which `kg push` changes) counted now."""
    if pub.remote is None:
        return pub.triples, pub.graph_triples
    result, _ = await select(pub, GRAPH_COUNTS)
    counts = {s["g"].value: int(s["n"].value) for s in result}
    graphs = {name: counts.get(iri, 0) for name, iri in pub.graphs.items()}
    return sum(graphs.values()), graphs


async def _context(pub: Published) -> dict:
    by_kind = await _table(pub, COVERAGE[0])
    by_table = await _table(pub, COVERAGE[1])
    triples, graphs = await _graph_counts(pub)
    # Every study has exactly one evidence kind, so the kinds' rows add up to the graph's totals.
    totals = {c: sum(int(r[c] or 0) for r in by_kind[1]) for c in COUNTED} if by_kind[1] else {}
    return {
        "release": pub.release_id,
        "triples": triples,
        "graphs": graphs,
        "totals": totals,
        "by_kind": by_kind,
        "by_table": by_table,
        "counted": COUNTED,
        "queries": len(pub.queries),
        "forest_examples": FOREST_EXAMPLES,
        "export_formats": EXPORT_FORMATS,
    }


@router.get("/", summary="Home page (HTML) or the JSON index of the service", include_in_schema=False)
async def home(request: Request, pub: Published = Depends(published)) -> Response:
    if negotiate(request.headers.get("accept"), OFFERS) != "text/html":
        return JSONResponse(await meta.index(pub), headers={"Vary": "Accept"})
    context = await _context(pub)
    return templates.TemplateResponse(request, "home.html", context, headers={"Vary": "Accept"})
