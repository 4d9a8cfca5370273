"""`/editor`: YASGUI (from the npm registry, served from /static/yasgui) pointed at this service's /sparql."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from kg.vocabulary import PREFIXES
from service.presentation import templates

router = APIRouter(tags=["pages"])

EXAMPLE = """SELECT ?study ?label ?kind WHERE {
  ?study a ekg:Study ; rdfs:label ?label ; ekg:evidenceKind/skos:notation ?kind .
}
ORDER BY ?kind ?label
LIMIT 50"""


def default_query() -> str:
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items()) + "\n" + EXAMPLE


@router.get("/editor", response_class=HTMLResponse, summary="SPARQL editor (YASGUI)")
async def editor(request: Request) -> Response:
    from service.web import YASGUI  # (service.web imports this module)

    context = {"installed": (YASGUI / "yasgui.min.js").is_file(), "prefixes": PREFIXES, "query": default_query()}
    return templates.TemplateResponse(request, "editor.html", context)
