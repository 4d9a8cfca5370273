"""One query layer, two engines: the embedded Oxigraph store or any SPARQL 1.1 endpoint.

Both return pyoxigraph result objects, so every output format is written by one serializer and the
same query gives byte-identical CSV on either engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, QueryTriples, Store, parse_query_results

from kg import paths
from kg.release import current


class EngineError(RuntimeError):
    pass


Result = QuerySolutions | QueryBoolean | QueryTriples


@dataclass
class EmbeddedEngine:
    store: Store

    @classmethod
    def open(cls, home: Path | None = None) -> EmbeddedEngine:
        return cls(current(home or paths.home()).open_store())

    def select(self, query: str) -> Result:
        try:
            return self.store.query(query, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise EngineError(f"SPARQL syntax error: {exc}") from None


@dataclass
class RemoteEngine:
    """A SPARQL 1.1 endpoint reached with SPARQLWrapper; results come back as SPARQL JSON."""

    endpoint: str
    timeout: float = 60.0

    def select(self, query: str) -> Result:
        from SPARQLWrapper import JSON, POST, SPARQLWrapper  # imported here: only remote runs need it

        client = SPARQLWrapper(self.endpoint)
        client.setMethod(POST)
        client.setReturnFormat(JSON)
        client.setTimeout(int(self.timeout))
        # SPARQLWrapper guesses the query form by keyword and is misled by words in comments ("add",
        # "drop"), then sends a SELECT as an update; whole-line comments are documentation: leave them out.
        client.setQuery("\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#")))
        try:
            raw = client.query().response.read()
        except Exception as exc:  # SPARQLWrapper raises many types; the user needs the message either way
            raise EngineError(f"{self.endpoint}: {exc}") from None
        return parse_query_results(raw, format=QueryResultsFormat.JSON)


Engine = EmbeddedEngine | RemoteEngine


def engine_for(endpoint: str | None, home: Path | None = None) -> Engine:
    if endpoint is None:
        return EmbeddedEngine.open(home)
    url = urlparse(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise EngineError(f"--endpoint {endpoint!r} is not an http(s) URL of a SPARQL endpoint")
    return RemoteEngine(endpoint)
