"""One query layer, two engines: the embedded Oxigraph store or any SPARQL 1.1 endpoint.

Both return pyoxigraph result objects, so every output format is written by one serializer and the
same query gives byte-identical CSV on either engine.

A remote query is one POST of the SPARQL 1.1 Protocol, sent by SPARQLWrapper. The stored queries read the default graph as the
union of the release's graphs (the embedded store runs them with `use_default_graph_as_union`); a remote
store gives them that in one of two ways (docs/remote-engines.md):
- "store" (the default): its own default graph is the union of its graphs (Virtuoso, GraphDB, Neptune do
  this by default; Oxigraph with `--union-default-graph`, Fuseki with `unionDefaultGraph`). Fastest.
- "release": each query names the release's four graphs as `default-graph-uri` and `named-graph-uri`.
  Right on any store, whatever its default graph, and the store's other graphs stay out of sight; but
  stores evaluate such a dataset more slowly (measured: Oxigraph 1.5-4x, Virtuoso up to 25x).
"""

from __future__ import annotations

import ast
import contextlib
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from pyoxigraph import (
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    parse,
    parse_query_results,
)

from kg import paths
from kg import vocabulary as v
from kg.release import current


class EngineError(RuntimeError):
    """The query got no answer; `status` is what the HTTP service answers with (502: the endpoint failed)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


Result = QuerySolutions | QueryBoolean | QueryTriples | Iterator[Triple]


def is_table(result: Result) -> bool:
    """SELECT / ASK answers (a results table or a boolean), as opposed to CONSTRUCT / DESCRIBE triples."""
    return isinstance(result, (QuerySolutions, QueryBoolean))


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


# What we ask a remote store for: formats Oxigraph reads back losslessly (CSV is lossy), the best supported first.
ACCEPT_TABLE = "application/sparql-results+json, application/sparql-results+xml;q=0.9, text/tab-separated-values;q=0.8"
ACCEPT_GRAPH = "application/n-triples;q=0.95, text/turtle;q=0.9, application/rdf+xml;q=0.8"
ACCEPT_ANY = f"{ACCEPT_TABLE}, {ACCEPT_GRAPH}"  # the query form is not known (trusted text that skipped the parser)


DATASETS = ("store", "release")
_STATUS = {"QueryBadFormed": 400, "Unauthorized": 401, "EndPointNotFound": 404, "URITooLong": 414, "EndPointInternalError": 500}
ONTOLOGY = v.BASE + "ontology"  # the ontology's IRI, a subject in every release's ontology graph


def check_endpoint(url: str) -> str:
    """`url` if it can be a SPARQL endpoint (an absolute http(s) URL), else ValueError saying why."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL of a SPARQL endpoint (e.g. http://localhost:7878/query)")
    return url


