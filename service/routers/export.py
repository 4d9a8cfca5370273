"""`/export`: the whole release, or one named graph, in any RDF format, cacheable by ETag."""

from __future__ import annotations

import tempfile
import threading
from enum import Enum
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from kg.export import EXPORT_FORMATS, MEDIA_TYPES, SUFFIXES, TooLarge, check_size, export_file
from kg.release import Release
from service.caching import not_modified, not_modified_response, validators
from service.errors import ApiError
from service.negotiation import by_keyword, negotiate
from service.published import Published, published

router = APIRouter(tags=["export"])

OFFERS = [MEDIA_TYPES[k] for k in ("turtle", "nt", "nq", "trig", "jsonld", "xml")]
KEYWORD_MEDIA = {k: MEDIA_TYPES[k] for k in EXPORT_FORMATS}
MEDIA_KEYWORD = {m: k for k, m in KEYWORD_MEDIA.items()}
ExportFormat = Enum("ExportFormat", {k: k for k in EXPORT_FORMATS}, type=str)  # type: ignore[misc]
GraphName = Enum("GraphName", {k: k for k in ("ontology", "data", "mappings", "provenance")}, type=str)  # type: ignore[misc]
FormatParam = Annotated[
    ExportFormat | None, Query(description="turtle, nt, nq, trig, jsonld or xml; otherwise by Accept (Turtle by default)")
]
RESPONSES = {
    200: {"content": {m: {} for m in OFFERS}},
    304: {"description": "not modified (If-None-Match)"},
    406: {"description": "no acceptable format"},
    413: {"description": "JSON-LD of a release larger than KG_JSONLD_MAX_TRIPLES (other formats stream at any size)"},
}


_writing = threading.Lock()


def _file(release: Release, fmt: str, graph: str | None, label: str) -> FilePath:
    """The export as a file, written once per release (a release never changes) and then served from
    disk: a 10^7-triple release is streamed to the client, never held in the server's memory."""
    folder = release.path / "exports"
    path = folder / f"{label}.{SUFFIXES[fmt]}"
    with _writing:  # one writer at a time: two requests for a new export must not share its .part file
        if not path.exists():
            try:
                folder.mkdir(exist_ok=True)
            except OSError:  # a read-only release folder: keep the exports in a temporary one instead
                folder = FilePath(tempfile.gettempdir()) / "kg-exports" / release.path.name
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / path.name
            if not path.exists():
                export_file(release, fmt, path, graph=graph)
    return path


async def _export(request: Request, pub: Published, fmt_param: Enum | None, graph: str | None, label: str) -> Response:
    release = pub.local_release("dump to download")
    media = by_keyword(fmt_param.value, KEYWORD_MEDIA) if fmt_param is not None else negotiate(request.headers.get("accept"), OFFERS)
    fmt = MEDIA_KEYWORD[media]
    etag = f'"{pub.sha256}-{label}-{fmt}"'  # one release, many representations: each has its own tag
    headers = validators(etag, pub.last_modified, vary="Accept")  # GZipMiddleware adds Accept-Encoding
    if not_modified(request, etag, pub.last_modified):
        return not_modified_response(headers)
    try:
        check_size(release, fmt)
    except TooLarge as exc:
        raise ApiError(413, str(exc)) from None
    path = await run_in_threadpool(_file, release, fmt, graph, label)
    headers["Content-Disposition"] = f'inline; filename="evidence-kg-{label}.{SUFFIXES[fmt]}"'
    return FileResponse(path, media_type=media, headers=headers)


@router.get("/export", summary="The whole graph", responses=RESPONSES)
async def export_all(request: Request, format: FormatParam = None, pub: Published = Depends(published)) -> Response:
    """All four graphs: merged into one graph for triple formats, as named graphs for N-Quads and TriG."""
    return await _export(request, pub, format, None, "all")


@router.get("/export/{graph}", summary="One named graph", responses=RESPONSES)
async def export_graph(
    request: Request,
    graph: Annotated[GraphName, Path(description="ontology, data, mappings or provenance")],
    format: FormatParam = None,
    pub: Published = Depends(published),
) -> Response:
    """One of the release's named graphs."""
    return await _export(request, pub, format, pub.graphs[graph.value], graph.value)
