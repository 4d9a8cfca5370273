"""Request limits applied before any route runs: body size, query-string size and encoding."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ApiError, error_response

HIGH_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")  # a %-escape of a byte over 0x7F


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyLimit:
    """413 for a declared Content-Length over the limit; a streamed body is cut off as soon as it passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            text = declared.decode("latin-1").strip()
            if not text.isdigit() or int(text) > self.max_bytes:
                message = f"request body larger than {self.max_bytes} bytes" if text.isdigit() else "malformed Content-Length"
                status = 413 if text.isdigit() else 400
                await error_response(Request(scope), status, message)(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class QueryStringCheck:
    """414 for a query string over the limit; 400 when its %-escapes are not UTF-8 (they would turn into U+FFFD)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("query_string", b"") if scope["type"] == "http" else b""
        problem = None
        if len(raw) > self.max_bytes:
            problem = 414, f"query string longer than {self.max_bytes} bytes: send long queries with POST"
        elif raw.isascii() and not HIGH_ESCAPE.search(raw):
            pass  # ASCII once decoded, so UTF-8: the usual case, known without decoding it
        else:
            try:
                unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = 400, f"query string is not UTF-8 once %-decoded (byte {exc.start})"
        if problem is None:
            await self.app(scope, receive, send)
            return
        await error_response(Request(scope), *problem)(scope, receive, send)
