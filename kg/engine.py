"""One query layer, two engines: the embedded Oxigraph store or any SPARQL 1.1 endpoint.

Both return pyoxigraph result objects, so every output format is written by one serializer and the
same query gives byte-identical CSV on either engine.

A remote query is one POST of the SPARQL 1.1 Protocol. The stored queries read the default graph as the
union of the release's graphs (the embedded store runs them with `use_default_graph_as_union`); a remote
store gives them that in one of two ways (docs/remote-engines.md):
- "store" (the default): its own default graph is the union of its graphs (Virtuoso, GraphDB, Neptune do
  this by default; Oxigraph with `--union-default-graph`, Fuseki with `unionDefaultGraph`). Fastest.
- "release": each query names the release's four graphs as `default-graph-uri` and `named-graph-uri`.
  Right on any store, whatever its default graph, and the store's other graphs stay out of sight; but
  stores evaluate such a dataset more slowly (measured: Oxigraph 1.5-4x, Virtuoso up to 25x).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import httpx
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
ONTOLOGY = v.BASE + "ontology"  # the ontology's IRI, a subject in every release's ontology graph


def check_endpoint(url: str) -> str:
    """`url` if it can be a SPARQL endpoint (an absolute http(s) URL), else ValueError saying why."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL of a SPARQL endpoint (e.g. http://localhost:7878/query)")
    return url


@lru_cache(maxsize=1)
def _client() -> httpx.Client:
    # One pool of keep-alive connections per process (a query worker, or `kg query`); timeouts are per request.
    return httpx.Client(follow_redirects=True, headers={"User-Agent": "evidence-kg"})


class _Body(io.RawIOBase):
    """The response body as a file for Oxigraph's parsers, read as they need it: the row cap stops the
    download. A network failure is kept, to be reported as the endpoint's (not as malformed data)."""

    def __init__(self, chunks: Iterator[bytes], engine: RemoteEngine) -> None:
        self._chunks = chunks
        self._engine = engine
        self._rest = b""
        self.failure: EngineError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        while not self._rest:
            try:
                chunk = next(self._chunks, None)
            except httpx.HTTPError as exc:
                self.failure = self._engine.failure(exc)
                raise OSError(str(self.failure)) from None
            if chunk is None:
                return 0
            self._rest = chunk
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


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
            except (SyntaxError, ValueError, OSError) as exc:
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
        """Send the query; the answer, parsed lazily while the response is open (EngineError if there is none).

        Without `default_graphs` / `named_graphs` and unless the query names its own dataset, the release's
        graphs are named as the dataset when `self.dataset` is "release"."""
        data = {"query": text, **self._dataset(default_graphs, named_graphs, own_dataset)}
        body: _Body | None = None
        try:
            with _client().stream("POST", self.endpoint, data=data, headers={"Accept": accept}, timeout=self.timeout) as response:
                if response.status_code >= 400:
                    raise self._refusal(response)
                body = _Body(response.iter_bytes(), self)
                result = self._parse(response.headers.get("content-type", ""), body)
                try:
                    yield result
                except BaseException:
                    if body.failure is not None:  # the connection broke while the caller read: say so
                        raise body.failure from None
                    raise
        except httpx.HTTPError as exc:
            raise self.failure(exc) from None

    def failure(self, exc: httpx.HTTPError) -> EngineError:
        if isinstance(exc, httpx.TimeoutException):
            return EngineError(f"the SPARQL endpoint {self.endpoint} did not answer within {self.timeout:g} s", 504)
        return EngineError(f"the SPARQL endpoint {self.endpoint} could not be reached: {exc or type(exc).__name__}", 502)

    def malformed(self, exc: Exception) -> EngineError:
        return EngineError(f"the SPARQL endpoint {self.endpoint} sent a malformed answer: {exc}")

    def _refusal(self, response: httpx.Response) -> EngineError:
        response.read()
        detail = " ".join(response.text.split())[:500]
        # A 400 is the store's verdict on the query (its parser, its limits): the client's to fix. Anything else is ours.
        status = 400 if response.status_code == 400 else 502
        answered = f"{response.status_code} {response.reason_phrase}"
        return EngineError(f"the SPARQL endpoint {self.endpoint} answered {answered}: {detail}", status)

    def _parse(self, content_type: str, body: _Body) -> Result:
        media = content_type.split(";", 1)[0].strip().lower()
        reader = io.BufferedReader(body)
        try:
            table = QueryResultsFormat.from_media_type(media) if media else None
            if table is not None and table != QueryResultsFormat.CSV:
                return parse_query_results(reader, format=table)
            graph = RdfFormat.from_media_type(media) if media else None
            if graph is not None:
                return parse(reader, format=graph)
        except (SyntaxError, ValueError, OSError) as exc:
            raise body.failure or self.malformed(exc) from None
        what = media or "no Content-Type"
        raise EngineError(f"the SPARQL endpoint {self.endpoint} answered with {what}, which is neither SPARQL results nor RDF")


Engine = EmbeddedEngine | RemoteEngine


def engine_for(endpoint: str | None, home: Path | None = None, timeout: float = 60.0) -> Engine:
    if endpoint is None:
        return EmbeddedEngine.open(home)
    return RemoteEngine(endpoint, timeout)
