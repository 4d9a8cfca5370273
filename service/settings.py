"""The service's limits and switches, read once from the environment (see SECURITY notes in issue 9)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class Settings:
    # Request bodies (form or sparql-query) larger than this are refused with 413 before being read whole.
    max_body_bytes: int = 256 * 1024
    # Longer queries are refused with 413: the query checker's cost grows with the text.
    max_query_chars: int = 64 * 1024
    # How many distinct query texts keep their (costly) safety check cached.
    check_cache_size: int = 512

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            max_body_bytes=_int("KG_MAX_BODY_BYTES", cls.max_body_bytes),
            max_query_chars=_int("KG_MAX_QUERY_CHARS", cls.max_query_chars),
            check_cache_size=_int("KG_CHECK_CACHE_SIZE", cls.check_cache_size),
        )
