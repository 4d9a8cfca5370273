"""Per-client request rates (the `limits` library's moving windows): a flood gets 429 with Retry-After.

The client is the connection's peer address; behind a reverse proxy, run uvicorn with
--proxy-headers / --forwarded-allow-ips so that this is the real client. Loopback clients are exempt
unless configured otherwise (a local proxy would otherwise share one budget for everyone).
"""

from __future__ import annotations

import ipaddress
import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import error_response

EXEMPT_PATHS = ("/health", "/static/")  # liveness probes and the pages' assets


@lru_cache(maxsize=4096)  # asked twice a request; parsing the address costs more than the rest of the check
def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")  # (Starlette's TestClient)


def client_key(scope: Scope, loopback: bool) -> str | None:
    """Whom a request counts against: its peer address, or None for an exempt loopback client."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    return None if not loopback and _is_loopback(host) else host


class RateLimit:
    def __init__(self, app: ASGIApp, rates: str, loopback: bool = False) -> None:
        self.app = app
        self.items: list[RateLimitItem] = parse_many(rates) if rates else []
        self.loopback = loopback
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _retry_after(self, key: str) -> int:
        waits = [
            stats.reset_time - time.time()
            for stats in (self.limiter.get_window_stats(item, key) for item in self.items)
            if stats.remaining <= 0
        ]
        return max(1, math.ceil(max(waits, default=1)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.items or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        host = client_key(scope, self.loopback)
        if host is None:
            await self.app(scope, receive, send)
            return
        if all(self.limiter.hit(item, host) for item in self.items):
            await self.app(scope, receive, send)
            return
        retry = self._retry_after(host)
        limits = "; ".join(str(item) for item in self.items)
        message = f"too many requests from {host} (limit: {limits}); retry in {retry} s"
        await error_response(Request(scope), 429, message, {"Retry-After": str(retry)})(scope, receive, send)
