"""Errors as the client expects them: JSON `{"error", "status"}`, or plain text for SPARQL clients.

Every exception ends here, so no response body ever carries a traceback.
"""

from __future__ import annotations

import logging

import mimeparse
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

log = logging.getLogger("service")


class ApiError(Exception):
    """A refusal with an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def wants_plain_text(request: Request) -> bool:
    """SPARQL clients (Fuseki, Oxigraph and SPARQLWrapper conventions) get text; others get JSON."""
    if not request.url.path.startswith("/sparql"):
        return False
    accept = request.headers.get("accept", "")
    if "sparql" in accept or not accept:
        return True
    try:
        return mimeparse.best_match(["application/json", "text/plain"], accept) != "application/json"
    except (ValueError, mimeparse.MimeTypeParseException):
        return True


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if wants_plain_text(request):
        return PlainTextResponse(message + "\n", status_code=status, headers=headers)
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body"))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg", "invalid")))
    return "invalid request: " + "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        return error_response(request, exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 400, _validation_message(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal error (logged on the server)")
