"""HTML forms for stored queries: one field per `#+` parameter (enums as selects), and the values a request gives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from kg.querylib import StoredQuery
from service.errors import ApiError


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    allowed: tuple[str, ...]
    default: str | None
    required: bool
    example: str | None
    value: str  # what the form shows now ("" for "no filter")


def values(query: StoredQuery, params: Mapping[str, str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """The non-empty parameter values of a request; 400 naming an unknown parameter."""
    known = {p.name for p in query.parameters}
    unknown = sorted(set(params) - known - set(reserved))
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise ApiError(400, f"query {query.name!r} has no parameter {unknown[0][:100]!r} (parameters: {names})")
    return {name: params[name] for name in known if params.get(name, "") != ""}


def fields(query: StoredQuery, given: Mapping[str, str]) -> list[Field]:
    return [
        Field(
            name=p.name,
            type=p.type,
            description=p.description,
            allowed=p.allowed,
            default=p.default,
            required=p.required,
            example=p.example,
            value=given.get(p.name, p.default or ""),
        )
        for p in query.parameters
    ]


def query_string(given: Mapping[str, str], **extra: str) -> str:
    return urlencode({**given, **extra})
