"""Content negotiation: the client's `Accept` q-values (parsed by python-mimeparse) against what we can write."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import mimeparse
from pyoxigraph import QueryResultsFormat, RdfFormat

from service.errors import ApiError

# SELECT / ASK results, in order of preference (the first wins ties and a missing Accept).
RESULT_MEDIA: dict[str, QueryResultsFormat] = {
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/xml": QueryResultsFormat.XML,
    "text/csv": QueryResultsFormat.CSV,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
RESULT_KEYWORDS: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
# CONSTRUCT / DESCRIBE results and single-graph documents.
GRAPH_MEDIA: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/x-turtle": RdfFormat.TURTLE,
    "text/plain": RdfFormat.N_TRIPLES,
}
GRAPH_KEYWORDS: dict[str, str] = {
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "xml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
}
# What each written format is labelled with (aliases are answered with the canonical type).
CONTENT_TYPES: dict[object, str] = {
    QueryResultsFormat.JSON: "application/sparql-results+json",
    QueryResultsFormat.XML: "application/sparql-results+xml",
    QueryResultsFormat.CSV: "text/csv; charset=utf-8",
    QueryResultsFormat.TSV: "text/tab-separated-values; charset=utf-8",
    RdfFormat.TURTLE: "text/turtle; charset=utf-8",
    RdfFormat.N_TRIPLES: "application/n-triples",
    RdfFormat.N_QUADS: "application/n-quads",
    RdfFormat.TRIG: "application/trig",
    RdfFormat.JSON_LD: "application/ld+json",
    RdfFormat.RDF_XML: "application/rdf+xml",
}


def negotiate(accept: str | None, offers: Sequence[str]) -> str:
    """The offer the client prefers; the first offer on ties or without `Accept`; 406 when none is acceptable."""
    if not accept or not accept.strip():
        return offers[0]
    best = _best(accept, tuple(offers))
    if best is None:
        raise ApiError(400, f"malformed Accept header: {accept[:200]!r}")
    if not best:
        raise ApiError(406, f"cannot answer with any of {accept[:200]!r}; available: {', '.join(offers)}")
    return best


@lru_cache(maxsize=512)
def _best(accept: str, offers: tuple[str, ...]) -> str | None:
    """mimeparse's choice ('' for none acceptable, None for a malformed header), cached: clients send the
    same few Accept headers, and parsing one costs more than the rest of a small query's overhead."""
    try:
        # mimeparse resolves ties in favour of the *last* candidate, so hand it our preference reversed.
        return mimeparse.best_match(list(reversed(offers)), accept) or ""
    except (ValueError, IndexError, mimeparse.MimeTypeParseException):
        return None


def by_keyword(keyword: str, table: dict[str, str]) -> str:
    try:
        return table[keyword]
    except KeyError:
        raise ApiError(400, f"format must be one of {', '.join(table)}, not {keyword[:50]!r}") from None
