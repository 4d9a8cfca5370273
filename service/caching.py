"""HTTP validators for immutable releases: ETag / Last-Modified and the 304 they allow."""

from __future__ import annotations

import email.utils

from starlette.requests import Request
from starlette.responses import Response


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def not_modified(request: Request, etag: str, last_modified: str) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since only counts without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etag)
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def validators(etag: str, last_modified: str, vary: str = "Accept") -> dict[str, str]:
    return {"ETag": etag, "Last-Modified": last_modified, "Vary": vary, "Cache-Control": "public, max-age=300"}


def not_modified_response(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers=headers)