@dataclass(frozen=True)
class RemoteEngine:
    """A SPARQL 1.1 endpoint (its query URL), reached by POST; answers are parsed by Oxigraph as they stream in."""

    endpoint: str
    timeout: float = 60.0  # seconds for connecting, and then between two reads of the answer
    dataset: str = "store"  # "store": its default graph is the union of its graphs; "release": name our graphs per query

    def __post_init__(self) -> None:
        try:
            check_endpoint(self.endpoint)
        except ValueError as exc:
            raise EngineError(str(exc), 400) from None
        if self.dataset not in DATASETS:
            raise EngineError(f"dataset must be one of {', '.join(DATASETS)}, not {self.dataset!r}", 400)

    def select(self, query: str) -> Result:
        """The whole answer of a query on the release's graphs (what `kg query --endpoint` runs)."""
        return self.query(query, use_default_graph_as_union=True)

    def query(self, text: str, *, use_default_graph_as_union: bool = False) -> Result:
        """A SELECT or ASK read as pyoxigraph.Store.query reads (the pages call this on the store they are given): the answer whole."""
        own = not use_default_graph_as_union  # the store's own default graph, as the embedded store's is without the flag
        with self.answer(text, own_dataset=own, accept=ACCEPT_TABLE) as result:
            try:  # read it all here, where a malformed answer is still the endpoint's fault
                if isinstance(result, QuerySolutions):  # (kept as TSV: Oxigraph's lossless text, read back as solutions)
                    return parse_query_results(result.serialize(format=QueryResultsFormat.TSV) or b"", format=QueryResultsFormat.TSV)
                return result if isinstance(result, QueryBoolean) else iter(list(result))
            except OSError as exc:
                raise self.failure(exc) from None
            except (SyntaxError, ValueError) as exc:
                raise self.malformed(exc) from None

    def problem(self, timeout: float = 1.0) -> str | None:
        """Why the endpoint cannot answer the stored queries now (None: it can): it is down or silent, holds no
        release, or its default graph is not the union of its graphs (two lookups of the ontology's IRI)."""
        probe = RemoteEngine(self.endpoint, min(timeout, self.timeout), self.dataset)
        try:
            if not probe.ask(f"ASK {{ GRAPH ?g {{ <{ONTOLOGY}> ?p ?o }} }}", own_dataset=True):
                return f"the SPARQL endpoint {self.endpoint} holds no graph of the release: load it with `kg push`"
            if not probe.ask(f"ASK {{ <{ONTOLOGY}> ?p ?o }}"):
                return (
                    f"the default graph of the SPARQL endpoint {self.endpoint} is not the union of its graphs, as the "
                    "stored queries need: start Oxigraph with --union-default-graph (Fuseki: unionDefaultGraph), "
                    "or set KG_ENDPOINT_DATASET=release"
                )
        except EngineError as exc:
            return str(exc)
        return None

    def ask(self, text: str, *, own_dataset: bool = False) -> bool:
        with self.answer(text, own_dataset=own_dataset, accept=ACCEPT_TABLE) as result:
            return bool(result)

    def _dataset(self, default: tuple[str, ...] | None, named: tuple[str, ...] | None, own_dataset: bool) -> dict[str, list[str]]:
        if default is not None or named is not None:  # the caller's protocol dataset, as given
            return {"default-graph-uri": list(default or ()), "named-graph-uri": list(named or ())}
        if own_dataset or self.dataset == "store":  # (FROM / FROM NAMED in the query: a protocol dataset would override them)
            return {}
        ours = [g.value for g in v.GRAPHS.values()]
        return {"default-graph-uri": ours, "named-graph-uri": ours}

    @contextlib.contextmanager
    def answer(
        self,
        text: str,
        *,
        default_graphs: tuple[str, ...] | None = None,
        named_graphs: tuple[str, ...] | None = None,
        own_dataset: bool = False,
        accept: str = ACCEPT_ANY,
    ) -> Iterator[Result]:
        """Send the query (SPARQLWrapper, POST); the answer, parsed lazily from the open response while the
        caller reads it (EngineError if there is none), so that a row cap stops the download.

        Without `default_graphs` / `named_graphs` and unless the query names its own dataset, the release's
        graphs are named as the dataset when `self.dataset` is "release"."""
        from SPARQLWrapper import POST, SPARQLWrapper  # imported here: only remote runs need it
        from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

        client = SPARQLWrapper(self.endpoint, agent="evidence-kg")
        client.setMethod(POST)
        client.setTimeout(int(max(1, self.timeout)))
        # SPARQLWrapper guesses the query form by keyword and is misled by words in comments ("add", "drop"),
        # then sends a SELECT as an update: whole-line comments are documentation, leave them out.
        client.setQuery("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
        client.addCustomHttpHeader("Accept", accept)
        for name, graphs in self._dataset(default_graphs, named_graphs, own_dataset).items():
            for graph in graphs:
                client.addParameter(name, graph)
        try:
            response = client.query().response
        except SPARQLWrapperException as exc:
            raise self._refusal(exc) from None
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc) from None
        except OSError as exc:  # URLError, a refused connection, a timeout
            raise self.failure(exc) from None
        with contextlib.closing(response):
            result = self._parse(response.headers.get("Content-Type", ""), response)
            try:
                yield result
            except OSError as exc:  # the connection broke or went silent while the caller read the answer
                raise self.failure(exc) from None

    def failure(self, exc: OSError) -> EngineError:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return EngineError(f"the SPARQL endpoint {self.endpoint} did not answer within {self.timeout:g} s", 504)
        return EngineError(f"the SPARQL endpoint {self.endpoint} could not be reached: {reason or type(exc).__name__}", 502)

    def malformed(self, exc: Exception) -> EngineError:
        return EngineError(f"the SPARQL endpoint {self.endpoint} sent a malformed answer: {exc}")

    def _refusal(self, exc: Exception) -> EngineError:
        # SPARQLWrapper names the status by exception (QueryBadFormed: 400, EndPointNotFound: 404, ...) and keeps
        # the store's words after "Response:"; any other status comes as urllib's HTTPError.
        code = getattr(exc, "code", None) or _STATUS.get(type(exc).__name__, 502)
        if isinstance(exc, urllib.error.HTTPError):
            raw: str | bytes = exc.read()
        else:  # the message ends with "Response:\n" and the repr of the body's bytes
            raw = str(exc).split("Response:\n", 1)[-1].strip()
            if raw[:2] in ("b'", 'b"'):
                raw = ast.literal_eval(raw)
        detail = " ".join((raw.decode(errors="replace") if isinstance(raw, bytes) else raw).split())[:500]
        # A 400 is the store's verdict on the query (its parser, its limits): the client's to fix. Anything else is ours.
        return EngineError(f"the SPARQL endpoint {self.endpoint} answered {code}: {detail}", 400 if code == 400 else 502)

    def _parse(self, content_type: str, reader: BinaryIO) -> Result:
        media = content_type.split(";", 1)[0].strip().lower()
        try:
            table = QueryResultsFormat.from_media_type(media) if media else None
            if table is not None and table != QueryResultsFormat.CSV:
                return parse_query_results(reader, format=table)
            graph = RdfFormat.from_media_type(media) if media else None
            if graph is not None:
                return parse(reader, format=graph)
        except (SyntaxError, ValueError, OSError) as exc:
            raise self.malformed(exc) from None
        what = media or "no Content-Type"
        raise EngineError(f"the SPARQL endpoint {self.endpoint} answered with {what}, which is neither SPARQL results nor RDF")


Engine = EmbeddedEngine | RemoteEngine


def engine_for(endpoint: str | None, home: Path | None = None, timeout: float = 60.0) -> Engine:
    if endpoint is None:
        return EmbeddedEngine.open(home)
    return RemoteEngine(endpoint, timeout)
