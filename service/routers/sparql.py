"""`/sparql`: the SPARQL 1.1 Protocol, query operation only (GET, POST form, POST application/sparql-query)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import MultiDict
from starlette.responses import Response

from service.checking import READ_ONLY, CheckedQuery
from service.errors import ApiError
from service.execution import DatasetChoice, Outcome, Refusal, Task
from service.negotiation import CONTENT_TYPES, GRAPH_MEDIA, RESULT_MEDIA, negotiate
from service.published import Published, published
from service.ratelimit import client_key

router = APIRouter(tags=["SPARQL"])

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
RESULT_OFFERS = list(RESULT_MEDIA)
GRAPH_OFFERS = list(GRAPH_MEDIA)
FORMATS_DOC = (
    "SELECT/ASK: application/sparql-results+json (default), application/sparql-results+xml, text/csv, text/tab-separated-values. "
    "CONSTRUCT/DESCRIBE: text/turtle (default), application/n-triples, application/ld+json, application/rdf+xml."
)
RESPONSES = {
    200: {
        "description": "query results; " + FORMATS_DOC,
        "content": {m: {} for m in ("application/sparql-results+json", "text/csv", "text/turtle")},
    },
    400: {"description": "malformed query (the parser's message), or FROM / graph URIs outside this dataset"},
    403: {"description": "an update, or SERVICE: this endpoint is read-only and never calls out"},
    406: {"description": "no acceptable result format"},
    413: {"description": "request body or query too long"},
    415: {"description": "unsupported Content-Type"},
    429: {"description": "too many requests from this client (see Retry-After)"},
    503: {"description": "the query ran past the time limit and was cancelled, or every query worker stayed busy (see Retry-After)"},
}


def _one_query(fields: MultiDict) -> str:
    if fields.getlist("update"):
        raise ApiError(403, READ_ONLY)
    queries = fields.getlist("query")
    if not queries:
        raise ApiError(400, "missing `query` parameter (SPARQL 1.1 Protocol: exactly one query)")
    if len(queries) > 1:
        raise ApiError(400, "more than one `query` parameter")
    return queries[0]


def _dataset(fields: MultiDict, pub: Published) -> DatasetChoice:
    default, named = fields.getlist("default-graph-uri"), fields.getlist("named-graph-uri")
    for iri in (*default, *named):
        if iri not in pub.checker.allowed_graphs:
            raise ApiError(400, f"graph <{iri[:300]}> is not one of this dataset's graphs: {', '.join(sorted(pub.checker.allowed_graphs))}")
    if not default and not named:
        return DatasetChoice()
    return DatasetChoice(default=tuple(default), named=tuple(named))


def _choice(accept: str | None, offers: list[str]) -> str | Refusal:
    try:
        return negotiate(accept, offers)
    except ApiError as exc:  # matters only if the query turns out to be of this form
        return Refusal(exc.status, exc.message)


def answer_response(outcome: Outcome, pub: Published) -> Response:
    """The worker's bytes, labelled; a cut-off answer says so (X-Result-Truncated / X-Result-Limit)."""
    fmt = RESULT_MEDIA.get(outcome.media) or GRAPH_MEDIA[outcome.media]
    headers = {"Vary": "Accept"}
    if outcome.truncated:
        headers["X-Result-Truncated"] = "true"
        headers["X-Result-Limit"] = str(pub.settings.max_rows)
    return Response(outcome.body, media_type=CONTENT_TYPES[fmt], headers=headers)


async def run_sparql(request: Request, pub: Published, text: str, dataset: DatasetChoice) -> Response:
    if len(text) > pub.settings.max_query_chars:
        raise ApiError(413, f"query longer than {pub.settings.max_query_chars} characters")
    accept = request.headers.get("accept")
    known = pub.checker.cached(text)
    task = Task(
        text=text,
        result_media=_choice(accept, RESULT_OFFERS),
        graph_media=_choice(accept, GRAPH_OFFERS),
        dataset=dataset,
        check=known is None,  # the safety check runs in the worker, under the query's deadline
        has_own_dataset=bool(known and known.has_dataset),
        max_rows=pub.settings.max_rows,
        remote=pub.remote,
        verdict=known,
    )
    outcome = await pub.pool.run(task, client_key(request.scope, pub.settings.rate_limit_loopback))
    if known is None and outcome.form is not None:
        pub.checker.remember(text, outcome.verdict or CheckedQuery(form=outcome.form, has_dataset=outcome.has_own_dataset))
    return answer_response(outcome, pub)


GET_PARAMETERS = [
    {
        "name": "query",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "the SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE)",
    },
    *(
        {"name": name, "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}}, "description": doc}
        for name, doc in (
            ("default-graph-uri", "a graph of this dataset to use as (part of) the default graph (repeatable)"),
            ("named-graph-uri", "a graph of this dataset to make available to GRAPH (repeatable)"),
        )
    ),
]


# The parameters are read from the raw query string (the protocol's repeatable names and its
# "exactly one query" rule), and documented through openapi_extra: no per-request model validation.
@router.get("/sparql", summary="SPARQL 1.1 query (GET)", responses=RESPONSES, openapi_extra={"parameters": GET_PARAMETERS})
async def sparql_get(request: Request) -> Response:
    """Run a query given in the URL.

    Without `default-graph-uri`/`named-graph-uri` (or FROM), the default graph is the union of all graphs."""
    pub: Published = request.app.state.published
    fields = request.query_params
    return await run_sparql(request, pub, _one_query(fields), _dataset(fields, pub))


@router.post(
    "/sparql",
    summary="SPARQL 1.1 query (POST)",
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM: {"schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}},
                SPARQL_QUERY: {"schema": {"type": "string"}},
            },
        }
    },
)
async def sparql_post(request: Request, pub: Published = Depends(published)) -> Response:
    """Run a query sent form-encoded (`query=`) or directly as `application/sparql-query`."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == SPARQL_UPDATE:
        raise ApiError(403, READ_ONLY)
    if media not in (FORM, SPARQL_QUERY):
        raise ApiError(415, f"unsupported Content-Type {media or '(none)'!r}: send {FORM} or {SPARQL_QUERY}")
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"request body is not UTF-8 (byte {exc.start})") from None
    if media == SPARQL_QUERY:
        fields = request.query_params
        if fields.getlist("update"):
            raise ApiError(403, READ_ONLY)
        return await run_sparql(request, pub, text, _dataset(fields, pub))
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8", errors="strict", max_num_fields=100)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed form body: {exc}") from None
    fields = MultiDict(pairs + list(request.query_params.multi_items()))
    return await run_sparql(request, pub, _one_query(fields), _dataset(fields, pub))
