"""`/gallery`: the stored queries for people - description, a form for the parameters, results as a table, CSV."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, Response

from kg.querylib import QueryError, StoredQuery
from service import query_forms
from service.errors import ApiError
from service.page_queries import select
from service.presentation import templates, term_view
from service.published import Published, published

router = APIRouter(tags=["pages"])

MAX_ROWS = 2000  # shown in the page; the CSV link has them all
RUN = "run"  # the form's submit marker: without it the page only shows the form


async def _results(pub: Published, query: StoredQuery, given: dict[str, str]) -> dict:
    try:
        text = query.bind(given)
    except QueryError as exc:
        raise ApiError(400, str(exc)) from None
    result, more = await select(pub, text, MAX_ROWS)
    columns = [v.value for v in result.variables]
    rows = [[term_view(solution[c]) if solution[c] is not None else None for c in columns] for solution in result]
    return {"columns": columns, "rows": rows, "more": more}


@router.get("/gallery", response_class=HTMLResponse, summary="The stored queries, for browsers")
async def gallery(request: Request, pub: Published = Depends(published)) -> Response:
    queries = sorted(pub.queries.values(), key=lambda q: (q.is_violation_check, q.name))
    return templates.TemplateResponse(request, "gallery.html", {"queries": queries})


@router.get("/gallery/{name}", response_class=HTMLResponse, summary="One stored query: its form and results")
async def gallery_query(request: Request, name: str, pub: Published = Depends(published)) -> Response:
    query = pub.queries.get(name)
    if query is None:
        raise ApiError(404, f"no stored query named {name[:100]!r} (see /gallery)")
    given = query_forms.values(query, request.query_params, reserved=(RUN,))
    ran = RUN in request.query_params
    results = await _results(pub, query, given) if ran else None
    context = {
        "query": query,
        "fields": query_forms.fields(query, given),
        "results": results,
        "csv_url": f"/queries/{query.name}?" + query_forms.query_string(given, format="csv"),
        "json_url": f"/queries/{query.name}?" + query_forms.query_string(given, format="json"),
    }
    return templates.TemplateResponse(request, "gallery_query.html", context)
