"""`/forest`: forest plots of the stored query `forest-plot` (a page with its form, and `.svg` / `.png` downloads)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from kg.querylib import StoredQuery
from service import forest, forest_plot, query_forms
from service.errors import ApiError
from service.presentation import templates
from service.published import Published, published

router = APIRouter(tags=["pages"])

MEDIA = {"svg": "image/svg+xml", "png": "image/png"}
PLOT_DOC = (
    "Filters are the parameters of the stored query `forest-plot` (see /queries/forest-plot): endpoint, age_group, "
    "ph_status, setting, salvage_line, evidence_kind, arm."
)


def _query(pub: Published) -> StoredQuery:
    query = pub.queries.get(forest.QUERY)
    if query is None:
        raise ApiError(404, f"this service has no stored query {forest.QUERY!r}, so no forest plots")
    return query


FILTER_WORDS = {"ph_status": "Ph-{}", "salvage_line": "{} salvage", "evidence_kind": "{} evidence", "arm": "{} arm"}


def _title(given: dict[str, str], query: StoredQuery) -> str:
    endpoint = given.get("endpoint") or query.parameter("endpoint").default or "all endpoints"
    filters = [FILTER_WORDS.get(p.name, "{}").format(given[p.name]) for p in query.parameters if p.name != "endpoint" and given.get(p.name)]
    return f"Median {endpoint}" + (": " + ", ".join(filters) if filters else ": all cohorts")


async def _draw(pub: Published, given: dict[str, str], fmt: str) -> tuple[list[forest.ForestRow], bytes, str]:
    query = _query(pub)
    rows = await forest.fetch(pub, query, given)
    title = _title(given, query)
    endpoint = given.get("endpoint") or query.parameter("endpoint").default or ""

    def draw() -> bytes:  # matplotlib: CPU work, off the event loop
        return forest_plot.render(forest_plot.figure(rows, title, endpoint), fmt)

    return rows, await run_in_threadpool(draw), title


@router.get("/forest", response_class=HTMLResponse, summary="Forest plot page", description=PLOT_DOC)
async def forest_page(request: Request, pub: Published = Depends(published)) -> Response:
    """A form of filters, the plot (inline SVG: every point links to its study), and the rows as a table."""
    query = _query(pub)
    given = query_forms.values(query, request.query_params)
    rows, svg, title = await _draw(pub, given, "svg")
    inline = svg.decode("utf-8")
    inline = inline[inline.index("<svg") :]  # drop the XML prolog and doctype: it goes inside HTML
    inline = inline.replace(' target="_blank"', "")  # matplotlib's links open new windows; in the page, follow them
    qs = query_forms.query_string(given)
    context = {
        "title": title,
        "fields": query_forms.fields(query, given),
        "rows": rows,
        "svg": inline,
        "svg_url": "/forest.svg" + (f"?{qs}" if qs else ""),
        "png_url": "/forest.png" + (f"?{qs}" if qs else ""),
        "csv_url": f"/queries/{query.name}?" + query_forms.query_string(given, format="csv"),
    }
    return templates.TemplateResponse(request, "forest.html", context)


async def _image(request: Request, pub: Published, fmt: str) -> Response:
    given = query_forms.values(_query(pub), request.query_params)
    _, body, _ = await _draw(pub, given, fmt)
    return Response(body, media_type=MEDIA[fmt], headers={"Content-Disposition": f'inline; filename="forest-plot.{fmt}"'})


@router.get("/forest.svg", summary="Forest plot as SVG", description=PLOT_DOC, responses={200: {"content": {"image/svg+xml": {}}}})
async def forest_svg(request: Request, pub: Published = Depends(published)) -> Response:
    return await _image(request, pub, "svg")


@router.get("/forest.png", summary="Forest plot as PNG", description=PLOT_DOC, responses={200: {"content": {"image/png": {}}}})
async def forest_png(request: Request, pub: Published = Depends(published)) -> Response:
    return await _image(request, pub, "png")
