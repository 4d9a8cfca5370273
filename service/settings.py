"""The service's limits and switches, read once from the environment (SECURITY.md lists them with their defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kg.engine import DATASETS, check_endpoint


def _raw(name: str) -> str | None:
    raw = os.environ.get(name)
    return None if raw is None or raw.strip() == "" else raw.strip()


def _int(name: str, default: int) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


def _float(name: str, default: float, *, zero: bool = False) -> float:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not (value > 0 or (zero and value == 0)) or value != value or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be {'zero or ' if zero else ''}a positive number")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r} is not a yes/no value (1, 0, true, false)")


def _rate(name: str, default: str) -> str:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() == "off":
        return ""
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a rate such as '120/minute' or '10/second;300/hour' (or 'off')") from None
    return raw


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise ValueError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw.lower()


def _endpoint(name: str) -> str | None:
    raw = _raw(name)
    if raw is None:
        return None
    try:
        return check_endpoint(raw)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    # Request bodies (form or sparql-query) larger than this are refused with 413 before being read whole.
    max_body_bytes: int = 256 * 1024
    # Longer queries are refused with 413: the safety check's cost grows with the text.
    max_query_chars: int = 64 * 1024
    # How many distinct query texts keep their (costly) safety check cached.
    check_cache_size: int = 512
    # Wall-clock limit for one query (safety check + evaluation + serialization) in a worker; the worker
    # is killed at the deadline and the client gets 503. Also the longest a query waits for a free worker.
    query_timeout: float = 10.0
    # SELECT rows / CONSTRUCT triples returned at most; more is cut off and flagged (X-Result-Truncated).
    max_rows: int = 10_000
    # Worker processes that run queries (each opens the store read-only).
    query_workers: int = max(2, min(4, os.cpu_count() or 2))
    # Queries one client (IP) may have running at once; its others wait their turn. 0 = half the workers (at least 1).
    queries_per_client: int = 0
    # Address-space limit of one worker process: a query that needs more dies alone (503), not the server.
    worker_memory_mb: int = 2048
    # Per-client-IP request rate (limits library syntax, e.g. "120/minute;20/second"); "" = off.
    rate_limit: str = "300/minute;30/second"
    # Loopback clients (tests, the bench, a local reverse proxy) are exempt from both per-client limits unless this is set.
    rate_limit_loopback: bool = False
    # Bearer token for POST /admin/reload; None (the default) = no admin route at all.
    admin_token: str | None = None
    # Origins allowed by CORS on the read-only routes ("*" = any); empty = no CORS headers.
    cors_origins: tuple[str, ...] = ("*",)
    # Seconds between checks of the `current` symlink (a rebuild is picked up without a restart); 0 = off.
    watch_seconds: float = 2.0
    # A SPARQL 1.1 query endpoint to serve instead of the local release (`kg serve --endpoint`); None = the
    # embedded store. Queries get the same checks and limits, then go there (docs/remote-engines.md).
    endpoint: str | None = None
    # How the endpoint's queries see the release's graphs as one default graph: "store" (its own default graph is
    # their union: Oxigraph --union-default-graph, Virtuoso...) or "release" (each query names them: slower, works anywhere).
    endpoint_dataset: str = "store"

    @classmethod
    def from_env(cls) -> Settings:
        token = _raw("KG_ADMIN_TOKEN")
        if token is not None and len(token) < 16:
            raise ValueError("KG_ADMIN_TOKEN must be at least 16 characters")
        origins = _raw("KG_CORS_ORIGINS")
        return cls(
            max_body_bytes=_int("KG_MAX_BODY_BYTES", cls.max_body_bytes),
            max_query_chars=_int("KG_MAX_QUERY_CHARS", cls.max_query_chars),
            check_cache_size=_int("KG_CHECK_CACHE_SIZE", cls.check_cache_size),
            query_timeout=_float("KG_QUERY_TIMEOUT", cls.query_timeout),
            max_rows=_int("KG_MAX_ROWS", cls.max_rows),
            query_workers=_int("KG_QUERY_WORKERS", cls.query_workers),
            queries_per_client=_int("KG_QUERIES_PER_CLIENT", cls.queries_per_client),
            worker_memory_mb=_int("KG_WORKER_MEMORY_MB", cls.worker_memory_mb),
            rate_limit=_rate("KG_RATE_LIMIT", cls.rate_limit),
            rate_limit_loopback=_bool("KG_RATE_LIMIT_LOOPBACK", cls.rate_limit_loopback),
            admin_token=token,
            cors_origins=cls.cors_origins if origins is None else tuple(o.strip() for o in origins.split(",") if o.strip() and o != "off"),
            watch_seconds=_float("KG_WATCH_SECONDS", cls.watch_seconds, zero=True),
            endpoint=_endpoint("KG_ENDPOINT"),
            endpoint_dataset=_choice("KG_ENDPOINT_DATASET", cls.endpoint_dataset, DATASETS),
        )
